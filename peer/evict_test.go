package peer

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestHintsEvict: how a key was learned is remembered for the newest
// maxPeers keys said hello to; past that the oldest is forgotten, never all
// of them at once.
func TestHintsEvict(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(10)
		n := startNode(t, mn, "alice")
		addr := netip.MustParseAddrPort("10.0.0.200:7117")
		const total = maxPeers + 100
		n.mu.Lock()
		for i := range total {
			n.discoverLocked(testKey(1000+i), addr, "exchange")
		}
		var kept, newest int
		for i := range total {
			if hinted(n.Node, testKey(1000+i)) {
				kept++
				if i >= total-maxPeers {
					newest++
				}
			}
		}
		n.mu.Unlock()
		t.Logf("%d keys said hello to: %d hints kept, %d of the newest %d", total, kept, newest, maxPeers)
		if newest != maxPeers || kept != maxPeers {
			t.Errorf("%d hints kept, %d of the newest %d: want the newest %d", kept, newest, maxPeers, maxPeers)
		}
	})
}

// TestNetTransportFailedEvicts: the memory of recent dial failures (which
// keeps us from dialing a dead address on every packet) forgets its oldest
// entry when full, not every entry.
func TestNetTransportFailedEvicts(t *testing.T) {
	tr := listenLoopback(t)
	now := time.Now()
	addr := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(20000+i))
	}
	for i := range maxOutgoingTCP + 10 {
		noteFailed(tr, addr(i), now)
	}
	// A new connection (to a port nobody listens on) makes room.
	_ = tr.SendTCP(addr(1000), []byte("x"))
	// Newest first: an address found forgotten is dialed, and its failure
	// (soon, on loopback) forgets the oldest one; checked oldest first,
	// that cascade made a loaded machine report 62 (or, with the new
	// connection's failure in before the loop, none) of 64 remembered.
	refused := 0
	for i := maxOutgoingTCP + 9; i >= 10; i-- {
		if err := tr.SendTCP(addr(i), []byte("x")); err != nil && strings.Contains(err.Error(), "recent connection failure") {
			refused++
		}
	}
	t.Logf("%d of the newest %d failed addresses still remembered", refused, maxOutgoingTCP)
	if refused < maxOutgoingTCP-1 {
		t.Errorf("%d of the newest %d failed addresses remembered", refused, maxOutgoingTCP)
	}
}

// hinted reports whether n remembers how it learned key (n.mu held).
func hinted(n *Node, key [32]byte) bool { _, ok := n.hints.Get(key); return ok }

// noteFailed records a failed dial to a, as dialAndServe does.
func noteFailed(t *NetTransport, a netip.AddrPort, when time.Time) {
	t.mu.Lock()
	t.failed.Put(a, when)
	t.mu.Unlock()
}
