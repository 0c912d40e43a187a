package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Capturing the LAN: tcpdump on the lab's bridge, inside the lab's switch
// namespace, so it sees every frame between the simulated laptops and
// nothing else.

// labBridge is the bridge testnet.New creates in Lab.Switch.
const labBridge = "br0"

// capture is a running tcpdump writing the LAN's frames to file.
type capture struct {
	file string
	*Proc
}

// startCapture runs tcpdump on the lab's bridge, whole frames, written to a
// file packet by packet; filter is an optional tcpdump filter expression.
// It returns once tcpdump listens.
func startCapture(t *testing.T, lab *testnet.Lab, filter ...string) *capture {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed (apt-get install tcpdump)")
	}
	c := &capture{file: filepath.Join(t.TempDir(), "lan.pcap")}
	// -Z root: do not drop privileges, so the file can go in our temp dir.
	// --immediate-mode: hand each packet over at once; otherwise what sits
	// in the kernel ring (up to a second of traffic) is lost at SIGINT.
	args := append([]string{"netns", "exec", lab.Switch, "tcpdump", "-i", labBridge, "-n", "-U", "--immediate-mode", "-s", "0", "-Z", "root", "-w", c.file}, filter...)
	c.Proc = proctest.Start(t, proctest.Spec{Label: "tcpdump on " + lab.Switch, Path: "ip", Args: args, Text: true})
	if !c.Stderr().WaitFor(0, readyTimeout, c.Done(), func(b []byte) bool { return bytes.Contains(b, []byte("listening on")) }) {
		t.Fatalf("tcpdump did not start listening (ip %s): exit %v\n%s", strings.Join(args, " "), c.ExitErr(), c.Stderr())
	}
	return c
}

// stop ends the capture (SIGINT, as Ctrl-C) and returns the pcap file.
func (c *capture) stop(t *testing.T) []byte {
	t.Helper()
	c.Signal(syscall.SIGINT)
	select {
	case <-c.Done():
	case <-time.After(exitTimeout):
		t.Fatalf("tcpdump did not exit within %v of SIGINT\n%s", exitTimeout, c.Stderr())
	}
	b, err := os.ReadFile(c.file)
	if err != nil {
		t.Fatalf("reading the capture: %v (tcpdump: %v)\n%s", err, c.ExitErr(), c.Stderr())
	}
	t.Logf("tcpdump: %s", strings.Join(strings.Fields(c.Stderr().String()), " "))
	return b
}
