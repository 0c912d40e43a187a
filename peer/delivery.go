package peer

import (
	"github.com/p2pchat/p2pchat/internal/wire"
	"time"
)

// udpSilence is how long no UDP answer may come back from a peer before
// it is treated as unreachable over UDP.
const udpSilence = time.Second

// rearm makes every unacknowledged message to p start afresh (see
// outStream.rearm). fresh also forgets what we learned of the peer's
// transport, for a peer that came back or restarted (n.mu held).
func (p *peerState) rearm(fresh bool) {
	p.out.rearm()
	if fresh {
		p.udpOK = true
		p.srtt = 0
	}
}

// pumpLocked transmits what is due to p: retransmissions, and waiting messages as
// far as the window allows (n.mu held).
func (n *Node) pumpLocked(p *peerState, now time.Time) {
	if !p.online || n.closed {
		return
	}
	for _, m := range p.out.ready(now, n.tm.Window) {
		n.transmitLocked(p, m, now)
	}
}

// transmitLocked sends (or resends) m to p (n.mu held).
func (n *Node) transmitLocked(p *peerState, m *outMsg, now time.Time) {
	pl := &wire.Payload{Kind: wire.KindMsg, Stream: p.out.id, Seq: m.seq, Base: p.out.base(), Time: m.time.UnixMilli(), All: m.all, Text: m.text}
	if m.app != 0 {
		pl.Kind, pl.App, pl.All = wire.KindApp, m.app, false
	}
	if m.tries > 0 {
		n.stats.Retransmits++
	}
	usedTCP := n.sendLocked(p, pl, nil, n.routeLocked(p, m, now))
	if usedTCP {
		n.stats.TCPSends++
	}
	rto := n.rtoLocked(p)
	if usedTCP {
		rto = max(rto, time.Second) // TCP retransmits itself; we only cover a broken connection
	}
	p.out.sent(m, now, !usedTCP, rto, n.tm.MaxRTO)
	n.wakeLocked(m.nextTry)
}

// routeLocked chooses the way for a message: over UDP while UDP works, over TCP
// after its UDP tries; the peer as a whole moves to TCP only if no UDP
// answer at all came back lately (a lossy Wi-Fi drops some datagrams, a
// blocking one all of them) (n.mu held).
func (n *Node) routeLocked(p *peerState, m *outMsg, now time.Time) path {
	if m.udpTries >= n.tm.UDPTries && p.udpOK && !n.cfg.TCPOnly && !p.tcpMode && now.Sub(p.lastUDPAnswer) > udpSilence {
		p.udpOK = false
		n.log.Info("UDP unanswered, switching to TCP", "peer", p.label)
		n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeUDPSilent})
	}
	if !p.udpOK || m.udpTries >= n.tm.UDPTries {
		return pathTCP
	}
	return pathAuto
}

// rtoLocked is the first retransmission timeout for p.
func (n *Node) rtoLocked(p *peerState) time.Duration {
	if p.srtt > 0 {
		return max(n.tm.RTO, 4*p.srtt)
	}
	return n.tm.RTO
}

// path says how sendLocked should send a packet.
type path int

const (
	pathAuto path = iota // UDP, unless the peer or we asked for TCP or the packet is too big for a datagram
	pathTCP              // TCP
)

// sendLocked seals pl for p and sends it: on reply when given (the way a request
// came), else by way. This is the one place that decides between UDP and
// TCP. It reports whether TCP was used (n.mu held).
func (n *Node) sendLocked(p *peerState, pl *wire.Payload, reply func([]byte), way path) bool {
	n.counter++
	pl.Boot, pl.Counter, pl.ToBoot = n.boot, n.counter, p.boot()
	n.plain = pl.AppendMarshal(n.plain[:0])
	useTCP := way == pathTCP || n.cfg.TCPOnly || p.tcpMode || wire.DataHdr+len(n.plain)+wire.BoxOverhead > wire.MaxDatagram
	pkts := n.sess.seal(&p.key, n.plain, useTCP, time.Now()) // session.go: in p's session, or after a handshake
	clear(n.plain)
	if reply != nil { // the way the request came, whatever the size
		for _, o := range pkts {
			reply(o.b)
		}
		return false
	}
	n.sendPktsLocked(p, pkts, nil)
	return useTCP
}

// sendPktsLocked sends packets to p's address by UDP or TCP as each asks; with
// reply given, those that ask for UDP (and all when p has no address) go
// back on it instead (n.mu held).
func (n *Node) sendPktsLocked(p *peerState, pkts []outPkt, reply func([]byte)) {
	for _, o := range pkts {
		if reply != nil && (!o.tcp || !p.addr.IsValid()) {
			reply(o.b)
			continue
		}
		if !p.addr.IsValid() {
			continue
		}
		var err error
		if o.tcp || len(o.b) > wire.MaxDatagram {
			err = n.tr.SendTCP(p.addr, o.b)
		} else {
			err = n.tr.SendUDP(p.addr, o.b)
		}
		if err != nil {
			n.log.Debug("send", "peer", p.label, "tcp", o.tcp, "err", err)
		}
	}
}

// zeroChallenge: nothing to echo.
var zeroChallenge [16]byte

// sendHelloLocked tells p who we are, echoing echo (the challenge of the hello we
// answer, if any); a peer not in our book also gets a fresh challenge to
// echo before we take it in (n.mu held).
func (n *Node) sendHelloLocked(p *peerState, flags byte, echo [16]byte, reply func([]byte), way ...path) {
	if n.cfg.TCPOnly {
		flags |= wire.FlagTCP
	}
	pl := &wire.Payload{Kind: wire.KindHello, Flags: flags, Port: uint16(n.tr.LocalPort()), Name: n.name, Host: n.cfg.Host, Away: n.away, Echo: echo}
	if n.book.peers[p.key] != p {
		pl.Challenge = n.chal.make(&p.key, time.Now())
		pl.Flags |= wire.FlagReply
	}
	w := pathAuto
	if len(way) > 0 {
		w = way[0]
	}
	n.sendLocked(p, pl, reply, w)
}
