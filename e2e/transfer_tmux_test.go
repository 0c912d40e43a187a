package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// progressRE is the progress line's text (shell.progressText): "45% 1.0 MB
// of 2.3 MB, ...".
var progressRE = regexp.MustCompile(`(\d+)% [0-9.]+ [kMG]?B of [0-9.]+ [kMG]?B`)

// TestTransferProgressInTmux: tux, in a real terminal (tmux), has typed
// half a line when jay's file starts coming in (auto-accepted, 40 MiB at
// 80 Mbit/s: about 4 s). The progress line shows above the prompt and
// updates in place (one line, a growing percentage) while the half line
// stays on the prompt line as typed; finishing the line sends it whole.
func TestTransferProgressInTmux(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	hj, ht := lab.Hosts[0], lab.Hosts[1]
	hj.Run(t, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "80mbit", "burst", "64kb", "latency", "50ms")
	jay := StartNode(t, hj, "jay")

	// tux runs in its laptop's namespace, from the pane's shell.
	needBinary(t)
	tm := newTmux(t)
	dl := t.TempDir()
	script := "#!/bin/sh\nexec ip netns exec " + shellQuote(ht.Name) + " " + shellQuote(binPath)
	for _, a := range []string{"-name", "tux", "-home", t.TempDir(), "-downloads", dl, "-accept-from", "jay"} {
		script += " " + shellQuote(a)
	}
	stderrFile := filepath.Join(t.TempDir(), "stderr")
	script += " 2>" + shellQuote(stderrFile) + "\n"
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(stderrFile)
			t.Logf("stderr of the tmux node tux:\n%s", b)
		}
	})
	runSh := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(runSh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tm.WaitScreen(10*time.Second, "shell prompt", onLines(func(ls []string) bool { return len(ls) > 0 && strings.HasPrefix(ls[len(ls)-1], "$") }))
	tm.Type("sh " + runSh)
	tm.Keys("Enter")
	jay.WaitJoined(t, "tux")
	tm.WaitScreen(joinTimeout, "tux sees jay", onLines(func(ls []string) bool { return lastIndexContaining(ls, "jay joined") >= 0 }))

	const half = "/all hello wor"
	tm.Type(half)
	tm.WaitScreen(10*time.Second, "the half-typed line", onLines(func(ls []string) bool {
		return len(ls) > 0 && strings.HasSuffix(ls[len(ls)-1], half)
	}))

	src := filepath.Join(t.TempDir(), "movie.mkv")
	const size = 40 << 20
	sum := randomFile(t, src, size)
	jm := jay.Mark()
	exchangeMessage(t, jay, "tux")
	jay.Send("/send tux " + src)

	// progressAt is the percentage of the progress line just above the
	// prompt, which still holds exactly the half line; -1 if the screen is
	// not like that, or shows more than one progress line.
	progressAt := func(ls []string) int {
		if len(ls) < 2 || !strings.HasSuffix(ls[len(ls)-1], half) || strings.Contains(ls[len(ls)-1], "%") {
			return -1
		}
		n := 0
		for _, l := range ls {
			if progressRE.MatchString(l) {
				n++
			}
		}
		m := progressRE.FindStringSubmatch(ls[len(ls)-2])
		if n != 1 || m == nil {
			return -1
		}
		pct, _ := strconv.Atoi(m[1])
		return pct
	}
	first := -1
	tm.WaitScreen(30*time.Second, "a progress line above the prompt, the half line intact", onLines(func(ls []string) bool {
		first = progressAt(ls)
		return first >= 0 && first < 90
	}))
	second := -1
	s := tm.WaitScreen(30*time.Second, "the progress line updated in place, the half line intact", onLines(func(ls []string) bool {
		second = progressAt(ls)
		return second > first
	}))
	t.Logf("progress line went from %d%% to %d%% in place, half line intact:\n%s", first, second, strings.Join(s.Lines[max(0, len(s.Lines)-3):], "\n"))
	if _, err := jay.Await(jm, 0, isTF("transfer-done", nil)); err == nil {
		t.Error("the transfer ended before the progress line was seen updating: the test is too fast to show anything")
	}

	// Finish the line: it goes out whole, during or after the transfer.
	m := jay.Mark()
	tm.Type("ld")
	tm.Keys("Enter")
	got := jay.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "tux" })
	if got.Text != "hello world" || got.To != "all" {
		t.Fatalf("jay got %q to %q from the tmux user, want exactly \"hello world\" to all", got.Text, got.To)
	}
	jay.WaitFrom(t, jm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
	tm.WaitScreen(transferTimeout, "tux says the file arrived", onLines(func(ls []string) bool { return lastIndexContaining(ls, "SHA-256 verified") >= 0 }))
	if got := fileSHA(t, filepath.Join(dl, "movie.mkv")); got != sum {
		t.Fatalf("tux's copy has SHA-256 %s, want %s", got, sum)
	}
	tm.Type("/quit")
	tm.Keys("Enter")
	jay.Wait(t, msgTimeout, IsLeft("tux", "quit"))
}
