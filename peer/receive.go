package peer

import (
	"errors"
	"net/netip"
	"time"

	"github.com/p2pchat/p2pchat/internal/rate"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// handle processes one incoming packet. Anything that does not parse,
// authenticate or fit is dropped and counted, never shown.
func (n *Node) handle(pkt Packet) {
	o, err := wire.ParseOuter(pkt.Data)
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if err != nil {
		n.stats.Dropped++
		if errors.Is(err, wire.ErrVersion) {
			n.stats.OldVersion++
			n.versionWarningLocked(&o, pkt.From, now)
		}
		return
	}
	if o.Key == n.id.Public {
		return // our own packet came back
	}
	p := n.book.peers[o.Key]
	switch o.Type {
	case wire.TypeProbe:
		n.onProbeLocked(&o, p, pkt, now)
		return
	case wire.TypeInit, wire.TypeResp, wire.TypeData:
	default:
		n.stats.Dropped++
		return
	}
	// An initiation from a key we hold no session with costs DH operations:
	// a stranger's takes from the strangers' budget; a peer in the book's
	// is read (its later ones are bounded per key, session.go).
	res, err := n.sess.open(&o, now, func() bool { return (p != nil && !p.parked) || n.strangerCostLocked(now) })
	q := p
	if q == nil {
		q = n.strangerLocked(o.Key)
	}
	for _, r := range res.reply {
		pkt.Reply(r.b)
	}
	n.sendPktsLocked(q, res.flush, pkt.Reply)
	if err != nil {
		n.stats.Dropped++
		switch {
		case errors.Is(err, errOpen), errors.Is(err, errHandshake):
			n.stats.Unauthentic++
		case errors.Is(err, errCounter):
			n.stats.Replayed++
		case errors.Is(err, errBusy):
			if p == nil {
				n.stats.UnknownBudget++
			}
		case errors.Is(err, errNoSession) && o.Type == wire.TypeData:
			// We restarted, or erased the session: a handshake brings the
			// sender back (an honest one sends again).
			n.stats.NoSession++
			if (p != nil || n.strangerCostLocked(now)) && n.mayAnswerLocked(pkt.From.Addr(), now) {
				n.sendPktsLocked(q, n.sess.restart(&o.Key, now), pkt.Reply)
			}
		}
		n.log.Debug("drop", "from", pkt.From, "type", o.Type, "err", err)
		return
	}
	if o.Type == wire.TypeResp || (res.data && pkt.Authenticated != nil) {
		if pkt.Authenticated != nil {
			pkt.Authenticated()
		}
	}
	if res.fresh && p != nil && !p.parked && p.label != "" {
		// The peer started a session: it may have restarted, or lost what
		// we sent in a session it no longer holds. Our hello tells it who
		// we are now (a restarted one answers with its own), the way the
		// packet came (a peer that moved is believed only once it answers).
		n.sendHelloLocked(p, wire.FlagReply, zeroChallenge, pkt.Reply)
	}
	if !res.data || len(res.plain) == 0 {
		return // a handshake, or a keepalive
	}
	var pl wire.Payload
	pl, err = wire.ParsePayload(res.plain)
	clear(res.plain)
	if err != nil {
		n.stats.Dropped++
		n.log.Debug("drop", "from", pkt.From, "err", err)
		return
	}
	if p == nil || p.parked {
		n.fromStrangerLocked(o.Key, &pl, pkt, now, p)
		return
	}
	if pl.ToBoot != n.boot && pl.Kind != wire.KindHello {
		// Meant for an earlier run of ours (recorded and replayed, or the
		// sender has not heard we restarted): drop it, and tell the sender
		// who we are now so that an honest one sends again.
		n.stats.Dropped++
		n.stats.Replayed++
		if n.mayAnswerLocked(pkt.From.Addr(), now) {
			n.sendHelloLocked(p, wire.FlagReply, zeroChallenge, pkt.Reply)
		}
		return
	}
	ok, restarted := p.win.checkAt(pl.Boot, pl.Counter, now)
	if !ok && n.olderBootLocked(p, &pl, pkt, now) { // replay.go: a restart with the clock stepped back
		ok, restarted = true, true
	}
	if !ok {
		n.stats.Dropped++
		n.stats.Replayed++
		return
	}
	p.lastSeen = now
	n.dispatchLocked(p, &pl, pkt, now, restarted)
}

// dispatchLocked handles an authenticated, fresh packet of a peer in the book.
func (n *Node) dispatchLocked(p *peerState, pl *wire.Payload, pkt Packet, now time.Time, restarted bool) {
	switch pl.Kind {
	case wire.KindHello:
		n.onHelloLocked(p, pl, pkt, now, restarted)
	case wire.KindBye:
		if p.online {
			n.goOfflineLocked(p, CodeQuit)
		}
	case wire.KindPing:
		n.sendLocked(p, &wire.Payload{Kind: wire.KindPong, PingID: pl.PingID}, pkt.Reply, pathAuto)
		n.reviveLocked(p, pkt, now)
	case wire.KindPong:
		if !pkt.TCP {
			p.lastUDPAnswer = now
		}
		if !pkt.TCP && !p.udpOK && !n.cfg.TCPOnly && !p.tcpMode {
			p.udpOK = true
			n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeUDPBack})
		}
		if pl.PingID == p.pingID && !p.pingSent.IsZero() {
			n.rttLocked(p, now.Sub(p.pingSent))
		}
		n.reviveLocked(p, pkt, now)
	case wire.KindMsg, wire.KindApp:
		n.onMessageLocked(p, pl, pkt, now)
		n.reviveLocked(p, pkt, now)
	case wire.KindAck:
		if !pkt.TCP {
			p.lastUDPAnswer = now
		}
		n.onAckLocked(p, pl, now)
		n.reviveLocked(p, pkt, now)
	case wire.KindOffer, wire.KindAccept, wire.KindReject, wire.KindCancel:
		n.onFileLocked(p, pl) // files.go
		n.reviveLocked(p, pkt, now)
	case wire.KindPeers:
		n.onPeersLocked(p, pl, now)
	case wire.KindAppOnce:
		n.onAppOnceLocked(p, pl) // app.go
		n.reviveLocked(p, pkt, now)
	}
}

