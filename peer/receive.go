package peer

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Bounds on what one peer can make us hold.
const (
	maxReorder   = 4096 // messages buffered ahead of a gap
	answerPeriod = time.Second
)

// handle processes one incoming packet. Anything that does not parse,
// authenticate or fit is dropped and counted, never shown.
func (n *Node) handle(pkt Packet) {
	o, err := ParseOuter(pkt.Data)
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if err != nil {
		n.stats.Dropped++
		if errors.Is(err, ErrVersion) {
			n.versionWarning(pkt.From.Addr(), o.Version)
		}
		return
	}
	if o.Key == n.id.Public {
		return // our own packet came back
	}
	p := n.book.peers[o.Key]
	switch o.Type {
	case TypeProbe:
		if n.mayAnswer(pkt.From.Addr(), now) {
			q := p
			if q == nil {
				if !n.budget.take(now) {
					n.stats.UnknownBudget++
					return
				}
				q = &peerState{key: o.Key, shared: n.id.sharedKey(&o.Key), udpOK: true}
			}
			n.sendHello(q, FlagReply, pkt.Reply)
		}
		return
	case TypeSealed:
	default:
		n.stats.Dropped++
		return
	}
	shared := (*[32]byte)(nil)
	if p != nil {
		shared = p.shared
	} else {
		if !n.budget.take(now) {
			n.stats.UnknownBudget++
			n.stats.Dropped++
			return
		}
		shared = n.id.sharedKey(&o.Key)
	}
	var pl Payload
	pl, n.opened, err = openInto(&o, shared, n.opened)
	if err != nil {
		n.stats.Dropped++
		if errors.Is(err, errOpen) {
			n.stats.Unauthentic++
		}
		n.log.Debug("drop", "from", pkt.From, "err", err)
		return
	}
	if p == nil {
		if pl.Kind != KindHello {
			// A peer that knows us but we do not know (we restarted, or
			// missed its hello): ask who it is; it will retransmit.
			if pl.Kind != KindBye && n.mayAnswer(pkt.From.Addr(), now) {
				q := &peerState{key: o.Key, shared: shared, udpOK: true}
				n.sendHello(q, FlagReply, pkt.Reply)
			}
			return
		}
		p = &peerState{key: o.Key, shared: shared, id: KeyID(&o.Key), udpOK: true}
	}
	if pl.ToBoot != n.boot && pl.Kind != KindHello {
		// Meant for an earlier run of ours (recorded and replayed, or the
		// sender has not heard we restarted): drop it, and tell the sender
		// who we are now so that an honest one sends again.
		n.stats.Dropped++
		n.stats.Replayed++
		if n.book.peers[o.Key] != nil && n.mayAnswer(pkt.From.Addr(), now) {
			n.sendHello(p, FlagReply, pkt.Reply)
		}
		return
	}
	if !p.win.check(pl.Boot, pl.Counter) {
		n.stats.Dropped++
		n.stats.Replayed++
		return
	}
	if n.book.peers[o.Key] == nil {
		if !n.makeRoom() {
			n.stats.Dropped++
			n.log.Debug("address book full, ignoring a new peer", "from", pkt.From)
			return
		}
		n.book.peers[o.Key] = p
		p.via = n.hints[o.Key]
		delete(n.hints, o.Key)
		if p.via == "" {
			p.via = "traffic"
			for _, s := range n.statics {
				if s.addr.Addr() == pkt.From.Addr() {
					p.via = "peer-flag"
				}
			}
		}
	}
	p.lastSeen = now
	switch pl.Kind {
	case KindHello:
		n.onHello(p, &pl, pkt, now)
	case KindBye:
		if p.online {
			n.goOffline(p, "quit")
		}
	case KindPing:
		n.send(p, &Payload{Kind: KindPong, PingID: pl.PingID}, pkt.Reply)
		n.revive(p, pkt, now)
	case KindPong:
		if !pkt.TCP {
			p.lastUDPAnswer = now
		}
		if !pkt.TCP && !p.udpOK && !n.cfg.TCPOnly && !p.tcpMode {
			p.udpOK = true
			n.emit(Event{Kind: EvInfo, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf("UDP to %s works again", p.display)})
		}
		if pl.PingID == p.pingID && !p.pingSent.IsZero() {
			n.rtt(p, now.Sub(p.pingSent))
		}
		n.revive(p, pkt, now)
	case KindMsg:
		n.onMessage(p, &pl, pkt)
		n.revive(p, pkt, now)
	case KindAck:
		if !pkt.TCP {
			p.lastUDPAnswer = now
		}
		n.onAck(p, &pl, now)
		n.revive(p, pkt, now)
	}
}

// maxPeers bounds the address book: a stranger minting keys cannot grow it
// without end.
const maxPeers = 512

