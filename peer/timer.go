package peer

import (
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// wakeLocked makes sure tick runs by deadline t: it kicks the timer loop only if
// t is earlier than the tick already planned, so that the messages of a
// busy window (whose retransmission times come after the earliest one) do
// not each cost a tick (n.mu held; never blocks).
func (n *Node) wakeLocked(t time.Time) {
	if !t.Before(n.timerAt) {
		return
	}
	n.timerAt = t
	if n.ticking {
		return // tick returns n.timerAt when it ends
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// timerLoop runs tick at the earliest deadline any peer has.
func (n *Node) timerLoop() {
	defer n.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-n.kick:
		case <-timer.C:
		}
		next := n.tick(time.Now())
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(time.Until(next))
	}
}

// tick does everything that is due: retransmissions, heartbeats, expiry,
// probes. It returns when it wants to run next.
func (n *Node) tick(now time.Time) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Deadlines set while ticking (by soon, or by wakeLocked from
	// transmitLocked and pumpLocked) all lower n.timerAt, which is when
	// tick runs next.
	n.timerAt = now.Add(time.Minute)
	n.ticking = true
	defer func() { n.ticking = false }()
	soon := func(t time.Time) {
		if t.Before(n.timerAt) {
			n.timerAt = t
		}
	}
	if n.closed {
		return n.timerAt
	}
	n.sess.sweep(now) // session.go: erase sessions past rejectAfter
	soon(now.Add(30 * time.Second))
	for _, p := range n.book.peers {
		if !p.online {
			// Knock on peers we still owe messages: when one comes back
			// (even restarted) it answers at once, without waiting for the
			// backed-off mDNS queries.
			if p.out.len() > 0 && p.addr.IsValid() {
				if !now.Before(p.nextPing) {
					n.sendHelloLocked(p, wire.FlagReply, zeroChallenge, nil)
					if !p.udpOK { // UDP may be what failed: knock over TCP too
						n.sendHelloLocked(p, wire.FlagReply, zeroChallenge, nil, pathTCP)
					}
					p.knock = min(max(2*p.knock, time.Second), n.tm.Heartbeat)
					p.nextPing = now.Add(p.knock)
				}
				soon(p.nextPing)
			}
			continue
		}
		if now.Sub(p.lastSeen) >= n.tm.Expire {
			n.goOfflineLocked(p, CodeNoAnswer)
			soon(p.nextPing)
			continue
		}
		soon(p.lastSeen.Add(n.tm.Expire))
		if !p.shareAt.IsZero() {
			if !now.Before(p.shareAt) {
				p.shareAt = time.Time{}
				n.shareBookLocked(p, now)
			} else {
				soon(p.shareAt)
			}
		}
		if !now.Before(p.nextPing) {
			n.pingLocked(p, now)
		}
		soon(p.nextPing)
		for _, m := range p.out.overdue(now, n.tm.FailAfter) {
			n.emitLocked(Event{Kind: EvPending, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonNoAnswer, Code: CodeNoAnswer})
		}
		n.pumpLocked(p, now)
		if t := p.out.deadline(n.tm.FailAfter); !t.IsZero() {
			soon(t)
		}
	}
	for _, s := range n.statics {
		if s.answered {
			continue
		}
		if !now.Before(s.next) {
			n.probeLocked(s)
			s.next = now.Add(s.interval)
			s.interval = min(2*s.interval, 30*time.Second)
		}
		soon(s.next)
	}
	return n.timerAt
}

// pingLocked sends a heartbeat over UDP, and over TCP too while UDP is in doubt,
// so that a peer only TCP reaches still hears from us (n.mu held).
func (n *Node) pingLocked(p *peerState, now time.Time) {
	p.pingID++
	p.pingSent = now
	p.nextPing = now.Add(n.tm.Heartbeat)
	if !n.cfg.TCPOnly && !p.tcpMode {
		n.sendLocked(p, &wire.Payload{Kind: wire.KindPing, PingID: p.pingID}, nil, pathAuto)
	}
	if !p.udpOK || n.cfg.TCPOnly || p.tcpMode {
		n.sendLocked(p, &wire.Payload{Kind: wire.KindPing, PingID: p.pingID}, nil, pathTCP)
	}
}

// probeLocked asks whoever is at a -peer address to say hello (n.mu held).
func (n *Node) probeLocked(s *static) {
	pkt := n.id.probe()
	if !n.cfg.TCPOnly {
		_ = n.tr.SendUDP(s.addr, pkt)
	}
	// UDP may be blocked: from the second try on, knock over TCP as well.
	if n.cfg.TCPOnly || s.tcpProbes {
		_ = n.tr.SendTCP(s.addr, pkt)
	}
	s.tcpProbes = true
}