// knownAddr reports whether a peer in the book was last heard from at
// address a: the real transport keeps a reserve of TCP slots for those
// (net_transport.go). Called from the transport's accept loop, never with
// n.mu held.
func (n *Node) knownAddr(a netip.Addr) bool {
	a = a.Unmap()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.book.peers {
		if p.addr.Addr().Unmap() == a && p.label != "" {
			return true
		}
	}
	return false
}

// strangerLocked is a peer that is not in the book: enough to talk to it, nothing
// remembered (n.mu held).
func (n *Node) strangerLocked(key [32]byte) *peerState {
	return &peerState{key: key, id: KeyID(&key), udpOK: true}
}

// strangerCostLocked takes what an initiation from a key not in the book costs
// from the strangers' budget, reporting whether it was there (n.mu held).
func (n *Node) strangerCostLocked(now time.Time) bool {
	for range hsStrangerCost {
		if !n.budget.Take(now) {
			return false
		}
	}
	return true
}

// fromStrangerLocked handles an authenticated packet from a key not in the book.
// Only a hello that echoes a fresh challenge of ours takes it in: so a
// recorded hello, and what was recorded after it, cannot bring back a peer
// we forgot. Everything else gets our hello with a challenge, so that an
// honest peer (one we forgot, or that knows us from before our restart)
// answers it and then sends again (n.mu held).
//
// A parked peer (durable.go: in the book only so that messages can wait
// for it) is a stranger too until it answers.
func (n *Node) fromStrangerLocked(key [32]byte, pl *wire.Payload, pkt Packet, now time.Time, parked *peerState) {
	fresh := false
	if pl.Kind == wire.KindHello {
		ok, made := n.chal.valid(&key, pl.Echo, now)
		fresh = ok && n.book.mayReturn(key, made)
	}
	if !fresh {
		// A hello is answered at once (opening it took the strangers'
		// budget already, and the answer is no larger); anything else
		// within the answer budgets (mayAnswerLocked).
		if pl.Kind == wire.KindHello || (pl.Kind != wire.KindBye && n.mayAnswerLocked(pkt.From.Addr(), now)) {
			q := n.strangerLocked(key)
			var echo [16]byte
			if pl.Kind == wire.KindHello {
				echo = pl.Challenge
			}
			n.sendHelloLocked(q, wire.FlagReply, echo, pkt.Reply)
		}
		return
	}
	p := parked
	if p != nil {
		// It gets its label afresh from its hello, with the warnings a
		// newcomer's label brings (its parked label was a guess).
		p.parked = false
		n.book.unlabel(p)
	} else {
		p = n.strangerLocked(key)
		if !n.book.admit(p) {
			n.stats.Dropped++
			n.log.Debug("address book full, ignoring a new peer", "from", pkt.From)
			return
		}
		p.out = newOutStream(newStreamID())
		n.takePositionLocked(p)
	}
	p.win.floorAt(pl.Boot, pl.Counter, now)
	p.via, _ = n.hints.Get(key)
	n.hints.Remove(key)
	if p.via == "" {
		p.via = "traffic"
		for _, s := range n.statics {
			if s.addr.Addr() == pkt.From.Addr() {
				p.via = "peer-flag"
			}
		}
	}
	p.lastSeen = now
	// It took us in before we took it in: what it knows of us may be older
	// than what we are now (a new name or away text), so tell it.
	pl.Flags |= wire.FlagReply
	n.onHelloLocked(p, pl, pkt, now, false)
}

