package peer

import (
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
)

// queuedEvent is an event waiting for the consumer, with what it holds of
// the peer's share of the queue.
type queuedEvent struct {
	e      Event
	p      *peerState // the peer whose message it is, or nil
	bytes  int        // what it counts against its bound (a peer's message share, or the notices')
	notice bool       // a notice: counted in noticeBytes
}

// noticeSize is what a notice counts against maxNoticeBytes: its strings
// (peer names in them are up to ~200 bytes each) and its overhead.
func noticeSize(e *Event) int {
	return len(e.Text) + len(e.Peer) + len(e.PeerID) + len(e.OldName) + len(e.Addr) + len(e.Name) + len(e.Fingerprint) + len(e.OldAddr) + len(e.Left) + errSize(e.Err) + damageSize(e.Damage) + eventOverhead
}

// damageSize is what an event's store damage counts against the bounds.
func damageSize(d *store.Damage) int {
	if d == nil {
		return 0
	}
	return len(d.File) + len(d.Aside) + len(d.Why) + len(d.Bucket) + len(d.Key) + 16
}

// errSize is what an event's error counts against the bounds.
func errSize(err error) int {
	if err == nil {
		return 0
	}
	return len(err.Error())
}

// roomForLocked reports whether the event queue can take a message of size bytes
// from p. When it cannot, the message is not taken nor acknowledged: the
// sender's window holds it and sends it again. Each peer has its own share,
// so one peer flooding us does not hold back another's messages (n.mu held).
func (n *Node) roomForLocked(p *peerState, size int) bool {
	size += eventOverhead
	return p.queued+p.saving+size <= maxPeerEventBytes && n.evBytes+n.saving+size <= maxEventBytes
}

// eventOverhead is what an event costs besides its text, for the bounds.
const eventOverhead = 256

// emitLocked queues an event (n.mu held). Events about our own messages
// (delivered, pending, failed) are never dropped: they are bounded by the
// queues the user filled. Notices about peers are dropped, and counted,
// once maxEvents or maxNoticeBytes of them wait: a peer cannot grow the
// queue by changing its name or coming and going.
func (n *Node) emitLocked(e Event) {
	n.emitForLocked(nil, e)
}

// emitForLocked queues an event holding a message of p (p may be nil).
func (n *Node) emitForLocked(p *peerState, e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if n.closed {
		return // the channel is closing; nobody listens any more
	}
	if len(n.evq) == 0 && !n.pumping {
		select {
		case n.events <- e: // the common case: no hand-off to the pump
			return
		default:
		}
	}
	q := queuedEvent{e: e}
	switch e.Kind {
	case EvMessage, EvApp:
		if p != nil { // (nil: a message an earlier run saved, emitted at start)
			q.p, q.bytes = p, len(e.Text)+eventOverhead
			p.queued += q.bytes
			n.evBytes += q.bytes
		}
	case EvDelivered, EvPending, EvFailed:
	default:
		size := noticeSize(&e)
		if len(n.evq) >= maxEvents || n.noticeBytes+size > maxNoticeBytes {
			n.stats.EventsDropped++
			return
		}
		q.bytes, q.notice = size, true
		n.noticeBytes += size
	}
	n.evq = append(n.evq, q)
	n.evCond.Signal()
}

// pumpEvents moves queued events to the Events channel, never dropping one.
func (n *Node) pumpEvents() {
	defer close(n.events)
	for {
		n.mu.Lock()
		for len(n.evq) == 0 && !n.closed {
			n.evCond.Wait()
		}
		if len(n.evq) == 0 {
			n.mu.Unlock()
			return
		}
		q := n.evq[0]
		n.evq[0] = queuedEvent{}
		n.evq = n.evq[1:]
		if q.p != nil {
			q.p.queued -= q.bytes
			n.evBytes -= q.bytes
		}
		if q.notice {
			n.noticeBytes -= q.bytes
		}
		n.pumping = true // an event is on its way: emitForLocked must not overtake it
		n.mu.Unlock()
		n.events <- q.e
		n.mu.Lock()
		n.pumping = false
		n.mu.Unlock()
	}
}

// announceLocked tells the user about label changes (n.mu held): a renamed peer,
// and why a peer is not shown by its nickname.
func (n *Node) announceLocked(changes []labelChange) {
	for _, c := range changes {
		p := c.p
		if c.old != "" {
			n.emitLocked(Event{Kind: EvRenamed, OldName: c.old, Peer: c.new, PeerID: p.id})
		}
		switch c.clash {
		case clashOwn:
			n.emitLocked(Event{Kind: EvWarning, Peer: p.label, PeerID: p.id, Code: CodeNameOwn, Name: p.nick})
		case clashTaken:
			n.emitLocked(Event{Kind: EvWarning, Peer: p.label, PeerID: p.id, Code: CodeNameTaken, Name: p.nick, Fingerprint: Fingerprint(&p.key)})
		case clashPinned:
			n.emitLocked(Event{Kind: EvWarning, Peer: p.label, PeerID: p.id, Code: CodeKeyChanged, Name: p.nick})
		}
	}
}

// kickSave asks the saver to write the pins (n.mu may be held; never blocks).
func (n *Node) kickSave() {
	select {
	case n.saveKick <- struct{}{}:
	default:
	}
}

// savePins writes known_peers whenever the pins change, outside the node's
// lock, and once more when the node stops.
func (n *Node) savePins() {
	defer n.wg.Done()
	for {
		select {
		case <-n.saveKick:
		case <-n.done:
			if err := n.book.pins.save(); err != nil {
				n.log.Warn("pins", "err", err)
			}
			return
		}
		if err := n.book.pins.save(); err != nil {
			n.mu.Lock()
			n.emitLocked(Event{Kind: EvWarning, Code: CodePinsNotSaved, Err: err})
			n.mu.Unlock()
		}
	}
}
