package peer

import (
	"net"
	"net/netip"
	"sync"
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
// The book rides on one datagram (or a few) with no acknowledgement, so a
// lost one would leave the newcomer knowing one peer for good: it is sent
// shareRounds times, shareDelay after the peer came online and then 4, 8
// and 16 s after the previous one (the current book each time: peers that
// came online meanwhile are in it). A lead for a key already online costs
// the receiver a map lookup, and a book with nothing to share sends no
// packet, so a plain mDNS LAN still exchanges nothing.
//
// An IPv6 link-local address means nothing off its link: such an entry is
// sent only to a peer we reach by link-local on the same interface, and
// the receiver gives it the zone of the link it reaches the sender on.
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
	// shareRounds is how many times it gets it (see above).
	shareRounds = 4
)

// startSharingLocked schedules the books p gets, having come online at now (n.mu
// held).
func (n *Node) startSharingLocked(p *peerState, now time.Time) {
	p.books = 0
	p.shareAt = now.Add(shareDelay)
	n.wakeLocked(p.shareAt)
}

// shareBookLocked sends p the peers we have online, and schedules the next round
// (n.mu held).
func (n *Node) shareBookLocked(p *peerState, now time.Time) {
	p.books++
	if p.books < shareRounds {
		p.shareAt = now.Add(shareDelay << p.books)
		n.wakeLocked(p.shareAt)
	}
	var batch []wire.PeerEntry
	flush := func() {
		if len(batch) > 0 {
			n.sendLocked(p, &wire.Payload{Kind: wire.KindPeers, Peers: batch}, nil, pathAuto)
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
		if a := q.addr.Addr(); a.Is6() && a.IsLinkLocalUnicast() && !sameLink(a, p.addr.Addr()) {
			continue // meaningless where p is
		}
		batch = append(batch, wire.PeerEntry{Key: q.key, Addr: q.addr})
		shared++
		if len(batch) == wire.MaxPeerEntries {
			flush()
		}
	}
	flush()
}

// onPeersLocked follows the leads a peer sent (n.mu held).
func (n *Node) onPeersLocked(p *peerState, pl *wire.Payload, now time.Time) {
	if p.label == "" || !p.online {
		return
	}
	for _, e := range pl.Peers {
		e.Addr = zoned(e.Addr, p.addr)
		if e.Key == n.id.Public {
			continue
		}
		if !usableLead(e.Addr, p.addr, localPrefixes(now)) {
			n.stats.LeadsRefused++
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
		n.discoverLocked(e.Key, e.Addr, "exchange")
	}
}

// sameLink reports whether a and b are IPv6 link-local addresses on one
// interface (the same zone).
func sameLink(a, b netip.Addr) bool {
	return a.Is6() && b.Is6() && a.IsLinkLocalUnicast() && b.IsLinkLocalUnicast() && a.Zone() != "" && a.Zone() == b.Zone()
}

// zoned gives an IPv6 link-local lead (the wire carries no zone) the zone
// of from, the address of the peer that sent it, when that is link-local
// too: the lead is on the sender's link. Other addresses are unchanged.
func zoned(lead, from netip.AddrPort) netip.AddrPort {
	a := lead.Addr()
	if !a.Is6() || !a.IsLinkLocalUnicast() {
		return lead
	}
	f := from.Addr()
	if !f.Is6() || !f.IsLinkLocalUnicast() {
		return netip.AddrPortFrom(a.WithZone(""), lead.Port())
	}
	return netip.AddrPortFrom(a.WithZone(f.Zone()), lead.Port())
}

// usableLead reports whether addr may be said hello to on the word of a
// peer at from: a unicast address with a port; loopback only from a peer
// on loopback (a peer must not make us talk to our own machine); not the
// broadcast or network address of a prefix of ours (local: our
// interfaces' prefixes), where a hello would reach every host on the link.
// (The chat sockets cannot send to a broadcast address anyway: Listen
// clears SO_BROADCAST.)
func usableLead(addr, from netip.AddrPort, local []netip.Prefix) bool {
	a := addr.Addr().Unmap()
	switch {
	case addr.Port() == 0, !a.IsValid(), a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return false
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	case a.Is4() && subnetEdge(a, local):
		return false
	case a.IsLoopback():
		return from.Addr().Unmap().IsLoopback()
	case a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "":
		return false // no interface to reach it on
	}
	return a.IsGlobalUnicast() || a.IsLinkLocalUnicast() || a.IsPrivate()
}

// subnetEdge reports whether the IPv4 address a is the network or the
// broadcast address of one of prefixes (those of /31 and /32 have none).
func subnetEdge(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if !p.Addr().Is4() || p.Bits() > 30 || !p.Contains(a) {
			continue
		}
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		host := uint32(1)<<(32-p.Bits()) - 1
		if v&host == 0 || v&host == host {
			return true
		}
	}
	return false
}

// localPrefixesAge is how long localPrefixes trusts its last reading.
const localPrefixesAge = 30 * time.Second

// local caches the interfaces' prefixes for localPrefixes.
var local struct {
	mu       sync.Mutex
	at       time.Time
	prefixes []netip.Prefix // replaced, never changed in place: callers keep it
}

// localPrefixes returns the prefixes of this machine's interface
// addresses, read again at most every localPrefixesAge.
func localPrefixes(now time.Time) []netip.Prefix {
	local.mu.Lock()
	defer local.mu.Unlock()
	if !local.at.IsZero() && now.Sub(local.at) < localPrefixesAge && !now.Before(local.at) {
		return local.prefixes
	}
	local.at = now
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return local.prefixes // the last reading
	}
	var ps []netip.Prefix
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ones, bits := ipn.Mask.Size()
		if ip4 := ipn.IP.To4(); ip4 != nil {
			if bits == 128 {
				ones -= 96
			}
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte(ip4)), ones))
		} else if ip, ok := netip.AddrFromSlice(ipn.IP); ok && bits == 128 {
			ps = append(ps, netip.PrefixFrom(ip, ones))
		}
	}
	local.prefixes = ps
	return ps
}