// onHelloLocked learns or refreshes a peer (n.mu held).
func (n *Node) onHelloLocked(p *peerState, pl *wire.Payload, pkt Packet, now time.Time, restarted bool) {
	addr := pkt.From
	if pkt.TCP {
		addr = netip.AddrPortFrom(pkt.From.Addr(), pl.Port)
	}
	p.tcpMode = pl.Flags&wire.FlagTCP != 0
	p.host, p.away = pl.Host, pl.Away
	changes := n.book.setNick(p, pl.Name, n.name)
	var first []labelChange // warnings about a new peer's label go after its joined notice
	for _, c := range changes {
		if c.old == "" {
			first = append(first, c)
		} else {
			n.announceLocked([]labelChange{c})
		}
	}
	if p.addr != addr {
		n.movedLocked(p, addr)
	}
	// Answer first: a peer that restarted must know us before our queued
	// messages reach it, or it drops them.
	if pl.Flags&wire.FlagReply != 0 || pl.ToBoot != n.boot || pl.Challenge != zeroChallenge {
		n.sendHelloLocked(p, 0, pl.Challenge, pkt.Reply) // (a stale to-boot: the peer missed our restart)
	}
	if !p.online {
		n.comeOnlineLocked(p, now, restarted)
	} else if restarted {
		// The new process knows nothing of our messages: send them again.
		p.rearm(true)
		n.tr.Forget(p.addr)
		n.pumpLocked(p, now)
	}
	n.announceLocked(first)
	for _, s := range n.statics {
		if s.addr == addr || s.addr == pkt.From {
			s.answered = true
		}
	}
}