// makeRoom reports whether a new peer may enter the book, forgetting one
// that is offline with nothing waiting for it if need be (n.mu held).
func (n *Node) makeRoom() bool {
	if len(n.book.peers) < maxPeers {
		return true
	}
	var oldest *peerState
	for _, p := range n.book.peers {
		if !p.online && len(p.out) == 0 && (oldest == nil || p.lastSeen.Before(oldest.lastSeen)) {
			oldest = p
		}
	}
	if oldest == nil {
		return false
	}
	delete(n.book.peers, oldest.key)
	delete(n.book.names, oldest.display)
	return true
}

// revive brings back a peer that was marked gone but is talking again, and
// follows it to a new UDP address (n.mu held).
func (n *Node) revive(p *peerState, pkt Packet, now time.Time) {
	if !pkt.TCP && p.addr != pkt.From {
		n.moved(p, pkt.From)
	}
	if !p.online && p.display != "" {
		n.comeOnline(p, now, false)
	}
}

func (n *Node) moved(p *peerState, addr netip.AddrPort) {
	old := p.addr
	p.addr = addr
	if old.IsValid() && p.online {
		n.emit(Event{Kind: EvInfo, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf("%s moved from %s to %s", p.display, old, addr)})
	}
}

func (n *Node) comeOnline(p *peerState, now time.Time, restarted bool) {
	p.online = true
	p.nextPing = now.Add(n.tm.Heartbeat)
	p.knock = 0
	n.wake(p.nextPing) // heartbeats and expiry run from the timer
	// It may have been away for long: try UDP afresh; if it came back as a
	// new process, drop a TCP connection that may lead to its old self.
	p.rearm(true)
	if restarted {
		n.tr.Forget(p.addr)
	}
	n.emit(Event{Kind: EvJoined, Peer: p.display, PeerID: p.id, Addr: p.addr.String()})
	n.signalChange()
	for _, s := range n.statics {
		if s.addr == p.addr {
			s.answered = true
		}
	}
	n.pump(p, now)
}

// onHello learns or refreshes a peer (n.mu held).
func (n *Node) onHello(p *peerState, pl *Payload, pkt Packet, now time.Time) {
	addr := pkt.From
	if pkt.TCP {
		addr = netip.AddrPortFrom(pkt.From.Addr(), pl.Port)
	}
	restarted := p.boot != 0 && pl.Boot > p.boot
	p.boot = pl.Boot
	p.tcpMode = pl.Flags&FlagTCP != 0
	p.host, p.away = pl.Host, pl.Away
	oldDisplay, oldNick := p.display, p.nick
	p.nick = pl.Name
	var impostors []*peerState
	if oldNick != p.nick {
		impostors = n.book.assignNames(n.name)
		if oldDisplay != "" && oldDisplay != p.display && p.online {
			n.emit(Event{Kind: EvRenamed, OldName: oldDisplay, Peer: p.display, PeerID: p.id})
		}
	}
	defer func() { // after the joined notice, so the warning names someone known
		for _, q := range impostors {
			n.impostorWarning(q)
		}
	}()
	if p.addr != addr {
		n.moved(p, addr)
	}
	// Answer first: a peer that restarted must know us before our queued
	// messages reach it, or it drops them.
	if pl.Flags&FlagReply != 0 || pl.ToBoot != n.boot {
		n.sendHello(p, 0, pkt.Reply) // (a stale to-boot: the peer missed our restart)
	}
	if !p.online {
		n.comeOnline(p, now, restarted)
	} else if restarted {
		// The new process knows nothing of our messages: send them again.
		p.rearm(true)
		n.tr.Forget(p.addr)
		n.pump(p, now)
	}
	for _, s := range n.statics {
		if s.addr == addr || s.addr == pkt.From {
			s.answered = true
		}
	}
}

// impostorWarning tells the user that a peer claims a name pinned to
// another key (n.mu held).
func (n *Node) impostorWarning(p *peerState) {
	if p.nick == n.name {
		n.emit(Event{Kind: EvWarning, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf(
			"another peer also calls itself %s (your name); it is shown as %s", p.nick, p.display)})
		return
	}
	n.emit(Event{Kind: EvWarning, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf(
		"a peer with a DIFFERENT KEY claims the name %s: it is shown as %s, not as %s. "+
			"It may be an impostor, or %s reinstalled p2pchat. Compare '/whois %s' with %s in person, then '/trust %s' to accept the new key.",
		p.nick, p.display, p.nick, p.nick, p.display, p.nick, p.display)})
}

