package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferScriptGivesUp: a piped /send (`printf '/send bob f\n' |
// p2pchat -name ci -send-timeout 4s`) does not wait for ever. When bob
// never answers the offer, and when bob is killed (-9) mid-transfer and
// never comes back, ci ends within the bound with one line saying it gave
// up and exit status 5; not before the bound.
func TestTransferScriptGivesUp(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	const limit = 4 * time.Second
	lab := testnet.New(t, 2)
	ha, hb := lab.Hosts[0], lab.Hosts[1]
	// 800 Mbit/s on ci's link, so that the kill lands mid-transfer.
	ha.Run(t, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "800mbit", "burst", "256kb", "latency", "50ms")
	src := filepath.Join(t.TempDir(), "build.tar.gz")
	const size = 128 << 20
	randomFile(t, src, size)
	aloneNow() // the lab and the file next to the shared tests; the timed runs alone

	runCI := func(line string) *Proc {
		ci := startTextNode(t, ha, "ci", "-send-timeout", limit.String())
		ci.Send(line)
		ci.CloseStdin()
		return ci
	}
	output := func(ci *Proc) string { return ci.Stdout().String() + ci.Stderr().String() }
	// check waits for ci's exit, which must come between least and most
	// after since, with status 5, the give-up line on stdout and the
	// summary on stderr.
	check := func(t *testing.T, ci *Proc, since time.Time, least, most time.Duration, says string) {
		t.Helper()
		code := ci.ExitCode(t, most+exitTimeout)
		took := time.Since(since)
		t.Logf("ci exited %d %v later:\n%s", code, took.Round(100*time.Millisecond), output(ci))
		if code != 5 {
			t.Errorf("ci exited %d, want 5 (a /send given up)", code)
		}
		if took < least || took > most {
			t.Errorf("ci ended %v later, want between %v and %v", took.Round(100*time.Millisecond), least, most)
		}
		lines := 0
		for _, l := range strings.Split(ci.Stdout().String(), "\n") {
			if strings.Contains(l, "given up") {
				lines++
				if !strings.Contains(l, says) {
					t.Errorf("the give-up line does not say %q: %s", says, l)
				}
			}
		}
		if lines != 1 {
			t.Errorf("%d lines on ci's stdout say it gave up, want one", lines)
		}
		if !strings.Contains(ci.Stderr().String(), "gave up on 1 of 1 transfers") {
			t.Errorf("ci's stderr does not sum it up:\n%s", ci.Stderr())
		}
	}

	t.Run("unanswered", func(t *testing.T) {
		bob := StartNode(t, hb, "bob", "-downloads", t.TempDir())
		bm := bob.Mark()
		ci := runCI("/send bob " + src)
		bob.WaitFrom(t, bm, transferTimeout, IsKind("offer"))
		// The offer went out when bob saw it (give or take the hashing).
		check(t, ci, time.Now(), limit-time.Second, limit+5*time.Second, "did not answer the offer")
		bob.Kill()
	})

	t.Run("receiver killed", func(t *testing.T) {
		bob := StartNode(t, hb, "bob", "-downloads", t.TempDir())
		bm := bob.Mark()
		ci := runCI("/send bob " + src)
		off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
		bob.Send(fmt.Sprintf("/accept %d", off.ID))
		bob.WaitFrom(t, bm, transferTimeout, isTF("progress", func(e tfEvent) bool { return e.Bytes >= size/3 }))
		bob.Kill()
		killed := time.Now()
		if _, err := bob.Await(bm, 0, isTF("transfer-done", nil)); err == nil {
			t.Fatal("the transfer was complete before the kill: the test proves nothing")
		}
		// Its last progress was a little before the kill returned: the
		// lower bound is loose (the unit test holds the exact one).
		check(t, ci, killed, limit/2, limit+5*time.Second, "no progress")
	})
}