// onMessageLocked shows a peer's messages to the user once each and in the order
// sent, and acknowledges every one it takes. The acknowledgement leaves
// first: handing the messages to the user wakes another goroutine, and the
// sender should not wait for that. A message the user side has no room for
// is neither taken nor acknowledged: the sender keeps it and sends it again
// (n.mu held).
func (n *Node) onMessageLocked(p *peerState, pl *wire.Payload, pkt Packet, now time.Time) {
	if p.label == "" {
		return // not introduced yet: no ack, it will come again
	}
	if !n.roomForLocked(p, len(pl.Text)) {
		n.stats.Backpressure++
		return
	}
	ready, verdict := p.in.receive(pl, &n.reorder, n.ready[:0])
	switch verdict {
	case inRefused:
		n.stats.NoRoom++
	case inDuplicate:
		n.stats.Duplicates++
	}
	if n.mayAckLocked(p, pl, verdict) {
		n.sendLocked(p, &wire.Payload{Kind: wire.KindAck, Stream: pl.Stream, Seq: pl.Seq}, pkt.Reply, pathAuto)
	}
	n.takeLocked(p, ready) // durable.go: with a Store, acknowledged once on disk
	for i := range ready {
		ready[i] = inMsg{}
	}
	n.ready = ready[:0]
	if len(ready) > 0 && n.book.exchanged(p, n.name, now) {
		n.kickSave()
	}
}

func (n *Node) deliverLocked(p *peerState, m *inMsg) {
	if m.app != 0 {
		n.emitForLocked(p, Event{Kind: EvApp, App: m.app, Key: p.key, Peer: p.label, PeerID: p.id, Text: m.text, Time: time.UnixMilli(m.time), Idx: m.idx})
		return
	}
	to := n.name
	if m.all {
		to = "all"
	}
	n.emitForLocked(p, Event{Kind: EvMessage, Peer: p.label, PeerID: p.id, To: to, Text: m.text, Time: time.UnixMilli(m.time), Idx: m.idx})
	if n.away != "" && !m.all && !p.awayAnswered && p.out.len() < n.tm.QueueLimit {
		// Away: answer the first direct message once, as a normal message.
		p.awayAnswered = true
		n.nextID++
		n.queueLocked(p.id, []queuedMsg{{p, n.pushLocked(p, n.nextID, AwayPrefix+n.away, false, time.Now())}}, false)
	}
}

// AwayPrefix starts the automatic answer of a node that is away.
const AwayPrefix = "[away] "

// onAckLocked retires an acknowledged message (n.mu held).
func (n *Node) onAckLocked(p *peerState, pl *wire.Payload, now time.Time) {
	if pl.Stream != p.out.id {
		return
	}
	m, sample := p.out.ack(pl.Seq, now)
	if m == nil {
		return
	}
	n.ackedLocked(p, m)
	if sample > 0 {
		n.rttLocked(p, sample)
	}
	n.emitLocked(Event{Kind: EvDelivered, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app})
	if m.pending && m.app == 0 { // an application words its own payloads
		n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeDeliveredLate, Text: preview(m.text)})
	}
	if n.book.exchanged(p, n.name, now) {
		n.kickSave()
	}
	n.signalChangeLocked()
	n.pumpLocked(p, now)
}

func (n *Node) rttLocked(p *peerState, sample time.Duration) {
	if p.srtt == 0 {
		p.srtt = sample
	} else {
		p.srtt = (7*p.srtt + sample) / 8
	}
}

// onProbeLocked answers a probe (wire.go has the exchange): a plain probe over
// UDP with a cookie probe, a cookie probe with its echo, the echo of a
// cookie of ours (the prober proved its address) and any probe over TCP
// with our hello. Every answer is within the answer budgets (n.mu held).
func (n *Node) onProbeLocked(o *wire.Outer, p *peerState, pkt Packet, now time.Time) {
	kind, cookie := wire.ParseProbe(pkt.Data)
	hello := pkt.TCP
	switch {
	case hello:
	case kind == wire.ProbeEcho:
		if !n.chal.validCookie(&o.Key, pkt.From, cookie, now) {
			n.stats.Dropped++
			n.stats.ProbesUnproven++
			return
		}
		hello = true
	case kind == wire.ProbeCookie:
	default:
		cookie = n.chal.cookie(&o.Key, pkt.From, now)
	}
	if !n.mayAnswerLocked(pkt.From.Addr(), now) {
		return
	}
	switch {
	case hello:
		q := p
		if q == nil {
			if !n.budget.Take(now) {
				n.stats.UnknownBudget++
				return
			}
			q = n.strangerLocked(o.Key)
		}
		n.sendHelloLocked(q, wire.FlagReply, zeroChallenge, pkt.Reply)
	case kind == wire.ProbeCookie:
		pkt.Reply(wire.AppendProbe(make([]byte, 0, wire.CookieProbeLen), &n.id.Public, wire.ProbeEcho, &cookie))
	default:
		pkt.Reply(wire.AppendProbe(make([]byte, 0, wire.CookieProbeLen), &n.id.Public, wire.ProbeCookie, &cookie))
	}
}

