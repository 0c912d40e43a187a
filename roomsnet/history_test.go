package roomsnet

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// historyRoom starts the named members, all in #lunch with alice's 150
// messages, and dave (not in it, met by none yet).
func historyRoom(t *testing.T, mn *peer.MemNet, names ...string) (ms []*member, dave *member) {
	t.Helper()
	ms = startAll(t, mn, append(names, "dave")...)
	dave, ms = ms[len(ms)-1], ms[:len(ms)-1]
	meet(ms...)
	inRoom("#lunch", ms...)
	ms[0].postN("#lunch", "m%03d", 150)
	for _, m := range ms[1:] {
		m.texts("#lunch", 150)
	}
	// dave joins later (on the bubble's clock nothing passes by itself:
	// a join in the same millisecond as the messages would be sent them
	// all by every member, as messages said at the time of its join)
	time.Sleep(time.Second)
	return ms, dave
}

// history waits for dave's 100 messages of history (each marked earlier)
// and checks that they are alice's last 100 of 150, once each, and that
// nothing more comes.
func history(t *testing.T, dave *member) {
	t.Helper()
	var got []string
	for len(got) < 100 {
		e := dave.wait("history", func(e Event) bool { return e.Kind == EvMessage })
		if !e.Earlier {
			t.Fatalf("history message %q not marked earlier", e.Text)
		}
		got = append(got, e.Text)
	}
	for i, text := range got {
		if want := fmt.Sprintf("m%03d", 50+i); text != want {
			t.Fatalf("dave's history: message %d is %s, want %s (%v)", i, text, want, got)
		}
	}
	dave.none(time.Second)
}

// relayed is how many messages each member relayed since before, in
// all, and how many members relayed more than their own join (which a
// member that said nothing since sends to a newcomer: its history
// answer may lack it).
func relayed(ms []*member, before []uint64) (per []uint64, total uint64, answering int) {
	for i, m := range ms {
		n := m.run.Stats().Relayed - before[i]
		per = append(per, n)
		total += n
		if n > 1 {
			answering++
		}
	}
	return per, total, answering
}

// TestHistoryFromOneMember: dave, joining #lunch while its five members
// are online, is shown its last 100 messages once each, and only one
// member relays them (before: each of the five relayed the 100, 500
// messages for 100 shown).
func TestHistoryFromOneMember(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(21)
		ms, dave := historyRoom(t, mn, "alice", "bob", "carol", "erin", "frank")
		meet(append(ms, dave)...)
		if !eventually(5*time.Second, func() bool { return len(dave.run.Rooms()) > 0 }) {
			t.Fatal("dave heard of no room")
		}
		var before []uint64
		for _, m := range ms {
			before = append(before, m.run.Stats().Relayed)
		}
		joinRoom(t, dave, "#lunch", false)
		history(t, dave)
		if per, total, answering := relayed(ms, before); total > 100+uint64(len(ms)) || answering != 1 {
			t.Fatalf("members relayed %v: %d messages, history from %d members, want 100 (and at most its join from each) from 1", per, total, answering)
		}
	})
}

// TestHistoryAskedAgain: the member dave asks for history (alice, the
// only one he meets at first) answers but her answer never reaches him
// (every packet from her to him is lost, so she goes away for him);
// dave then meets bob and carol, and one of them answers: dave is shown
// the last 100 once each.
func TestHistoryAskedAgain(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(22)
		ms, dave := historyRoom(t, mn, "alice", "bob", "carol")
		alice := ms[0]
		meet(alice, dave)
		if !eventually(5*time.Second, func() bool { return len(dave.run.Rooms()) > 0 }) {
			t.Fatal("dave heard of no room")
		}
		from, to := alice.tr.Addr(), dave.tr.Addr()
		mn.DropIf(func(f, t netip.AddrPort, _ []byte, _ bool) bool { return f == from && t == to })
		var before []uint64
		for _, m := range ms {
			before = append(before, m.run.Stats().Relayed)
		}
		joinRoom(t, dave, "#lunch", false)
		// alice answered (her relays wait in her outbox) before dave meets
		// the others.
		if !eventually(10*time.Second, func() bool { return alice.run.Stats().Relayed-before[0] >= 100 }) {
			t.Fatalf("alice relayed %d", alice.run.Stats().Relayed-before[0])
		}
		meet(dave, ms[1], ms[2])
		history(t, dave)
		per, total, answering := relayed(ms[1:], before[1:])
		if total > 100+2 || answering != 1 {
			t.Fatalf("bob and carol relayed %v: %d messages, history from %d members, want 100 (and at most its join from each) from 1", per, total, answering)
		}
	})
}
