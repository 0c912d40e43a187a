package peer

import (
	"net/netip"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Peer exchange: knowing one peer is enough to learn its LAN. When a peer
// comes online each side sends the other, sealed and authenticated like
// everything else, the keys and addresses of the peers it has online
// (wire.KindPeers, up to wire.MaxPeerEntries per packet). A learned key is
// only a lead: the node says hello to it, asking for an answer, and the
// key enters the book (is listed) only by answering that hello with our
// challenge, as any stranger does. A newcomer thus gets everyone its first
// peer knows, says hello to each, and each of them, taking it in, sends it
// its own book: the exchange spreads over every link without gossiping
// every change to everyone.
//
// On a LAN where mDNS works every node finds every other by itself, so to a
// peer found by mDNS only the peers we did not find by mDNS are sent (those
// of -peer, of traffic, of other exchanges: across subnets, over a VPN);
// a plain mDNS LAN exchanges nothing. The book goes out shareDelay after a
// peer came online, once mDNS has had its moment: a peer that said hello
// before our own mDNS found it counts as found by mDNS when mDNS reports it
// (in the 20-node benchmark sharing at once made every node send its book
// to the half of its peers that had said hello first).
//
// Bounded against poisoning (a hostile peer may send thousands of made-up
// entries): entries of keys already online are skipped cheaply; each lead
// costs a key agreement and one hello, so leads are taken at most
// learnRate a second (learnBurst at once) from all peers together and at
// most maxLearnedFrom from one peer in its session; the rest are dropped.
// A lead that never answers is never listed.

const (
	learnRate      = 20  // leads followed per second, from all peers
	learnBurst     = 64  // leads followed at once
	maxLearnedFrom = 256 // leads taken from one peer while it is online
	maxShared      = 200 // entries sent to one peer when it comes online
	// shareDelay is how long after a peer came online it gets our book.
	shareDelay = 2 * time.Second
)

// shareBook sends p the peers we have online (n.mu held).
func (n *Node) shareBook(p *peerState) {
	var batch []wire.PeerEntry
	flush := func() {
		if len(batch) > 0 {
			n.send(p, &wire.Payload{Kind: wire.KindPeers, Peers: batch}, nil, pathAuto)
			batch = nil
		}
	}
	shared := 0
	for _, q := range n.book.sorted(func(q *peerState) string { return q.label }) {
		if q == p || !q.online || q.label == "" || !q.addr.IsValid() || shared >= maxShared {
			continue
		}
		if p.via == "mdns" && q.via == "mdns" {
			continue // it finds those by itself
		}
		batch = append(batch, wire.PeerEntry{Key: q.key, Addr: q.addr})
		shared++
		if len(batch) == wire.MaxPeerEntries {
			flush()
		}
	}
	flush()
}

// onPeers follows the leads a peer sent (n.mu held).
func (n *Node) onPeers(p *peerState, pl *wire.Payload, now time.Time) {
	if p.label == "" || !p.online {
		return
	}
	for _, e := range pl.Peers {
		if e.Key == n.id.Public || !usableLead(e.Addr, p.addr) {
			continue
		}
		if q := n.book.peers[e.Key]; q != nil && q.online {
			continue // known and talking: nothing to learn
		}
		if p.learned >= maxLearnedFrom || !n.leads.Take(now) {
			n.stats.LeadsDropped++
			continue
		}
		p.learned++
		n.discover(e.Key, e.Addr, "exchange")
	}
}

// usableLead reports whether addr may be said hello to on the word of a
// peer at from: a unicast address with a port; loopback only from a peer
// on loopback (a peer must not make us talk to our own machine).
func usableLead(addr, from netip.AddrPort) bool {
	a := addr.Addr().Unmap()
	switch {
	case addr.Port() == 0, !a.IsValid(), a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return false
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	case a.IsLoopback():
		return from.Addr().Unmap().IsLoopback()
	}
	return a.IsGlobalUnicast() || a.IsLinkLocalUnicast() || a.IsPrivate()
}
