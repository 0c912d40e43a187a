package e2e

import (
	"slices"
	"testing"
	"time"
)

// TestDurableSenderKilled: bob has quit; alice queues 5 messages for him
// ("sent": on disk) and is killed (-9) before he returns. Restarted with
// the same home, alice still shows them waiting for bob; once bob is
// back he shows the 5 once, in order, and alice reports them delivered
// under the ids the first run gave.
func TestDurableSenderKilled(t *testing.T) {
	shared(t)
	d := newDurableLab(t)
	alice, bob := d.startAlice(), d.startBob()
	d.exchange(alice, bob)

	am := alice.Mark()
	quit(t, bob)
	alice.WaitFrom(t, am, msgTimeout, IsLeft("bob", "quit"))

	texts := relNumbered("while bob is away ", 5)
	var ids []Flex
	for _, s := range texts {
		ids = append(ids, alice.SendTo(t, "bob", s)...)
	}
	if pe := findPeer(t, alice, "bob"); pe.Pending != len(texts) {
		t.Errorf("alice: /peers shows %d messages waiting for bob, want %d", pe.Pending, len(texts))
	}
	alice.Kill()

	alice2 := d.startAlice()
	if pe := findPeer(t, alice2, "bob"); pe.Online || pe.Pending != len(texts) {
		t.Errorf("alice restarted after kill -9: /peers shows bob online=%v with %d messages waiting, want offline with the %d sent before the kill",
			pe.Online, pe.Pending, len(texts))
	}

	bob2 := d.startBob()
	back := time.Now()
	relWaitDelivered(t, alice2, 0, time.Now().Add(joinTimeout), ids)
	t.Logf("alice's restarted process reported the 5 delivered (ids %v of her first run) %v after bob came back",
		flexStrings(ids), time.Since(back).Round(time.Millisecond))

	// A marker after them: a late duplicate would come before it.
	mids := alice2.SendTo(t, "bob", "marker")
	end := bob2.Wait(t, msgTimeout, IsMessage("alice", "bob", "marker"))
	alice2.Wait(t, msgTimeout, IsDelivered("bob", mids[0]))
	if got := relMessages(bob2.Events()[:end.Seq], "alice", "bob"); !slices.Equal(got, texts) {
		t.Errorf("bob, back after alice was killed with 5 messages queued for him, was shown: %s", seqDiff(got, texts))
	}
	if pe := findPeer(t, alice2, "bob"); pe.Pending != 0 {
		t.Errorf("alice: /peers shows %d messages still waiting for bob after all were delivered", pe.Pending)
	}
}
