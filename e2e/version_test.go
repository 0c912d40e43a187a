package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// buildV1 builds p2pchat as it was before wire version 2: the parent of
// the commit that made internal/wire's Version 2, exported with git
// archive into a temporary directory (the repository is not touched). It
// skips the test when the git history is not there. The two tests that
// need it share one build (the first to ask makes it); TestMain removes it.
func buildV1(t *testing.T) string {
	t.Helper()
	v1Build.once.Do(func() { v1Build.bin, v1Build.skip, v1Build.err = makeV1() })
	if v1Build.skip != "" {
		t.Skip(v1Build.skip)
	}
	if v1Build.err != nil {
		t.Fatal(v1Build.err)
	}
	t.Log(v1Build.desc)
	return v1Build.bin
}

var v1Build struct {
	once sync.Once
	bin  string // the binary
	skip string // why there is none, when that skips the test
	desc string // where it comes from
	err  error  // why there is none, when that fails it
}

// makeV1 does buildV1's work, in a directory that removeAtExit holds.
func makeV1() (bin, skip string, err error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", "", err
	}
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return "", &gitError{args, err, errOut.String()}
		}
		return strings.TrimSpace(out.String()), nil
	}
	log, err := git("log", "--reverse", "--format=%H", "-G", "Version +byte = 2", "--", "internal/wire/wire.go")
	v2, _, _ := strings.Cut(log, "\n") // the first commit with it
	if err != nil || v2 == "" {
		return "", fmt.Sprintf("no git history to build the version-1 p2pchat from (%v)", err), nil
	}
	v1, err := git("rev-parse", v2+"^")
	if err != nil {
		return "", fmt.Sprintf("no parent of %s in the git history: %v", v2, err), nil
	}
	dir, err := os.MkdirTemp("", "p2pchat-v1-")
	if err != nil {
		return "", "", err
	}
	removeAtExit(dir)
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		return "", "", err
	}
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, v1, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("git archive of %s: %v\n%s", v1, err, out), nil
	}
	bin, err = proctest.Build(src, dir)
	if err != nil {
		return "", "", fmt.Errorf("build of version 1 (%s): %w", v1, err)
	}
	v1Build.desc = fmt.Sprintf("version-1 p2pchat built from %s (parent of %s)", v1[:12], v2[:12])
	return bin, "", nil
}

type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	return "git " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + strings.TrimSpace(e.stderr)
}

// TestOldVersionPeerTold: a version-1 p2pchat (built from the commit
// before version 2) and a version-2 one on one LAN find each other by
// mDNS; within 10 s each tells its user about the other (the version-2
// one in its own words: "runs an older p2pchat (protocol 1): update it to
// talk"), once, and both keep running: nothing crashes or loops.
func TestOldVersionPeerTold(t *testing.T) {
	alone(t)
	needBinary(t)
	v1bin := buildV1(t)
	lab := testnet.New(t, 2)
	old := proctest.P2PChat{Bin: v1bin, Name: "alice", Home: t.TempDir(), Verbose: true}.Start(t, lab.Hosts[0])
	old.WaitReady(t, readyTimeout)
	cur := startTextNode(t, lab.Hosts[1], "bob")
	start := time.Now()
	const said = "runs an older p2pchat (protocol 1): update it to talk"
	cur.WaitOutput(t, 0, 10*time.Second, said)
	old.Wait(t, 10*time.Second, func(e Event) bool {
		return e.Event == "warning" && strings.Contains(e.Text, "protocol 2")
	})
	t.Logf("both told within %v", time.Since(start).Round(time.Millisecond))
	// Some seconds on: still running, told once each (mDNS goes on
	// announcing, packets go on arriving).
	time.Sleep(5 * time.Second)
	if old.Exited() || cur.Exited() {
		t.Fatalf("a node exited: version 1 %v, version 2 %v", old.ExitErr(), cur.ExitErr())
	}
	if n := strings.Count(cur.Stdout().String(), said); n != 1 {
		t.Errorf("the version-2 node said it %d times, want once:\n%s", n, cur.Stdout().String())
	}
	warnings := 0
	for _, e := range old.Events() {
		if e.Event == "warning" && strings.Contains(e.Text, "protocol 2") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("the version-1 node warned %d times, want once", warnings)
	}
	t.Logf("version 2 printed: %q", lastLine(cur.Stdout().String(), said))
}

func lastLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestOutboxSurvivesUpgrade: alice and bob run version 1; bob quits, and
// alice queues two messages for him and quits (they wait in her outbox on
// disk). Both come back as version 2 on the same homes: bob gets both
// messages, once each, in order: what a version-1 run queued is sent by
// the version-2 run.
func TestOutboxSurvivesUpgrade(t *testing.T) {
	sharedFirst(t)
	needBinary(t)
	v1bin := buildV1(t)
	lab := testnet.New(t, 2)
	aliceHome, bobHome := t.TempDir(), t.TempDir()
	start := func(bin, name, home string, h *testnet.Host) *Proc {
		p := proctest.P2PChat{Bin: bin, Name: name, Home: home, Verbose: true}.Start(t, h)
		p.WaitReady(t, readyTimeout)
		return p
	}
	alice := start(v1bin, "alice", aliceHome, lab.Hosts[0])
	bob := start(v1bin, "bob", bobHome, lab.Hosts[1])
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	sendAndConfirm(t, alice, "bob", "hello from version 1", bob)
	bob.Term()
	alice.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "left" && e.Name == "bob" })
	texts := []string{"queued by version 1, first", "queued by version 1, second"}
	for _, s := range texts {
		m := alice.Mark()
		alice.Send("/to bob " + s)
		alice.WaitFrom(t, m, msgTimeout, IsKind("sent"))
	}
	alice.Term()

	alice2 := start(binPath, "alice", aliceHome, lab.Hosts[0])
	bob2 := start(binPath, "bob", bobHome, lab.Hosts[1])
	last := bob2.Wait(t, joinTimeout, IsMessage("alice", "bob", texts[1]))
	var got []string
	for _, e := range bob2.Events()[:last.Seq+1] {
		if e.Event == "message" && e.From == "alice" {
			got = append(got, e.Text)
		}
	}
	if strings.Join(got, "|") != strings.Join(texts, "|") {
		t.Fatalf("version-2 bob was shown %q, want %q once each, in order", got, texts)
	}
	alice2.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "delivered" })
	t.Logf("the version-2 alice sent the %d messages her version-1 run queued", len(texts))
}
