package transfer

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// TestUndecidedOffersExpire: 32 offers from peers that sent them once and
// left (they stop repeating them and go offline) leave by themselves;
// an offer whose sender keeps repeating it stays; a later offer from a
// peer that is there is shown, not refused as busy.
func TestUndecidedOffersExpire(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		s := newFakeSide(t, true, nil)
		carol := s.n.addPeer("carol", true)
		s.n.deliver(carol.offer(1, "stays.txt", 10))
		tid := uint64(100)
		for k := range 4 {
			p := s.n.addPeer(fmt.Sprintf("gone%d", k), true)
			for range 8 {
				tid++
				s.n.deliver(p.offer(tid, "left.txt", 1000))
			}
			s.n.setOnline(p, false)
		}
		synctest.Wait()
		for range 10 { // 20 s; carol repeats her offer, as a sender does
			time.Sleep(offerEvery)
			s.n.deliver(carol.offer(1, "stays.txt", 10))
		}
		synctest.Wait()
		alice := s.n.addPeer("alice", true)
		s.n.deliver(alice.offer(7, "report.pdf", 1000))
		time.Sleep(time.Second)
		synctest.Wait()

		waiting := s.listed(func(in Info) bool { return in.State == Offered })
		var names []string
		for _, in := range waiting {
			names = append(names, in.Peer+":"+in.Name)
		}
		busy := s.n.sentTo(alice, wire.KindReject)
		shown := s.events(func(e Event) bool { return e.Kind == EvOffer && e.Peer == "alice" })
		t.Logf("after 21 s: %d offers waiting %v; alice's offer: %d shown, %d busy", len(waiting), names, len(shown), len(busy))
		if len(busy) != 0 || len(shown) != 1 {
			t.Errorf("alice's offer: %d busy refusals, shown %d times; want shown once", len(busy), len(shown))
		}
		if len(waiting) != 2 {
			t.Errorf("%d offers waiting, want carol's and alice's: %v", len(waiting), names)
		}
		stale := 0
		for _, in := range waiting {
			if in.Peer != "carol" && in.Peer != "alice" {
				stale++
			}
		}
		if stale != 0 {
			t.Errorf("%d offers of peers that left 20 s ago still wait", stale)
		}
		expired := s.events(func(e Event) bool { return e.Kind == EvFailed && e.Code == CodeOfferExpired })
		if st := s.m.Stats(); len(expired) == 0 || st.OffersExpired != uint64(len(expired)) {
			t.Errorf("%d offer-expired events, Stats.OffersExpired %d", len(expired), st.OffersExpired)
		}
	})
}

// TestStrangerOffersCapped: a key whose name is pinned to nobody (a
// stranger: anyone can make keys) has one undecided offer at a time, and
// strangers together cannot take the places kept for known peers: after 40
// strangers' offers, a known peer's offer is shown.
func TestStrangerOffersCapped(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		s := newFakeSide(t, true, nil)
		first := s.n.addPeer("stranger", false)
		s.n.deliver(first.offer(1, "one.txt", 10))
		s.n.deliver(first.offer(2, "two.txt", 10))
		for i := range 40 {
			p := s.n.addPeer(fmt.Sprintf("s%d", i), false)
			s.n.deliver(p.offer(uint64(10+i), "x.txt", 10))
		}
		synctest.Wait()
		alice := s.n.addPeer("alice", true)
		s.n.deliver(alice.offer(7, "report.pdf", 1000))
		synctest.Wait()

		strangers := len(s.listed(func(in Info) bool { return in.State == Offered && in.Peer != "alice" }))
		firsts := len(s.listed(func(in Info) bool { return in.State == Offered && in.Peer == "stranger" }))
		busy := s.n.sentTo(alice, wire.KindReject)
		shown := s.events(func(e Event) bool { return e.Kind == EvOffer && e.Peer == "alice" })
		t.Logf("strangers' offers waiting: %d (the first stranger's: %d); alice's offer: %d shown, %d busy", strangers, firsts, len(shown), len(busy))
		if firsts != 1 {
			t.Errorf("one stranger holds %d undecided offers, want 1", firsts)
		}
		if len(busy) != 0 || len(shown) != 1 {
			t.Errorf("alice's offer after the strangers': %d busy, shown %d times; want shown", len(busy), len(shown))
		}
	})
}

// TestOfferDroppedWhenSenderOffline: an undecided offer whose sender the
// node sees go offline is dropped at the next tick, without waiting for
// it to stop repeating; the offer of a peer still online stays.
func TestOfferDroppedWhenSenderOffline(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		s := newFakeSide(t, true, nil)
		bob, carol := s.n.addPeer("bob", true), s.n.addPeer("carol", true)
		s.n.deliver(bob.offer(1, "b.txt", 10))
		s.n.deliver(carol.offer(2, "c.txt", 10))
		synctest.Wait()
		s.n.setOnline(bob, false)
		time.Sleep(2 * tickEvery)
		synctest.Wait()
		var waiting []string
		for _, in := range s.listed(func(in Info) bool { return in.State == Offered }) {
			waiting = append(waiting, in.Peer)
		}
		t.Logf("%v after bob went offline: offers waiting from %v", 2*tickEvery, waiting)
		if len(waiting) != 1 || waiting[0] != "carol" {
			t.Errorf("offers waiting from %v, want carol's only", waiting)
		}
	})
}
