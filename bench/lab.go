package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The lab is internal/testnet's simulated LAN (one bridge in its own
// namespace, one namespace per host, addresses 10.77.k.i), and the
// processes in it are internal/proctest's. Both take a small T; runner is
// this program's: Cleanup functions are collected and run by cleanupAll
// (also on SIGINT), and a failed step (Fatalf, Errorf, Skipf) panics with a
// labError that runPhase recovers and reports.

// labError is what a failed lab step panics with.
type labError struct{ msg string }

func (e labError) Error() string { return e.msg }

// cleanups is the process-wide list of things to undo, run in reverse order.
var cleanups struct {
	mu   sync.Mutex
	fns  []func()
	done bool
}

// atCleanup registers f to run at the end (or on SIGINT).
func atCleanup(f func()) {
	cleanups.mu.Lock()
	defer cleanups.mu.Unlock()
	if cleanups.done {
		f()
		return
	}
	cleanups.fns = append(cleanups.fns, f)
}

// cleanupAll runs every registered cleanup once, newest first.
func cleanupAll() {
	cleanups.mu.Lock()
	fns := cleanups.fns
	cleanups.fns = nil
	cleanups.done = true
	cleanups.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		func() {
			defer func() { recover() }()
			fns[i]()
		}()
	}
}

// runner implements testnet.T and proctest.T for this program.
type runner struct{}

var tb runner

func (runner) Helper()                   {}
func (runner) Cleanup(f func())          { atCleanup(f) }
func (runner) Failed() bool              { return false } // a failure panics: nothing goes on after it
func (runner) Logf(f string, a ...any)   { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (runner) Fatalf(f string, a ...any) { panic(labError{fmt.Sprintf(f, a...)}) }
func (runner) Errorf(f string, a ...any) { panic(labError{fmt.Sprintf(f, a...)}) }
func (runner) Skipf(f string, a ...any) {
	panic(labError{"lab unavailable: " + fmt.Sprintf(f, a...)})
}

// labs serializes building and removing labs, so that an interrupt never
// exits while a lab is half built or half removed, and no lab is built
// after the interrupt.
var labs struct {
	mu       sync.Mutex
	stopping bool
}

// newLab builds a lab of n hosts; closeLab or cleanupAll removes it.
func newLab(n int) *testnet.Lab {
	labs.mu.Lock()
	defer labs.mu.Unlock()
	if labs.stopping {
		panic(labError{"stopping: no new lab"})
	}
	l := testnet.New(tb, n)
	atCleanup(func() { closeLab(l) })
	return l
}

// closeLab removes l (killing what runs in it) and returns when it is gone.
func closeLab(l *testnet.Lab) {
	labs.mu.Lock()
	defer labs.mu.Unlock()
	l.Close()
}

// stopped reports whether the run is being interrupted.
func stopped() bool {
	labs.mu.Lock()
	defer labs.mu.Unlock()
	return labs.stopping
}

// stopLabs forbids new labs and waits for one being built or removed.
func stopLabs() {
	labs.mu.Lock()
	labs.stopping = true
	labs.mu.Unlock()
}

// requireLab checks what the lab needs and explains what is missing.
func requireLab() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root: the benchmarks run p2pchat on a simulated LAN of network namespaces " +
			"(ip netns), which only root can create; run it as root, e.g. `sudo go run ./bench`")
	}
	for _, tool := range []string{"ip", "nft", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("needs the %q command (install iproute2, nftables, util-linux): %v", tool, err)
		}
	}
	return nil
}

var baseTemp struct {
	once sync.Once
	dir  string
	err  error
	mu   sync.Mutex
	n    int
}

// tempDir makes a fresh directory under the run's temporary directory,
// which cleanupAll removes.
func tempDir(what string) string {
	baseTemp.once.Do(func() {
		baseTemp.dir, baseTemp.err = os.MkdirTemp("", "p2pchat-bench-")
		if baseTemp.err == nil {
			d := baseTemp.dir
			atCleanup(func() { os.RemoveAll(d) })
		}
	})
	if baseTemp.err != nil {
		panic(labError{baseTemp.err.Error()})
	}
	baseTemp.mu.Lock()
	baseTemp.n++
	n := baseTemp.n
	baseTemp.mu.Unlock()
	d := fmt.Sprintf("%s/%s-%d", baseTemp.dir, what, n)
	if err := os.MkdirAll(d, 0o700); err != nil {
		panic(labError{err.Error()})
	}
	return d
}

// nftTable is the table this program adds inside host namespaces (testnet
// uses its own, "p2ptest", for packet drops).
const nftTable = "p2pbench"

// countMDNS installs counters of mDNS (UDP port 5353) and chat (UDP port
// chatPort) packets on h's eth0, both directions.
func countMDNS(h *testnet.Host, chatPort int) {
	script := fmt.Sprintf(`table inet %[1]s
delete table inet %[1]s
table inet %[1]s {
 counter mdns_in {}
 counter mdns_out {}
 counter chat_out {}
 chain in {
  type filter hook input priority -5; policy accept;
  iifname "eth0" udp dport 5353 counter name "mdns_in"
  iifname "eth0" udp sport 5353 udp dport != 5353 counter name "mdns_in"
 }
 chain out {
  type filter hook output priority -5; policy accept;
  oifname "eth0" udp dport 5353 counter name "mdns_out"
  oifname "eth0" udp sport 5353 udp dport != 5353 counter name "mdns_out"
  oifname "eth0" udp dport %[2]d counter name "chat_out"
 }
}
`, nftTable, chatPort)
	h.NFT(tb, script)
}

var packetsRE = regexp.MustCompile(`packets (\d+) bytes (\d+)`)

// readCounter returns the packets counted by a named counter on h.
func readCounter(h *testnet.Host, name string) int64 {
	out := h.Run(tb, "nft", "list", "counter", "inet", nftTable, name)
	m := packetsRE.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("nft counter %s on %s: no packets in %q", name, h.Name, out)
	}
	v, _ := strconv.ParseInt(m[1], 10, 64)
	return v
}
