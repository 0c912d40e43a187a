package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
)

// TestDurableOneShot: `printf '/to bob queued hi\n' | p2pchat -home A`
// while bob is away exits 4 saying on stderr that the message is queued;
// once bob is back, the next one-shot run of alice (same home) delivers
// it, then its own message, and exits 0. Bob shows both once, in order.
func TestDurableOneShot(t *testing.T) {
	shared(t)
	d := newDurableLab(t)
	alice, bob := d.startAlice(), d.startBob()
	d.exchange(alice, bob)
	quit(t, alice)
	quit(t, bob)

	// oneShot runs alice as a script would, her input the lines then EOF.
	oneShot := func(lines ...string) (*Proc, int, time.Duration) {
		t.Helper()
		needBinary(t)
		p := proctest.P2PChat{Bin: binPath, Name: "alice", Home: d.aliceHome, Text: true, Args: d.aliceArgs()}.Start(t, d.aliceHost())
		for _, l := range lines {
			p.Send(l)
		}
		p.CloseStdin()
		code := p.ExitCode(t, exitTimeout)
		return p, code, time.Since(p.Started)
	}

	p, code, took := oneShot("/to bob queued hi")
	stderr := p.Stderr().String()
	t.Logf("one-shot while bob is away: exit %d after %v; stdout %q; stderr %q", code, took.Round(time.Millisecond), p.Stdout().String(), stderr)
	if code != exitQueued {
		t.Errorf("`printf '/to bob queued hi\\n' | p2pchat` while bob is away exited %d, want %d (messages queued)", code, exitQueued)
	}
	if !strings.Contains(stderr, "queued") || !strings.Contains(stderr, d.aliceHome) {
		t.Errorf("one-shot while bob is away: stderr %q does not say the message is queued (and kept in %s)", stderr, d.aliceHome)
	}

	bob2 := d.startBob()
	p, code, took = oneShot("/to bob second one-shot")
	t.Logf("one-shot with bob back: exit %d after %v; stdout %q; stderr %q", code, took.Round(time.Millisecond), p.Stdout().String(), p.Stderr().String())
	if code != 0 {
		t.Errorf("the next one-shot run of alice, bob back, exited %d, want 0 (both messages delivered)\n%s", code, p.Report())
	}
	end := bob2.Wait(t, msgTimeout, IsMessage("alice", "bob", "second one-shot"))
	want := []string{"queued hi", "second one-shot"}
	if got := relMessages(bob2.Events()[:end.Seq+1], "alice", "bob"); !slices.Equal(got, want) {
		t.Errorf("bob, back, was shown: %s", seqDiff(got, want))
	}
}