// answerLimiter bounds the answers to strangers: a token bucket per source
// prefix (IPv4 /24, IPv6 /64: what one spoofer, or one victim, may hold),
// answerRate a second and answerBurst at once, and one bucket for all of
// them together, probeAnswerRate a second. Whatever a stranger spoofs, one
// victim gets at most answerRate answers a second, and the node sends at
// most probeAnswerRate to everyone.
//
// The prefixes' buckets are kept for the maxAnswers prefixes answered
// last; a new one replaces the one answered longest ago (never all). That
// loses nothing: an entry exists only once a prefix was answered, so the
// common bucket lets at most probeAnswerRate entries in a second, and an
// entry evicted had maxAnswers-1 answers after it, over at least 4 s, by
// which time its bucket was full again (answerBurst/answerRate = 1 s), as
// a new one is. (Owned by Node.mu.)
type answerLimiter struct {
	prefixes *rate.Keyed[netip.Prefix]
	all      rate.Bucket
}

func newAnswerLimiter() answerLimiter {
	return answerLimiter{
		prefixes: rate.NewKeyed[netip.Prefix](answerRate, answerBurst, maxAnswers),
		all:      rate.Bucket{Rate: probeAnswerRate, Burst: probeAnswerRate},
	}
}

// take reports whether an answer to from may be sent at now, and counts it.
func (l *answerLimiter) take(from netip.Addr, now time.Time) bool {
	pfx := rate.Prefix(from)
	if !l.prefixes.Has(pfx, now) {
		l.prefixes.Take(pfx, now) // refused; counts as a use of the prefix
		return false
	}
	if !l.all.Take(now) {
		return false // the prefix keeps its token
	}
	return l.prefixes.Take(pfx, now)
}

// mayAnswerLocked rate-limits answers to strangers (answerLimiter), so that
// spoofed packets cannot turn us into an amplifier; what it refuses is
// counted (n.mu held).
func (n *Node) mayAnswerLocked(from netip.Addr, now time.Time) bool {
	if !n.answers.take(from, now) {
		n.stats.AnswersLimited++
		return false
	}
	return true
}

// versionWarningLocked tells the user once per address about a peer that
// speaks another protocol version: an EvVersion with its name when the
// book knows the key, its address and its version. An address is told of
// once while it is among the newest maxVersionWarnings, and new addresses
// at versionWarnRate a second at most: a stranger sending from many keys,
// ports or spoofed addresses gets a few lines, not hundreds. Nothing is
// sent back: a version-1 peer and a version-2 one exchange no sealed data
// (n.mu held).
func (n *Node) versionWarningLocked(o *wire.Outer, from netip.AddrPort, now time.Time) {
	a := from.Addr().Unmap().WithZone("")
	if _, told := n.vwarn.Get(a); told || !n.vrate.Take(now) {
		return
	}
	n.vwarn.Put(a, struct{}{})
	e := Event{Kind: EvVersion, Addr: from.String(), Version: int(o.Version)}
	if o.HasKey {
		e.PeerID = KeyID(&o.Key)
		if p := n.book.peers[o.Key]; p != nil {
			e.Peer = p.label
		}
	}
	n.emitLocked(e)
}

func preview(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
