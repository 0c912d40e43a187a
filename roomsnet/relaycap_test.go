package roomsnet

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// roomName is the i-th room of the tests in every room a node may be in.
func roomName(i int) string { return fmt.Sprintf("#r%02d", i) }

// joinAll joins each of ms to rooms.MaxRooms open rooms and waits until
// each saw every other's join in each.
func joinAll(t *testing.T, ms ...*member) {
	t.Helper()
	for i := range rooms.MaxRooms {
		for _, m := range ms {
			joinRoom(t, m, roomName(i), false)
		}
	}
	for _, x := range ms {
		seen := map[string]bool{}
		for len(seen) < rooms.MaxRooms*len(ms) {
			e := x.wait("joins", func(e Event) bool { return e.Kind == EvJoined })
			seen[e.Room+" "+e.Peer] = true
		}
	}
}

// TestRelayBatchesPerPeerBounded: a member in all 32 rooms of ours sends
// us a summary of each at once (as at a meeting, but asking for the
// whole of each room), and acknowledges nothing: we hold the batches of
// maxRelayRooms rooms for it, not 32 (the others are deferred, counted);
// once it acknowledges again, every deferred room is asked again (a
// relay-end each) and answered, and nothing is left waiting.
func TestRelayBatchesPerPeerBounded(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(9)
		ms := startAll(t, mn, "alice", "mallory")
		a, m := ms[0], ms[1]
		meet(ms...)
		joinAll(t, a, m)
		const said = 3
		for i := range rooms.MaxRooms {
			a.postN(roomName(i), "m%d", said)
		}
		if !eventually(30*time.Second, func() bool { return a.node.Waiting() == 0 && a.run.Waiting() == 0 }) {
			t.Fatalf("alice still has %d payloads waiting", a.node.Waiting())
		}
		perRoom := len(a.run.st.Log(rooms.OpenID(roomName(0)))) // both joins and alice's messages
		if perRoom != 2+said {
			t.Fatalf("alice's log of %s holds %d messages, want %d", roomName(0), perRoom, 2+said)
		}
		before := a.run.Stats()
		// From now on nothing alice sends mallory arrives: her relays stay
		// unacknowledged.
		aliceAddr := a.tr.Addr()
		mn.DropIf(func(from, to netip.AddrPort, b []byte, tcp bool) bool { return from == aliceAddr })
		for i := range rooms.MaxRooms {
			var empty rooms.Summary // lists nothing: send me the whole room
			empty.Room = rooms.OpenID(roomName(i))
			if err := m.node.SendAppOnce(a.id.Public, appSummary, empty.AppendEncode(nil)); err != nil {
				t.Fatal(err)
			}
		}
		eventually(5*time.Second, func() bool { return false }) // alice takes them all
		held := a.node.Waiting()
		s := a.run.Stats()
		t.Logf("alice holds %d payloads for mallory after %d summaries (%d relayed, %d deferred)", held, rooms.MaxRooms, s.Relayed-before.Relayed, s.RelayDeferred-before.RelayDeferred)
		if held > maxRelayRooms*perRoom {
			t.Errorf("alice holds %d relay payloads for mallory, want at most %d rooms' batches (%d)", held, maxRelayRooms, maxRelayRooms*perRoom)
		}
		if got, want := s.RelayDeferred-before.RelayDeferred, uint64(rooms.MaxRooms-maxRelayRooms); got != want {
			t.Errorf("summaries deferred: %d, want %d", got, want)
		}
		// Summaries of rooms alice is not in leave nothing behind.
		for i := range 100 {
			var other rooms.Summary
			other.Room = rooms.OpenID(fmt.Sprintf("#not-ours-%d", i))
			if err := m.node.SendAppOnce(a.id.Public, appSummary, other.AppendEncode(nil)); err != nil {
				t.Fatal(err)
			}
		}
		eventually(5*time.Second, func() bool { return false })
		a.run.mu.Lock()
		owed := len(a.run.owed)
		a.run.mu.Unlock()
		if want := rooms.MaxRooms - maxRelayRooms; owed != want {
			t.Errorf("alice owes %d summaries after 100 of rooms she is not in, want %d", owed, want)
		}
		// Mallory acknowledges again: each deferred room is asked again
		// (its own summary now: it holds everything), and answered.
		mn.DropIf(nil)
		if !eventually(time.Minute, func() bool {
			a.run.mu.Lock()
			defer a.run.mu.Unlock()
			return a.node.Waiting() == 0 && len(a.run.owed) == 0 && len(a.run.promoted) == 0 && len(a.run.relaying) == 0 && len(a.run.busy) == 0
		}) {
			a.run.mu.Lock()
			t.Errorf("alice: %d payloads waiting, owed %d, promoted %v, relaying %d", a.node.Waiting(), len(a.run.owed), a.run.promoted, len(a.run.relaying))
			a.run.mu.Unlock()
		}
	})
}

