package peer

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Peers lists the peers that are online or have messages waiting, by name.
func (n *Node) Peers() []PeerInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []PeerInfo
	for _, p := range n.book.peers {
		if p.label != "" && (p.online || p.out.len() > 0) {
			out = append(out, p.info(n.cfg.TCPOnly))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Resolve finds a peer by what a user types: its display name ("bob" or
// "bob@laptop2"), or a nickname only one peer claims; with a Store also a
// name pinned to a key not seen in this run (it is then listed, offline,
// so that messages can wait for it). Use the returned ID to
// address it afterwards: display names can change, ids cannot.
func (n *Node) Resolve(name string) (PeerInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byName(name)
	if (p == nil || p.label == "") && n.durable() {
		// Not seen in this run, but a name pinned to a key: messages can
		// wait for it on disk until it turns up.
		if key, ok := n.book.pins.lookup(name); ok && key != n.id.Public {
			p = n.parkLocked(key, name, 0, 0)
		}
	}
	if p == nil || p.label == "" {
		return PeerInfo{}, fmt.Errorf("%w: %s", ErrUnknownPeer, name)
	}
	return p.info(n.cfg.TCPOnly), nil
}

// Peer returns what is known of the peer with id (PeerInfo.ID).
func (n *Node) Peer(id string) (PeerInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byID(id)
	if p == nil || p.label == "" {
		return PeerInfo{}, false
	}
	return p.info(n.cfg.TCPOnly), true
}

// Trust pins the nickname of the peer with id to its current key, after the
// user checked its fingerprint: from now on it is shown by its nickname, and
// whoever held the name before is not.
func (n *Node) Trust(id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byID(id)
	if p == nil || p.label == "" {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	if p.nick == n.name {
		return fmt.Errorf("%w: %s", ErrOwnName, p.label)
	}
	name := p.label
	n.announceLocked(n.book.trust(p, n.name, time.Now()))
	n.kickSave()
	n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeTrusted, OldName: name, Fingerprint: Fingerprint(&p.key)})
	return nil
}

// AddPeer makes the node probe addr (from -peer) until a node answers there:
// for networks where multicast does not get through.
func (n *Node) AddPeer(addr netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.statics = append(n.statics, &static{addr: addr, interval: time.Second})
	n.wakeLocked(time.Now())
}

// Discovered tells the node that discovery saw key at addr; the node says
// hello (authenticated, asking for an answer) unless it already talks to
// that peer there.
func (n *Node) Discovered(key [32]byte, addr netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.discoverLocked(key, addr, "mdns")
}

// discoverLocked says hello to key at addr, learned via via (n.mu held).
func (n *Node) discoverLocked(key [32]byte, addr netip.AddrPort, via string) {
	if key == n.id.Public || n.closed || !wire.CanonicalKey(&key) {
		return
	}
	p := n.book.peers[key]
	if p != nil && via == "mdns" && p.via == "traffic" {
		p.via = via // it said hello first, but mDNS finds it too (exchange.go)
	}
	if p != nil && p.online && p.addr == addr {
		return
	}
	if p == nil {
		n.hints.Put(key, via)
		p = n.strangerLocked(key)
		p.addr = addr
		n.sendHelloLocked(p, wire.FlagReply, zeroChallenge, nil) // p is not in the book until it answers our challenge
		return
	}
	old := p.addr
	p.addr = addr
	n.sendHelloLocked(p, wire.FlagReply, zeroChallenge, nil)
	p.addr = old // believe the new address only when the peer answers from it
}
