package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/tmuxtest"
)

// Tests in the caller's own network namespace. Allowed only because every
// node is bound to loopback with discovery off (StartNode enforces it).

func TestLoopbackNoDiscovery(t *testing.T) {
	shared(t)
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

// newTmux starts a tmux pane of 100x30 running /bin/sh with the prompt
// "$ "; captures include 200 lines of scroll-back, wrapped lines joined.
func newTmux(t *testing.T) *tmuxtest.Pane {
	t.Helper()
	return tmuxtest.Start(t, tmuxtest.Config{Command: "env PS1='$ ' /bin/sh", Width: 100, Height: 30, History: 200})
}

// onLines adapts a check of the pane's lines (trailing blank lines
// dropped) to tmuxtest.Pane.WaitScreen.
func onLines(ok func(lines []string) bool) func(tmuxtest.Screen) bool {
	return func(s tmuxtest.Screen) bool { return ok(s.Lines) }
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
	shared(t)
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
	tm.WaitScreen(10*time.Second, "shell prompt", onLines(func(ls []string) bool { return len(ls) > 0 && strings.HasPrefix(ls[len(ls)-1], "$") }))
	cmdLine := "sh " + runSh
	tm.Type(cmdLine)
	tm.Keys("Enter")

	// Started: jay hears from tux, and tux has drawn something (its prompt)
	// below the command line.
	jay.WaitJoined(t, "tux")
	tm.WaitScreen(readyTimeout, "p2pchat output after the command line", onLines(func(ls []string) bool {
		i := lastIndexContaining(ls, cmdLine)
		return i >= 0 && i < len(ls)-1
	}))

	// Half a line typed...
	const half = "/all hello wor"
	tm.Type(half)
	tm.WaitScreen(10*time.Second, "the half-typed line", onLines(func(ls []string) bool {
		return len(ls) > 0 && strings.HasSuffix(ls[len(ls)-1], half)
	}))
	// ...when a message comes in: it must show above the prompt line, which
	// still holds what was typed.
	incoming := "ping-" + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	ids := jay.SendTo(t, "tux", incoming)
	tm.WaitScreen(msgTimeout, "incoming message above the prompt with the typed text intact", onLines(func(ls []string) bool {
		mi := lastIndexContaining(ls, incoming)
		return mi >= 0 && mi < len(ls)-1 && strings.HasSuffix(ls[len(ls)-1], half) &&
			!strings.Contains(ls[len(ls)-1], incoming)
	}))
	jay.Wait(t, msgTimeout, IsDelivered("tux", ids[0]))

	// Finish the line.
	m := jay.Mark()
	tm.Type("ld")
	tm.Keys("Enter")
	got := jay.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "tux" })
	if got.Text != "hello world" || got.To != "all" {
		t.Fatalf("jay got text %q to %q from the tmux user, want exactly \"hello world\" to all", got.Text, got.To)
	}

	// /quit: the process exits 0 and the terminal is back to normal.
	tm.Type("/quit")
	tm.Keys("Enter")
	tm.WaitScreen(exitTimeout, "p2pchat exit", onLines(func(ls []string) bool {
		return slices.ContainsFunc(ls, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "EXIT=") })
	}))
	ls := tm.Capture().Lines
	if indexTrimmed(ls, "EXIT=0") < 0 {
		t.Errorf("p2pchat did not exit 0 after /quit; pane:\n%s", strings.Join(ls, "\n"))
	}
	jay.Wait(t, msgTimeout, IsLeft("tux", "quit"))
	if n := countEvents(jay, func(e Event) bool { return e.Event == "message" && e.From == "tux" }); n != 1 {
		t.Errorf("jay got %d messages from tux, want 1", n)
	}

	tm.Type("stty -a; echo STTY-DONE")
	tm.Keys("Enter")
	ls = tm.WaitScreen(10*time.Second, "stty output (terminal left in raw mode?)", onLines(func(ls []string) bool {
		return indexTrimmed(ls, "STTY-DONE") >= 0
	})).Lines
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
