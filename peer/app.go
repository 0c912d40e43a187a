package peer

import (
	"fmt"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Application payloads: bytes of a layer above the node (package rooms,
// through its runner), carried without being read. Two ways:
//
//   - SendApp queues the bytes on the durable, acknowledged message
//     stream to a peer's key, like a direct message (on disk first with a
//     Store, sent again until acknowledged, taken once and in order with
//     the messages, kept for a peer that is away); they arrive as EvApp
//     events with an Idx (call Shown once the application has them on
//     disk), and their sent, delivered, pending and failed events carry
//     App;
//   - SendAppOnce sends the bytes once to an online peer (they may be
//     lost); they arrive as EvApp events without Idx.
//
// Both count against the same bounds as messages (the outbox's bytes and
// count per peer and in all; the event queue's share per peer). Events
// with App set are for the application, never words for the user.

// MaxAppBytes is the most data one application payload carries.
const MaxAppBytes = wire.MaxAppBytes

// SendApp queues data (application kind app, non-zero) for the peer with
// key, on its message stream. A key not in the address book is parked
// there as an offline peer shown as label (a member met before, in an
// earlier run). It returns the payload's id (in its events).
func (n *Node) SendApp(key [32]byte, label string, app byte, data []byte) (uint64, error) {
	ids, errs := n.SendAppTo([]AppDest{{Key: key, Label: label}}, app, data)
	return ids[0], errs[0]
}

// AppDest is one recipient of SendAppTo: its key, and the label it is
// shown as if it has to be parked.
type AppDest struct {
	Key   [32]byte
	Label string
}

// SendAppTo queues the same data for every recipient, as SendApp does,
// in one write to the store (as /all does): ids[i] and errs[i] are
// recipient i's.
func (n *Node) SendAppTo(to []AppDest, app byte, data []byte) (ids []uint64, errs []error) {
	ids, errs = make([]uint64, len(to)), make([]error, len(to))
	fail := func(err error) ([]uint64, []error) {
		for i := range errs {
			errs[i] = err
		}
		return ids, errs
	}
	if app == 0 || len(data) > MaxAppBytes {
		return fail(fmt.Errorf("peer: SendApp: app %d, %d bytes", app, len(data)))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fail(ErrClosed)
	}
	now := time.Now()
	text := string(data)
	var batch []queuedMsg
	for i, d := range to {
		key := d.Key
		if !wire.CanonicalKey(&key) || key == n.id.Public {
			errs[i] = fmt.Errorf("%w: bad key", ErrUnknownPeer)
			continue
		}
		p := n.book.peers[key]
		if p == nil {
			label := d.Label
			if wire.ValidName(label) != nil {
				label = "member"
			}
			if p = n.parkLocked(key, label, 0, 0); p == nil {
				errs[i] = &QueueFullError{Queue: QueueBook}
				continue
			}
		}
		if err := n.roomToSendLocked(p, len(data)); err != nil {
			errs[i] = err
			continue
		}
		n.nextID++
		m := n.pushLocked(p, n.nextID, text, false, now)
		m.app = app
		if !p.online {
			n.wakeLocked(p.nextPing)
		}
		ids[i] = m.id
		batch = append(batch, queuedMsg{p, m})
	}
	if len(batch) > 0 {
		n.queueLocked("", batch, false)
	}
	return ids, errs
}

// AppRoom reports whether every recipient's queue can take size more
// bytes now (the bounds of SendApp), or why not (wrapping ErrQueueFull),
// so that the application can refuse a payload before it commits to it.
func (n *Node) AppRoom(to []AppDest, size int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range to {
		if p := n.book.peers[d.Key]; p != nil {
			if err := n.roomToSendLocked(p, size); err != nil {
				return err
			}
		}
	}
	if n.outBytes+len(to)*size > maxOutBytes {
		return &QueueFullError{Queue: QueueAllBytes, Have: n.outBytes, Max: maxOutBytes}
	}
	return nil
}

// SendAppOnce sends data (application kind app, non-zero) once to the
// online peer with key, over UDP or TCP as it fits.
func (n *Node) SendAppOnce(key [32]byte, app byte, data []byte) error {
	if app == 0 || len(data) > MaxAppBytes {
		return fmt.Errorf("peer: SendAppOnce: app %d, %d bytes", app, len(data))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	p := n.book.peers[key]
	if p == nil || p.label == "" || !p.online {
		return fmt.Errorf("%w: not online", ErrUnknownPeer)
	}
	way := pathAuto
	if !p.udpOK {
		way = pathTCP
	}
	n.sendLocked(p, &wire.Payload{Kind: wire.KindAppOnce, App: app, Text: string(data)}, nil, way)
	return nil
}

// onAppOnceLocked hands an app-once payload of an introduced peer to the
// application, within the peer's share of the event queue (n.mu held).
func (n *Node) onAppOnceLocked(p *peerState, pl *wire.Payload) {
	if p.label == "" {
		return
	}
	if !n.roomForLocked(p, len(pl.Text)) {
		n.stats.Backpressure++
		return
	}
	n.emitForLocked(p, Event{Kind: EvApp, App: pl.App, Key: p.key, Peer: p.label, PeerID: p.id, Text: pl.Text, Time: time.Now()})
}
