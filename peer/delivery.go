package peer

import (
	"encoding/binary"
	"fmt"
	"time"
)

// outMsg is one message to one peer, kept until that peer acknowledges it.
type outMsg struct {
	id, seq  uint64
	text     string
	all      bool
	time     time.Time // when the user sent it
	tries    int       // transmissions so far (0: waiting for the window)
	udpTries int
	first    time.Time // first transmission
	nextTry  time.Time
	failed   bool // the user was told it was not delivered
}

// udpSilence is how long no UDP answer may come back from a peer before
// it is treated as unreachable over UDP.
const udpSilence = time.Second

// rearm makes every unacknowledged message to p start afresh: sent again at
// once, first over UDP, with no round-trip sample taken across the gap (an
// absence is not a round trip). fresh also forgets what we learned of the
// peer's transport, for a peer that came back or restarted (n.mu held).
func (p *peerState) rearm(fresh bool) {
	for _, m := range p.out {
		m.tries, m.udpTries, m.first = 0, 0, time.Time{}
	}
	if fresh {
		p.udpOK = true
		p.srtt = 0
	}
}

// pump transmits waiting messages to p as far as the window allows (n.mu held).
func (n *Node) pump(p *peerState, now time.Time) {
	if !p.online || n.closed {
		return
	}
	inFlight := 0
	for _, m := range p.out {
		if m.tries > 0 {
			inFlight++
			continue
		}
		if inFlight >= n.tm.Window {
			return
		}
		n.transmit(p, m, now)
		inFlight++
	}
}

// transmit sends (or resends) m to p: over UDP while UDP works and the
// message fits a datagram, else over TCP (n.mu held).
func (n *Node) transmit(p *peerState, m *outMsg, now time.Time) {
	pl := &Payload{Kind: KindMsg, Seq: m.seq, Base: p.out[0].seq, Time: m.time.UnixMilli(), All: m.all, Text: m.text}
	tcp := n.cfg.TCPOnly || p.tcpMode || !p.udpOK || m.udpTries >= n.tm.UDPTries
	// This message goes over TCP after its UDP tries; the peer as a whole
	// only if no UDP answer at all came back lately (a lossy Wi-Fi drops some
	// datagrams, a blocking one all of them).
	if m.udpTries >= n.tm.UDPTries && p.udpOK && !n.cfg.TCPOnly && !p.tcpMode && now.Sub(p.lastUDPAnswer) > udpSilence {
		p.udpOK = false
		n.log.Info("UDP unanswered, switching to TCP", "peer", p.display)
		n.emit(Event{Kind: EvInfo, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf("UDP to %s gets no answer: using TCP", p.display)})
	}
	if m.tries > 0 {
		n.stats.Retransmits++
	}
	usedTCP := n.send(p, pl, nil, tcp)
	if usedTCP {
		n.stats.TCPSends++
	} else {
		m.udpTries++
	}
	m.tries++
	if m.first.IsZero() {
		m.first = now
	}
	rto := n.rto(p)
	if usedTCP {
		rto = max(rto, time.Second) // TCP retransmits itself; we only cover a broken connection
	}
	for i := 1; i < m.tries && rto < n.tm.MaxRTO; i++ {
		rto *= 2
	}
	m.nextTry = now.Add(min(rto, n.tm.MaxRTO))
	n.wake(m.nextTry)
}

// rto is the first retransmission timeout for p.
func (n *Node) rto(p *peerState) time.Duration {
	if p.srtt > 0 {
		return max(n.tm.RTO, 4*p.srtt)
	}
	return n.tm.RTO
}

// send seals pl for p and sends it: on reply when given (the way a request
// came), else over TCP when tcp is set or the packet is too big for a
// datagram, else over UDP. It reports whether TCP was used (n.mu held).
func (n *Node) send(p *peerState, pl *Payload, reply func([]byte), tcp ...bool) bool {
	n.counter++
	pl.Boot, pl.Counter, pl.ToBoot = n.boot, n.counter, p.boot
	// The nonce never repeats under a key: this run's random prefix, then
	// the counter (both directions between two peers share the key; the
	// prefixes tell them apart).
	var nonce [24]byte
	copy(nonce[:], n.noncePrefix[:])
	binary.BigEndian.PutUint64(nonce[len(n.noncePrefix):], n.counter)
	var pkt []byte
	pkt, n.plain = n.id.sealNonce(make([]byte, 0, sealedHdr+boxOverhead+innerHdr+64+len(pl.Text)), p.shared, pl, &nonce, n.plain)
	if reply != nil {
		reply(pkt)
		return false
	}
	useTCP := (len(tcp) > 0 && tcp[0]) || n.cfg.TCPOnly || p.tcpMode || len(pkt) > MaxDatagram
	if !p.addr.IsValid() {
		return useTCP
	}
	var err error
	if useTCP {
		err = n.tr.SendTCP(p.addr, pkt)
	} else {
		err = n.tr.SendUDP(p.addr, pkt)
	}
	if err != nil {
		n.log.Debug("send", "peer", p.display, "kind", pl.Kind, "tcp", useTCP, "err", err)
	}
	return useTCP
}

