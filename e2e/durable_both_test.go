package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// durableBothRounds is how many rounds TestDurableBothKilled runs.
const durableBothRounds = 10

// TestDurableBothKilled: while alice's 300 messages flow, alice and bob
// are both killed (-9), each at its own random moment (logged seed), and
// both restarted with their homes. What alice had taken in (a prefix of
// the 300: she reads her input in order) reaches bob exactly once and in
// order over his two runs, including at least every message her first
// run had said "sent" (on disk) about; a marker from her restarted
// process comes after them. Several rounds, the restarted pair being the
// next round's. As in TestDurableReceiverKilled, a batch bob was writing
// out when he was killed may be shown again, in exactly that form and in
// at most maxReshown rounds.
func TestDurableBothKilled(t *testing.T) {
	shared(t)
	d := newDurableLab(t)
	rng := seededRand(t)
	alice, bob := d.startAlice(), d.startBob()
	d.exchange(alice, bob)
	window := durableWindow(t, alice, bob)

	reshown := 0
	for r := 1; r <= durableBothRounds; r++ {
		texts := relNumbered(fmt.Sprintf("round %02d message ", r), durableFlow)
		marker := fmt.Sprintf("round %02d marker", r)
		am, bm := alice.Mark(), bob.Mark()
		lastID, began := lastSentID(alice.Events()[:am], "bob"), time.Now()
		markBefore := shownMark(t, d.bobHome)
		da, db := time.Duration(rng.Int63n(int64(window))), time.Duration(rng.Int63n(int64(window)))
		sendLines(t, alice, "bob", texts)
		first, second := alice, bob
		d1, d2 := da, db
		if db < da {
			first, second, d1, d2 = bob, alice, db, da
		}
		after(d1)
		first.Kill()
		after(d2 - d1)
		second.Kill()
		claimed, wrong := roundSent(alice.Events()[am:], "bob", lastID, durableFlow, began)
		if wrong != "" {
			t.Errorf("round %d: alice's \"sent\" events to bob: %s", r, wrong)
		}
		shown1 := relMessages(bob.Events()[bm:], "alice", "bob")
		markAfter := shownMark(t, d.bobHome)

		alice2 := d.startAlice()
		waiting := findPeer(t, alice2, "bob").Pending
		bob2 := d.startBob()
		alice2.SendTo(t, "bob", marker)
		end := bob2.Wait(t, joinTimeout, IsMessage("alice", "bob", marker))
		shown2 := relMessages(bob2.Events()[:end.Seq], "alice", "bob")
		marked := int(markAfter - markBefore) // (one inbox index per message)
		shown2, marked = dropReshownMarker(t, r, shown2, marked, &reshown)
		t.Logf("round %2d: alice killed %3v, bob %3v after alice was given the %d; alice had said %3d sent, her restarted process had %3d waiting; bob's first run showed %3d, his second %3d",
			r, da.Round(time.Millisecond), db.Round(time.Millisecond), durableFlow, claimed, waiting, len(shown1), len(shown2))
		got := append(slices.Clone(shown1), shown2...)
		if marked = max(marked, 0); marked < len(shown1) && checkPrefix(shown1, texts, 0) == nil &&
			checkPrefix(append(slices.Clone(shown1[:marked]), shown2...), texts, claimed) == nil {
			reshown++
			t.Logf("round %d: bob was killed while writing out messages %d to %d (his shown mark said %d): his restarted run showed those %d again, then the rest once, in order",
				r, marked+1, len(shown1), marked, len(shown1)-marked)
			got = append(slices.Clone(shown1[:marked]), shown2...)
		}
		if err := checkPrefix(got, texts, claimed); err != nil {
			t.Errorf("round %d: alice killed %v and bob %v into 300 messages, both restarted: over bob's two runs %v (first run showed %d, second %d; bob's shown mark in HOME/shown went from %d, read as the round began, to %d when he was killed)",
				r, da.Round(time.Millisecond), db.Round(time.Millisecond), err, len(shown1), len(shown2), markBefore, markAfter)
			break
		}
		alice, bob = alice2, bob2
	}
	if reshown > maxReshown {
		t.Errorf("in %d rounds a batch was shown again after the kill, more than %d: the shown mark lags behind the output", reshown, maxReshown)
	}
}
