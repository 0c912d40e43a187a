package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// relBackBound is how soon after a vanished peer is known again the
// messages queued for it must reach it.
const relBackBound = 3 * time.Second

// TestVanishAndReturn: bob's laptop loses the network (alice reports the
// queued messages failed and bob gone), comes back (same process), reboots
// (new process, same identity) and crashes and restarts before alice
// notices: each time the queued messages reach him exactly once, in
// order, soon after he is known again. The first absence (bounds of 30 s
// and 70 s) runs next to the shared tests; the two that measure how soon
// the messages follow the return (within relBackBound) run alone.
func TestVanishAndReturn(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	lab := testnet.New(t, 2)
	hb := lab.Hosts[1]
	bobHome := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := startWithHome(t, hb, "bob", bobHome)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	// They chat.
	ids := alice.SendTo(t, "bob", "hello bob")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "hello bob"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	ids = bob.SendTo(t, "alice", "hello alice")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "hello alice"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))

	// vanish cuts bob's link, has alice send queued to him, and checks that
	// alice is told each was not delivered and that bob left.
	vanish := func(t *testing.T, queued []string) []Flex {
		t.Helper()
		hb.SetLink(t, false)
		cut := time.Now()
		am := alice.Mark()
		var qids []Flex
		for _, q := range queued {
			qids = append(qids, alice.SendTo(t, "bob", q)...)
		}
		// alice is told each is not delivered yet (still trying), and that bob left.
		for _, id := range qids {
			e := alice.WaitFrom(t, am, 30*time.Second, func(e Event) bool { return e.Event == "pending" && e.ID == id })
			if e.Code != "no-answer" && e.Code != "peer-left" {
				t.Errorf("alice: pending event for %s has code %q, want no-answer or peer-left", id, e.Code)
			}
			r := strings.ToLower(e.Reason)
			if !strings.Contains(r, "no answer") && !strings.Contains(r, "left") {
				t.Errorf("alice: pending event for %s has reason %q, want it to say there was no answer", id, e.Reason)
			}
			t.Logf("alice: message %s reported pending after %v: %s %q", id, e.At.Sub(cut).Round(100*time.Millisecond), e.Code, e.Reason)
		}
		left := alice.WaitFrom(t, am, 30*time.Second, func(e Event) bool { return e.Event == "left" && e.Name == "bob" })
		if left.Reason != "no answer" {
			t.Errorf("alice: bob left with reason %q, want \"no answer\"", left.Reason)
		}
		t.Logf("alice: bob reported gone %v after his link was cut", left.At.Sub(cut).Round(100*time.Millisecond))
		if pe := findPeer(t, alice, "bob"); pe.Online || pe.Pending != len(queued) {
			t.Errorf("alice: /peers shows bob online=%v pending=%d while gone, want offline with %d pending", pe.Online, pe.Pending, len(queued))
		}
		return qids
	}

	t.Run("link-cut-and-back-same-process", func(t *testing.T) {
		// bob's laptop loses the Wi-Fi for a while; p2pchat keeps running.
		queued := []string{"while offline 1", "while offline 2", "while offline 3"}
		bm := bob.Mark()
		qids := vanish(t, queued)
		am := alice.Mark()
		hb.SetLink(t, true)
		back := time.Now()
		// alice knocks (hello) on a peer she owes messages every few
		// seconds, so bob is found again without waiting for mDNS.
		j := alice.WaitFrom(t, am, 70*time.Second, IsJoined("bob"))
		last := bob.WaitFrom(t, bm, 70*time.Second, IsMessage("alice", "bob", queued[2]))
		relWaitDelivered(t, alice, am, time.Now().Add(msgTimeout), qids)
		t.Logf("link back: alice saw bob rejoin %v later; bob showed the queued messages %v later",
			j.At.Sub(back).Round(100*time.Millisecond), last.At.Sub(back).Round(100*time.Millisecond))
		alice.SendTo(t, "bob", "marker 0")
		end := bob.WaitFrom(t, bm, msgTimeout, IsMessage("alice", "bob", "marker 0"))
		if got := relMessages(bob.Events()[bm:end.Seq], "alice", "bob"); !slices.Equal(got, queued) {
			t.Errorf("bob: %s", seqDiff(got, queued))
		}
		am2 := alice.Mark()
		ids := bob.SendTo(t, "alice", "my wifi is back")
		alice.WaitFrom(t, am2, msgTimeout, IsMessage("bob", "alice", "my wifi is back"))
		bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	})

	// What follows measures seconds: alone from here (alice and bob idle,
	// connected, until the shared tests are done).
	aloneNow()

	t.Run("link-cut-then-new-process", func(t *testing.T) {
		queued := []string{"while away 1", "while away 2", "while away 3"}
		qids := vanish(t, queued)

		// bob's laptop reboots: old process gone, network back, p2pchat
		// started again with the same home (same identity).
		bob.Kill()
		hb.SetLink(t, true)
		am2 := alice.Mark()
		restart := time.Now()
		bob2 := startWithHome(t, hb, "bob", bobHome)
		if bob2.Ready().ID != bob.Ready().ID {
			t.Fatalf("restarted bob has id %s, want the same identity %s", bob2.Ready().ID, bob.Ready().ID)
		}
		j := alice.WaitFrom(t, am2, joinTimeout, IsJoined("bob"))
		last := bob2.Wait(t, joinTimeout, IsMessage("alice", "bob", queued[2]))
		relWaitDelivered(t, alice, am2, time.Now().Add(msgTimeout), qids)
		t.Logf("restarted bob: alice saw him rejoin %v after his start; he showed the 3 queued messages %v after his start (%v after alice saw him rejoin)",
			j.At.Sub(restart).Round(time.Millisecond), last.At.Sub(restart).Round(time.Millisecond), last.At.Sub(j.At).Round(time.Millisecond))
		// Once alice shows bob as back, what waited for him must follow
		// promptly (on a LAN, well within the 2 s a message normally takes
		// at worst), not after further heartbeats and back-off.
		if d := last.At.Sub(j.At); d > relBackBound {
			t.Errorf("queued messages reached the restarted bob %v after alice showed him joined again, want within %v (alice keeps TCP and a connection to bob's dead process, and retransmits at the 4 s ceiling: her RTT estimate took the whole absence as a round trip)", d.Round(time.Millisecond), relBackBound)
		}

		// Exactly once, in order (a marker flushes any late duplicate in).
		alice.SendTo(t, "bob", "marker 1")
		end := bob2.Wait(t, msgTimeout, IsMessage("alice", "bob", "marker 1"))
		if got := relMessages(bob2.Events()[:end.Seq], "alice", "bob"); !slices.Equal(got, queued) {
			t.Errorf("restarted bob: %s", seqDiff(got, queued))
		}

		// The new process talks to alice: not mistaken for replays or
		// duplicates of the old process's messages (its sequence numbers
		// start again at 1).
		am3 := alice.Mark()
		for i := 1; i <= 3; i++ {
			text := fmt.Sprintf("bob is back %d", i)
			ids := bob2.SendTo(t, "alice", text)
			alice.WaitFrom(t, am3, msgTimeout, IsMessage("bob", "alice", text))
			bob2.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
		}
		bob = bob2
	})

	t.Run("killed-and-restarted-before-expiry", func(t *testing.T) {
		// A crash and immediate restart: alice never notices bob leaving;
		// messages sent while he is down arrive once he is back.
		bob.Kill()
		am := alice.Mark()
		queued := []string{"during crash 1", "during crash 2", "during crash 3"}
		var qids []Flex
		for _, q := range queued {
			qids = append(qids, alice.SendTo(t, "bob", q)...)
		}
		restart := time.Now()
		bob3 := startWithHome(t, hb, "bob", bobHome)
		j := bob3.Wait(t, joinTimeout, IsJoined("alice"))
		last := bob3.Wait(t, 20*time.Second, IsMessage("alice", "bob", queued[2]))
		relWaitDelivered(t, alice, am, time.Now().Add(msgTimeout), qids)
		t.Logf("bob restarted at once: he saw alice %v after the restart and showed the queued messages %v after the restart",
			j.At.Sub(restart).Round(time.Millisecond), last.At.Sub(restart).Round(time.Millisecond))
		if d := last.At.Sub(j.At); d > relBackBound {
			t.Errorf("queued messages reached the restarted bob %v after he and alice knew each other again, want within %v (alone this takes ~0.2 s; after the earlier absences alice retransmits at the 4 s ceiling because her RTT estimate counted each absence as a round trip)", d.Round(time.Millisecond), relBackBound)
		}
		alice.SendTo(t, "bob", "marker 2")
		end := bob3.Wait(t, msgTimeout, IsMessage("alice", "bob", "marker 2"))
		if got := relMessages(bob3.Events()[:end.Seq], "alice", "bob"); !slices.Equal(got, queued) {
			t.Errorf("restarted bob: %s", seqDiff(got, queued))
		}
		am2 := alice.Mark()
		ids := bob3.SendTo(t, "alice", "back again")
		alice.WaitFrom(t, am2, msgTimeout, IsMessage("bob", "alice", "back again"))
		bob3.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	})
}