// sendHello tells p who we are, over TCP if tcp is given and true (n.mu held).
func (n *Node) sendHello(p *peerState, flags byte, reply func([]byte), tcp ...bool) {
	if n.cfg.TCPOnly {
		flags |= FlagTCP
	}
	n.send(p, &Payload{Kind: KindHello, Flags: flags, Port: uint16(n.tr.LocalPort()), Name: n.name, Host: n.cfg.Host, Away: n.away}, reply, tcp...)
}

// wake makes sure tick runs by deadline t: it kicks the timer loop only if
// t is earlier than the tick already planned, so that the messages of a
// busy window (whose retransmission times come after the earliest one) do
// not each cost a tick (n.mu held; never blocks).
func (n *Node) wake(t time.Time) {
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
	// Deadlines set while ticking (by soon, or by wake from transmit and
	// pump) all lower n.timerAt, which is when tick runs next.
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
	for _, p := range n.book.peers {
		if !p.online {
			// Knock on peers we still owe messages: when one comes back
			// (even restarted) it answers at once, without waiting for the
			// backed-off mDNS queries.
			if len(p.out) > 0 && p.addr.IsValid() {
				if !now.Before(p.nextPing) {
					n.sendHello(p, FlagReply, nil)
					if !p.udpOK { // UDP may be what failed: knock over TCP too
						n.sendHello(p, FlagReply, nil, true)
					}
					p.knock = min(max(2*p.knock, time.Second), n.tm.Heartbeat)
					p.nextPing = now.Add(p.knock)
				}
				soon(p.nextPing)
			}
			continue
		}
		if now.Sub(p.lastSeen) >= n.tm.Expire {
			n.goOffline(p, "no answer")
			soon(p.nextPing)
			continue
		}
		soon(p.lastSeen.Add(n.tm.Expire))
		if !now.Before(p.nextPing) {
			n.ping(p, now)
		}
		soon(p.nextPing)
		for _, m := range p.out {
			if m.tries == 0 {
				continue
			}
			if !m.failed && now.Sub(m.first) >= n.tm.FailAfter {
				m.failed = true
				n.emit(Event{Kind: EvPending, Peer: p.display, PeerID: p.id, ID: m.id, Reason: ReasonNoAnswer, Text: "no answer (still trying)"})
			}
			if !now.Before(m.nextTry) {
				n.transmit(p, m, now)
			}
			soon(m.nextTry)
			if !m.failed {
				soon(m.first.Add(n.tm.FailAfter))
			}
		}
		n.pump(p, now)
	}
	for _, s := range n.statics {
		if s.answered {
			continue
		}
		if !now.Before(s.next) {
			n.probe(s)
			s.next = now.Add(s.interval)
			s.interval = min(2*s.interval, 30*time.Second)
		}
		soon(s.next)
	}
	return n.timerAt
}

// ping sends a heartbeat over UDP, and over TCP too while UDP is in doubt,
// so that a peer only TCP reaches still hears from us (n.mu held).
func (n *Node) ping(p *peerState, now time.Time) {
	p.pingID++
	p.pingSent = now
	p.nextPing = now.Add(n.tm.Heartbeat)
	if !n.cfg.TCPOnly && !p.tcpMode {
		n.send(p, &Payload{Kind: KindPing, PingID: p.pingID}, nil, false)
	}
	if !p.udpOK || n.cfg.TCPOnly || p.tcpMode {
		n.send(p, &Payload{Kind: KindPing, PingID: p.pingID}, nil, true)
	}
}

// probe asks whoever is at a -peer address to say hello (n.mu held).
func (n *Node) probe(s *static) {
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

// goOffline marks p gone and tells the user (n.mu held).
func (n *Node) goOffline(p *peerState, reason string) {
	p.online = false
	p.knock = 0
	p.nextPing = time.Now().Add(time.Second) // first knock, if we owe it messages
	n.wake(p.nextPing)
	n.emit(Event{Kind: EvLeft, Peer: p.display, PeerID: p.id, Text: reason})
	for _, m := range p.out {
		if !m.failed {
			m.failed = true
			n.emit(Event{Kind: EvPending, Peer: p.display, PeerID: p.id, ID: m.id, Reason: ReasonPeerLeft, Text: fmt.Sprintf("%s left (%s); it will be delivered if %s comes back", p.display, reason, p.display)})
		}
	}
	p.rearm(false)
	if len(p.out) > 0 {
		n.emit(Event{Kind: EvInfo, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf("%d messages wait for %s", len(p.out), p.display)})
	}
	for _, s := range n.statics {
		if s.addr == p.addr {
			s.answered, s.interval = false, time.Second
			s.next = time.Now().Add(s.interval)
		}
	}
	n.signalChange()
}
