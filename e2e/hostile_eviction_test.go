package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestHostileEvictionReplay: hostile keys fill alice's address book (512
// peers) so that bob, a hostile key whose join and message were recorded,
// is forgotten to make room once he has left. With room made again (a
// filler leaves), bob's recorded packets are replayed within the 10 s a
// challenge of alice's is valid: alice takes him in again only if she
// kept no tombstone of him. She must not list him again nor show his
// message a second time.
func TestHostileEvictionReplay(t *testing.T) {
	alone(t)
	const book = 512 // README: address book, 512 peers
	start := time.Now()
	lab := testnet.New(t, 2)
	ha, hm := lab.Hosts[0], lab.Hosts[1]
	alice := StartNode(t, ha, "alice")
	hp := startHostile(t, hm, netip.AddrPortFrom(ha.IP, port))
	hp.do(hcmd{Op: "dial", Conn: "u"}, "dialed", msgTimeout)

	// Fillers take all the room but one.
	f := hp.do(hcmd{Op: "fill", Conn: "u", Nick: "f", Keys: book - 1}, "filled", time.Minute)
	t.Logf("%d fillers joined in %v", f.Count, time.Duration(f.Millis)*time.Millisecond)

	// bob joins (recorded), says one thing (recorded) and leaves.
	recorded := time.Now()
	b := hp.do(hcmd{Op: "join", Conn: "u", Peer: "bob", Nick: "bob", Host: "evil", Record: true}, "joined", msgTimeout)
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == b.ID })
	hp.do(hcmd{Op: "say", Peer: "bob", Stream: 31, Seq: 1, Base: 1, Text: "bob once", Record: true}, "said", msgTimeout)
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "bob once"))
	hp.do(hcmd{Op: "bye", Peer: "bob"}, "said", msgTimeout)
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "left" && e.PeerID == b.ID })

	// One more newcomer: the book is full, bob is the one offline peer.
	x := hp.do(hcmd{Op: "join", Conn: "u", Peer: "x", Nick: "x", Host: "evil"}, "joined", msgTimeout)
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == x.ID })
	if listed(t, alice, b.ID) {
		t.Fatalf("alice still lists bob after a newcomer came to her full book")
	}
	// Room again: a filler leaves (it may be forgotten for the next one).
	hp.do(hcmd{Op: "bye", Peer: "f1"}, "said", msgTimeout)
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "left" && e.Name == "f1" })

	// The replay, then a marker over the same socket: once alice shows the
	// marker she has handled the replayed packets before it.
	m := alice.Mark()
	rp := hp.do(hcmd{Op: "replay", Peer: "bob"}, "replayed", msgTimeout)
	replayedAfter := time.Since(recorded)
	hp.do(hcmd{Op: "say", Peer: "f2", Stream: 2, Seq: 1, Base: 1, Text: "marker"}, "said", msgTimeout)
	alice.WaitFrom(t, m, msgTimeout, IsMessage("f2", "alice", "marker"))
	t.Logf("%d recorded packets of bob's replayed %v after his join was recorded; test took %v",
		rp.Count, replayedAfter.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if rp.Count != 2 {
		t.Errorf("%d packets replayed, want bob's answer to the challenge and his message", rp.Count)
	}
	if replayedAfter > 9*time.Second {
		t.Errorf("the replay came %v after the recording: alice's challenge had expired, so the test did not test her tombstones", replayedAfter)
	}
	noEvent(t, alice, alice.Events()[m:], "bob back or his message again after the replay", func(e Event) bool {
		return e.PeerID == b.ID || e.Event == "message" && e.Text == "bob once"
	})
	if listed(t, alice, b.ID) {
		t.Errorf("alice lists bob again after his recorded packets were replayed")
	}
}

// listed reports whether p's /peers lists the peer with id.
func listed(t *testing.T, p *Proc, id string) bool {
	t.Helper()
	for _, pe := range p.Peers(t) {
		if string(pe.ID) == id {
			return true
		}
	}
	return false
}
