package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
)

// Tests in the caller's own network namespace. Allowed only because every
// node is bound to loopback with discovery off (StartNode enforces it).

func TestLoopbackNoDiscovery(t *testing.T) {
	needBinary(t)
	pa, pb := freePort(t), freePort(t)
	for pb == pa {
		pb = freePort(t)
	}
	alice := StartNode(t, nil, "alice", loopbackArgs(pa, pb)...)
	bob := StartNode(t, nil, "bob", loopbackArgs(pb, pa)...)
	if alice.Ready().Port != pa || bob.Ready().Port != pb {
		t.Errorf("ready ports %d, %d; want %d, %d", alice.Ready().Port, bob.Ready().Port, pa, pb)
	}
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	ids := alice.SendTo(t, "bob", "over loopback")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "over loopback"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	ids = bob.SendTo(t, "alice", "and back, 你好")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "and back, 你好"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))

	// End of stdin: goodbye and exit 0.
	alice.CloseStdin()
	if code := alice.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("alice exited with %d at end of stdin", code)
	}
	bob.Wait(t, msgTimeout, IsLeft("alice", "quit"))
}

var tmuxCounter atomic.Int64

// tmuxServer is a private tmux server (its own socket) with one session,
// "main", of 100x30 running /bin/sh.
type tmuxServer struct {
	t        *testing.T
	sock     string
	sockPath string
}

func newTmux(t *testing.T) *tmuxServer {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	s := &tmuxServer{t: t, sock: fmt.Sprintf("p2pchat-e2e-%d-%d", os.Getpid(), tmuxCounter.Add(1))}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tmux pane at the end:\n%s", s.capture())
		}
		exec.Command("tmux", "-L", s.sock, "kill-server").Run()
		if s.sockPath != "" {
			os.Remove(s.sockPath) // tmux leaves the socket file behind
		}
	})
	s.run("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "-s", "main", "env PS1='$ ' /bin/sh")
	s.sockPath = strings.TrimSpace(s.run("display-message", "-p", "-t", "main", "#{socket_path}"))
	return s
}

func (s *tmuxServer) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// typeText types text literally; enter adds the Enter key.
func (s *tmuxServer) typeText(text string, enter bool) {
	s.t.Helper()
	if text != "" {
		s.run("send-keys", "-t", "main", "-l", text)
	}
	if enter {
		s.run("send-keys", "-t", "main", "Enter")
	}
}

// capture returns the pane's visible lines plus some history, wrapped lines
// joined.
func (s *tmuxServer) capture() string {
	out, err := exec.Command("tmux", "-L", s.sock, "capture-pane", "-p", "-J", "-S", "-200", "-t", "main").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(capture-pane: %v: %s)", err, out)
	}
	return string(out)
}