// onMessage delivers a peer's messages to the user once each and in the
// order sent, and acknowledges every one it holds. The acknowledgement
// leaves first: handing the messages to the user wakes another goroutine,
// and the sender should not wait for that (n.mu held).
func (n *Node) onMessage(p *peerState, pl *Payload, pkt Packet) {
	if p.display == "" {
		return // not introduced yet: no ack, it will come again
	}
	if pl.Boot != p.inBoot {
		p.inBoot, p.inNext, p.inBuf = pl.Boot, pl.Base, nil
	}
	var ready []Payload // in order, to deliver after the ack
	if pl.Base > p.inNext {
		// The sender stopped waiting for older messages (a previous run of
		// ours acknowledged them): skip ahead, delivering what is buffered.
		// Walk the buffer, not the range: base is the peer's to choose.
		skipped := make([]uint64, 0, len(p.inBuf))
		for s := range p.inBuf {
			if s < pl.Base {
				skipped = append(skipped, s)
			}
		}
		slices.Sort(skipped)
		for _, s := range skipped {
			ready = append(ready, p.inBuf[s])
			delete(p.inBuf, s)
		}
		p.inNext = pl.Base
	}
	switch {
	case pl.Seq < p.inNext:
		n.stats.Duplicates++
	case pl.Seq >= p.inNext+maxReorder:
		return // too far ahead: no ack, it will come again
	case pl.Seq == p.inNext && len(p.inBuf) == 0:
		ready = append(ready, *pl) // in order, nothing buffered: the usual case
		p.inNext++
	default:
		if _, dup := p.inBuf[pl.Seq]; dup {
			n.stats.Duplicates++
			break
		}
		if p.inBuf == nil {
			p.inBuf = map[uint64]Payload{}
		}
		p.inBuf[pl.Seq] = *pl
		for {
			m, ok := p.inBuf[p.inNext]
			if !ok {
				break
			}
			delete(p.inBuf, p.inNext)
			ready = append(ready, m)
			p.inNext++
		}
	}
	n.send(p, &Payload{Kind: KindAck, StreamBoot: pl.Boot, Seq: pl.Seq}, pkt.Reply)
	for i := range ready {
		n.deliver(p, &ready[i])
	}
}

func (n *Node) deliver(p *peerState, m *Payload) {
	to := n.name
	if m.All {
		to = "all"
	}
	n.emit(Event{Kind: EvMessage, Peer: p.display, PeerID: p.id, To: to, Text: m.Text, Time: time.UnixMilli(m.Time)})
	if n.away != "" && !m.All && !p.awayAnswered && len(p.out) < n.tm.QueueLimit {
		// Away: answer the first direct message once, as a normal message.
		p.awayAnswered = true
		n.nextID++
		p.nextSeq++
		p.out = append(p.out, &outMsg{id: n.nextID, seq: p.nextSeq, text: AwayPrefix + n.away, time: time.Now()})
		n.pump(p, time.Now())
	}
}

// AwayPrefix starts the automatic answer of a node that is away.
const AwayPrefix = "[away] "

// onAck retires an acknowledged message (n.mu held).
func (n *Node) onAck(p *peerState, pl *Payload, now time.Time) {
	if pl.StreamBoot != n.boot {
		return
	}
	for i, m := range p.out {
		if m.seq != pl.Seq {
			continue
		}
		if m.tries == 1 && !m.first.IsZero() {
			n.rtt(p, now.Sub(m.first))
		}
		if i == 0 { // the usual case: acks come in order
			p.out[0] = nil
			p.out = p.out[1:]
		} else {
			p.out = append(p.out[:i], p.out[i+1:]...)
		}
		n.emit(Event{Kind: EvDelivered, Peer: p.display, PeerID: p.id, ID: m.id})
		if m.failed {
			n.emit(Event{Kind: EvInfo, Peer: p.display, PeerID: p.id, Text: fmt.Sprintf("delivered to %s after all: %s", p.display, preview(m.text))})
		}
		n.signalChange()
		n.pump(p, now)
		return
	}
}

func (n *Node) rtt(p *peerState, sample time.Duration) {
	if p.srtt == 0 {
		p.srtt = sample
	} else {
		p.srtt = (7*p.srtt + sample) / 8
	}
}

// mayAnswer rate-limits answers to strangers, per source address, so that
// spoofed probes cannot turn us into an amplifier (n.mu held).
func (n *Node) mayAnswer(from netip.Addr, now time.Time) bool {
	if last, ok := n.answers[from]; ok && now.Sub(last) < answerPeriod/10 {
		return false
	}
	if len(n.answers) > 1024 {
		clear(n.answers)
	}
	n.answers[from] = now
	return true
}

// versionWarning tells the user once per address about a peer that speaks
// another protocol version (n.mu held).
func (n *Node) versionWarning(from netip.Addr, v byte) {
	if n.vwarn[from] || len(n.vwarn) > 256 {
		return
	}
	n.vwarn[from] = true
	n.emit(Event{Kind: EvWarning, Text: fmt.Sprintf("the p2pchat at %s runs an incompatible version (protocol %d, this one speaks %d): update both to talk", from, v, Version)})
}

func preview(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
