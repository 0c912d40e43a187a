package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/tmuxtest"
)

// TestTalkInTmux: a person at a terminal (tux, in tmux) and a -json peer
// (jay), two p2pchat processes on loopback with discovery off. A 5-line
// block pasted after half a typed line (bracketed paste) reaches jay as
// one message with its 5 lines; /me reaches jay as an action; jay's direct
// message and a mention of tux run tux's -notify program with the right
// title and body, jay's plain message does not. tux ignores jay and
// restarts: jay's next message is acknowledged but not shown (tux is told
// one was hidden), and /search finds jay's words from before the restart.
// After p2pchat exits, bracketed paste is off again: a paste into the
// shell runs as typed.
func TestTalkInTmux(t *testing.T) {
	shared(t)
	needBinary(t)
	tm := newTmux(t)
	pj, pt := freePort(t), freePort(t)
	for pt == pj {
		pt = freePort(t)
	}
	jay := StartNode(t, nil, "jay", loopbackArgs(pj)...)

	dir := t.TempDir()
	record := filepath.Join(dir, "notified")
	notify := filepath.Join(dir, "notify")
	if err := os.WriteFile(notify, []byte("#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >> "+shellQuote(record)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-name", "tux", "-home", filepath.Join(dir, "home"), "-notify", notify}, loopbackArgs(pt, pj)...)
	proctest.CheckLoopbackOnly(t, args)
	script := "#!/bin/sh\n" + shellQuote(binPath)
	for _, a := range args {
		script += " " + shellQuote(a)
	}
	script += " 2>" + shellQuote(filepath.Join(dir, "stderr")) + "\necho \"EXIT=$?\"\n"
	runSh := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(runSh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tm.WaitScreen(10*time.Second, "shell prompt", onLines(func(ls []string) bool { return len(ls) > 0 && strings.HasPrefix(ls[len(ls)-1], "$") }))
	tm.Type("sh " + runSh)
	tm.Keys("Enter")
	jay.WaitJoined(t, "tux")
	tm.WaitScreen(readyTimeout, "tux's prompt", onLines(func(ls []string) bool {
		return len(ls) > 0 && ls[len(ls)-1] == "[all]>"
	}))

	// Half a line, a paste, Enter: one message with the 5 lines.
	m := jay.Mark()
	tm.Type("look: ")
	tm.Paste("one\ntwo\nthree\nfour\nfive\n")
	tm.WaitScreen(10*time.Second, "the paste in the line", onLines(func(ls []string) bool {
		return len(ls) > 0 && ls[len(ls)-1] == "[all]> look: one␤two␤three␤four␤five"
	}))
	tm.Keys("Enter")
	got := jay.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "tux" })
	if want := "look: one\ntwo\nthree\nfour\nfive"; got.Text != want || got.To != "all" {
		t.Errorf("jay got %q to %q, want %q to all", got.Text, got.To, want)
	}

	// /me: an action.
	m = jay.Mark()
	tm.Type("/me waves")
	tm.Keys("Enter")
	got = jay.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "tux" })
	var action struct {
		Action bool `json:"action"`
	}
	if err := got.Decode(&action); err != nil || got.Text != "waves" || !action.Action {
		t.Errorf("jay got %s, want the action \"waves\"", got.Raw)
	}
	if n := countEvents(jay, func(e Event) bool { return e.Event == "message" && e.From == "tux" }); n != 2 {
		t.Errorf("jay got %d messages from tux, want 2 (the paste, the action)", n)
	}

	// jay talks: a plain message, a direct one, a mention.
	jay.Send("/all nothing for anyone in particular, mr tuxedo")
	jay.Send("/to tux psst")
	jay.Send("/all TUX: the build is red")
	tm.WaitScreen(msgTimeout, "jay's three messages", onLines(func(ls []string) bool {
		return lastIndexContaining(ls, "jay: TUX: the build is red") >= 0
	}))
	// The two notifiers run at once (up to 4 may): their records come in
	// either order.
	want := []string{"p2pchat: jay (to you)|psst", "p2pchat: jay mentioned you|TUX: the build is red"}
	tm.WaitScreen(10*time.Second, "the notifier's records", func(tmuxtest.Screen) bool {
		return slices.Equal(notifierRecords(record), want)
	})

	// /ignore jay, then a restart.
	tm.Type("/ignore jay")
	tm.Keys("Enter")
	tm.WaitScreen(10*time.Second, "the /ignore answer", onLines(func(ls []string) bool {
		return lastIndexContaining(ls, "* ignoring jay (key ") >= 0
	}))
	tm.Type("/quit")
	tm.Keys("Enter")
	tm.WaitScreen(exitTimeout, "p2pchat exit", onLines(func(ls []string) bool { return indexTrimmed(ls, "EXIT=0") >= 0 }))
	tm.Type("clear; sh " + runSh)
	tm.Keys("Enter")
	tm.WaitScreen(readyTimeout, "tux's prompt after the restart", onLines(func(ls []string) bool {
		return len(ls) > 0 && ls[len(ls)-1] == "[all]>" && indexTrimmed(ls, "EXIT=0") < 0
	}))
	ids := jay.SendTo(t, "tux", "tux, are you ignoring me?")
	jay.Wait(t, msgTimeout, IsDelivered("tux", ids[0]))
	tm.WaitScreen(10*time.Second, "the count of hidden messages", onLines(func(ls []string) bool {
		return lastIndexContaining(ls, "* 1 message or file offer from ignored peers hidden") >= 0
	}))
	tm.Type("/search BUILD")
	tm.Keys("Enter")
	s := tm.WaitScreen(10*time.Second, "the search result", onLines(func(ls []string) bool {
		return lastIndexContaining(ls, " jay → all: TUX: the build is red") >= 0
	}))
	if lastIndexContaining(s.Lines, "are you ignoring me") >= 0 {
		t.Errorf("an ignored peer's message was shown:\n%s", strings.Join(s.Lines, "\n"))
	}
	tm.Type("/quit")
	tm.Keys("Enter")
	tm.WaitScreen(exitTimeout, "p2pchat exit", onLines(func(ls []string) bool { return indexTrimmed(ls, "EXIT=0") >= 0 }))
	if got := notifierRecords(record); !slices.Equal(got, want) {
		t.Errorf("notifier records:\n%q\nwant\n%q", got, want)
	}

	// Bracketed paste is off again: the shell gets the pasted command bare.
	tm.Paste("echo PASTE-\"OK\"\n")
	tm.WaitScreen(10*time.Second, "the pasted command's output", onLines(func(ls []string) bool {
		return indexTrimmed(ls, "PASTE-OK") >= 0
	}))
}

// notifierRecords are the lines the recording notifier wrote, sorted.
func notifierRecords(path string) []string {
	b, _ := os.ReadFile(path)
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(got)
	return got
}