// lines returns the pane's lines with trailing blank lines dropped.
func (s *tmuxServer) lines() []string {
	ls := strings.Split(s.capture(), "\n")
	for i := range ls {
		ls[i] = strings.TrimRight(ls[i], " ")
	}
	for len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// waitFor polls the pane until ok holds, failing with the pane shown.
func (s *tmuxServer) waitFor(timeout time.Duration, what string, ok func(lines []string) bool) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ls := s.lines()
		if ok(ls) {
			return ls
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("tmux: %s: not seen within %v; pane:\n%s", what, timeout, strings.Join(ls, "\n"))
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// indexTrimmed is the index of the first line that is want once leading
// and trailing blanks are removed (a terminal left in raw mode staircases
// its output), or -1.
func indexTrimmed(ls []string, want string) int {
	return slices.IndexFunc(ls, func(l string) bool { return strings.TrimSpace(l) == want })
}

func lastIndexContaining(ls []string, sub string) int {
	for i := len(ls) - 1; i >= 0; i-- {
		if strings.Contains(ls[i], sub) {
			return i
		}
	}
	return -1
}

func TestShellInTmux(t *testing.T) {
	needBinary(t)
	tm := newTmux(t)
	pj, pt := freePort(t), freePort(t)
	for pt == pj {
		pt = freePort(t)
	}
	jay := StartNode(t, nil, "jay", loopbackArgs(pj)...)

	// The interactive node, run from the pane's shell by a script that
	// reports its exit status.
	args := append([]string{"-name", "tux", "-home", t.TempDir()}, loopbackArgs(pt, pj)...)
	proctest.CheckLoopbackOnly(t, args)
	script := "#!/bin/sh\n" + shellQuote(binPath)
	for _, a := range args {
		script += " " + shellQuote(a)
	}
	stderrFile := filepath.Join(t.TempDir(), "stderr")
	script += " 2>" + shellQuote(stderrFile) + "\necho \"EXIT=$?\"\n"
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(stderrFile)
			t.Logf("stderr of the tmux node tux:\n%s", b)
		}
	})
	dir := t.TempDir()
	runSh := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(runSh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(10*time.Second, "shell prompt", func(ls []string) bool { return len(ls) > 0 && strings.HasPrefix(ls[len(ls)-1], "$") })
	cmdLine := "sh " + runSh
	tm.typeText(cmdLine, true)

	// Started: jay hears from tux, and tux has drawn something (its prompt)
	// below the command line.
	jay.WaitJoined(t, "tux")
	tm.waitFor(readyTimeout, "p2pchat output after the command line", func(ls []string) bool {
		i := lastIndexContaining(ls, cmdLine)
		return i >= 0 && i < len(ls)-1
	})

	// Half a line typed...
	const half = "/all hello wor"
	tm.typeText(half, false)
	tm.waitFor(10*time.Second, "the half-typed line", func(ls []string) bool {
		return len(ls) > 0 && strings.HasSuffix(ls[len(ls)-1], half)
	})
	// ...when a message comes in: it must show above the prompt line, which
	// still holds what was typed.
	incoming := "ping-" + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	ids := jay.SendTo(t, "tux", incoming)
	tm.waitFor(msgTimeout, "incoming message above the prompt with the typed text intact", func(ls []string) bool {
		mi := lastIndexContaining(ls, incoming)
		return mi >= 0 && mi < len(ls)-1 && strings.HasSuffix(ls[len(ls)-1], half) &&
			!strings.Contains(ls[len(ls)-1], incoming)
	})
	jay.Wait(t, msgTimeout, IsDelivered("tux", ids[0]))

	// Finish the line.
	m := jay.Mark()
	tm.typeText("ld", true)
	got := jay.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "tux" })
	if got.Text != "hello world" || got.To != "all" {
		t.Fatalf("jay got text %q to %q from the tmux user, want exactly \"hello world\" to all", got.Text, got.To)
	}

	// /quit: the process exits 0 and the terminal is back to normal.
	tm.typeText("/quit", true)
	tm.waitFor(exitTimeout, "p2pchat exit", func(ls []string) bool {
		return slices.ContainsFunc(ls, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "EXIT=") })
	})
	ls := tm.lines()
	if indexTrimmed(ls, "EXIT=0") < 0 {
		t.Errorf("p2pchat did not exit 0 after /quit; pane:\n%s", strings.Join(ls, "\n"))
	}
	jay.Wait(t, msgTimeout, IsLeft("tux", "quit"))
	if n := countEvents(jay, func(e Event) bool { return e.Event == "message" && e.From == "tux" }); n != 1 {
		t.Errorf("jay got %d messages from tux, want 1", n)
	}

	tm.typeText("stty -a; echo STTY-DONE", true)
	ls = tm.waitFor(10*time.Second, "stty output (terminal left in raw mode?)", func(ls []string) bool {
		return indexTrimmed(ls, "STTY-DONE") >= 0
	})
	start := lastIndexContaining(ls, "stty -a; echo STTY-DONE")
	end := indexTrimmed(ls, "STTY-DONE")
	if start < 0 || end < start {
		t.Fatalf("cannot find stty output in the pane:\n%s", strings.Join(ls, "\n"))
	}
	flags := map[string]bool{}
	for _, l := range ls[start+1 : end] {
		for _, f := range strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == ';' }) {
			flags[f] = true
		}
	}
	for _, f := range []string{"icanon", "echo", "isig", "icrnl", "opost"} {
		if !flags[f] || flags["-"+f] {
			t.Errorf("terminal not restored after p2pchat exited: %q not set; stty -a:\n%s", f, strings.Join(ls[start+1:end], "\n"))
		}
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
