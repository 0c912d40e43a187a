package peer

import (
	"net/netip"
	"time"
)

// reviveLocked brings back a peer that was marked gone but is talking again, and
// follows it to a new UDP address (n.mu held).
func (n *Node) reviveLocked(p *peerState, pkt Packet, now time.Time) {
	if !pkt.TCP && p.addr != pkt.From {
		n.movedLocked(p, pkt.From)
	}
	if !p.online && p.label != "" {
		n.comeOnlineLocked(p, now, false)
	}
}

func (n *Node) movedLocked(p *peerState, addr netip.AddrPort) {
	old := p.addr
	p.addr = addr
	if old.IsValid() && p.online {
		n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeMoved, OldAddr: old.String(), Addr: addr.String()})
	}
}

func (n *Node) comeOnlineLocked(p *peerState, now time.Time, restarted bool) {
	p.online = true
	p.nextPing = now.Add(n.tm.Heartbeat)
	p.knock = 0
	n.wakeLocked(p.nextPing) // heartbeats and expiry run from the timer
	// It may have been away for long: try UDP afresh; if it came back as a
	// new process, drop a TCP connection that may lead to its old self.
	p.rearm(true)
	if restarted {
		n.tr.Forget(p.addr)
	}
	n.emitLocked(Event{Kind: EvJoined, Peer: p.label, PeerID: p.id, Addr: p.addr.String()})
	n.signalChangeLocked()
	p.learned = 0
	n.startSharingLocked(p, now)
	for _, s := range n.statics {
		if s.addr == p.addr {
			s.answered = true
		}
	}
	n.pumpLocked(p, now)
}

// goOfflineLocked marks p gone and tells the user (n.mu held).
// reason is CodeQuit or CodeNoAnswer.
func (n *Node) goOfflineLocked(p *peerState, reason Code) {
	p.online = false
	p.knock = 0
	p.nextPing = time.Now().Add(time.Second) // first knock, if we owe it messages
	n.wakeLocked(p.nextPing)
	n.emitLocked(Event{Kind: EvLeft, Peer: p.label, PeerID: p.id, Code: reason})
	for _, m := range p.out.markPending() {
		n.emitLocked(Event{Kind: EvPending, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonPeerLeft, Code: CodePeerLeft, Left: reason})
	}
	p.rearm(false)
	if p.out.len() > 0 {
		n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeWaiting, Count: p.out.len()})
	}
	for _, s := range n.statics {
		if s.addr == p.addr {
			s.answered, s.interval = false, time.Second
			s.next = time.Now().Add(s.interval)
		}
	}
	n.signalChangeLocked()
}