// TestCatchUpInEveryRoom: carol is away while alice says two things in
// each of the 32 rooms the three share; alice quits before carol returns.
// Back, carol meets only bob, who answers her 32 summaries at most
// maxRelayRooms rooms at a time (the others deferred): she gets all 64 of
// alice's messages, once each, in order, marked earlier.
func TestCatchUpInEveryRoom(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(10)
		ms := startAll(t, mn, "alice", "bob", "carol")
		a, b, c := ms[0], ms[1], ms[2]
		meet(ms...)
		joinAll(t, a, b, c)
		c.stop()
		for i := range rooms.MaxRooms {
			a.postN(roomName(i), "a%d", 2)
		}
		for range rooms.MaxRooms * 2 {
			b.wait("alice's messages", func(e Event) bool { return e.Kind == EvMessage })
		}
		a.stop()
		c = c.restart(mn)
		meet(b, c)
		got := map[string][]string{}
		earlier := true
		for n := 0; n < rooms.MaxRooms*2; n++ {
			e := c.wait(fmt.Sprintf("alice's message %d of %d", n+1, rooms.MaxRooms*2), func(e Event) bool { return e.Kind == EvMessage })
			got[e.Room] = append(got[e.Room], e.Peer+": "+e.Text)
			earlier = earlier && e.Earlier
		}
		for i := range rooms.MaxRooms {
			if g := fmt.Sprint(got[roomName(i)]); g != "[alice: a0 alice: a1]" {
				t.Errorf("carol in %s: %s", roomName(i), g)
			}
		}
		if !earlier {
			t.Error("alice's messages relayed by bob not marked earlier")
		}
		if s := b.run.Stats(); s.RelayDeferred == 0 {
			t.Errorf("bob deferred none of carol's summaries (stats %+v)", s)
		}
		c.none(2 * time.Second) // nothing twice
	})
}

// TestFullRoomSummaryFitsDatagram: the summary of a room of 64 authors
// (seqs from the time in ms, as a member's first) goes in one datagram:
// a member meeting us in 32 full rooms opens no TCP connection for them
// (each costs both nodes a connection's buffers and goroutines), and it
// is answered like any other.
func TestFullRoomSummaryFitsDatagram(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(11)
		ms := startAll(t, mn, "alice", "mallory")
		a, m := ms[0], ms[1]
		meet(ms...)
		inRoom("#full", ms...)
		a.postN("#full", "m%d", 3)
		m.texts("#full", 3)
		if !eventually(10*time.Second, func() bool { return a.run.Waiting() == 0 }) {
			t.Fatal("alice's messages not acknowledged")
		}
		sum := rooms.Summary{Room: rooms.OpenID("#full"), Since: time.Now().UnixMilli()}
		for i := range rooms.MaxMembers {
			var p rooms.Prefix
			p[0] = byte(i) // in increasing order; none is alice's
			p[1] = 0xa5
			sum.Authors = append(sum.Authors, rooms.Pos{Author: p, Seq: uint64(time.Now().UnixMilli()) + uint64(i)})
		}
		b := sum.AppendEncode(nil)
		_, tcpBefore := m.tr.Sent()
		if err := m.node.SendAppOnce(a.id.Public, appSummary, b); err != nil {
			t.Fatal(err)
		}
		if !eventually(10*time.Second, func() bool { return a.run.Stats().Relayed > 0 }) {
			t.Fatalf("alice did not answer the summary (stats %+v)", a.run.Stats())
		}
		if _, tcp := m.tr.Sent(); tcp != tcpBefore {
			t.Errorf("a summary of %d authors (%d bytes) went over TCP", rooms.MaxMembers, len(b))
		}
		if s := a.run.Stats(); s.BadSummaries != 0 {
			t.Errorf("alice dropped %d summaries as bad", s.BadSummaries)
		}
	})
}
