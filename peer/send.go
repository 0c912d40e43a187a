package peer

import (
	"context"
	"fmt"
	"time"
)

// Send queues text for one peer (to = its id, PeerInfo.ID) or everyone (to = ""). It
// returns one message id per recipient; delivery is reported by EvDelivered
// EvPending (not yet) or EvFailed (never) events with those ids.
func (n *Node) Send(to, text string) ([]uint64, error) {
	if err := ValidText(text); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	var targets []*peerState
	if to == "" {
		for _, p := range n.book.sorted(func(p *peerState) string { return p.label }) {
			if p.online && p.label != "" {
				targets = append(targets, p)
			}
		}
		if len(targets) == 0 {
			return nil, ErrNoPeers
		}
	} else {
		p := n.book.byID(to)
		if p == nil || p.label == "" {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPeer, to)
		}
		targets = append(targets, p)
	}
	now := time.Now()
	var batch []queuedMsg
	for _, p := range targets {
		if err := n.roomToSendLocked(p, len(text)); err != nil {
			if to != "" {
				return nil, err
			}
			n.emitLocked(Event{Kind: EvWarning, Peer: p.label, PeerID: p.id, Code: CodeNotSent, Err: err})
			continue
		}
		n.nextID++
		batch = append(batch, queuedMsg{p, n.pushLocked(p, n.nextID, text, to == "", now)})
		if !p.online {
			n.emitLocked(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeOffline})
			n.wakeLocked(p.nextPing) // the timer knocks on peers we owe messages
		}
	}
	if len(batch) == 0 {
		return nil, &QueueFullError{Queue: QueueEvery}
	}
	n.queueLocked(to, batch, true)
	ids := make([]uint64, len(batch))
	for i, q := range batch {
		ids[i] = q.m.id
	}
	return ids, nil
}

// roomToSendLocked says why p's queue cannot take a message of size bytes, if it
// cannot (n.mu held).
func (n *Node) roomToSendLocked(p *peerState, size int) error {
	switch {
	case p.out.len() >= n.tm.QueueLimit:
		return &QueueFullError{Queue: QueuePeerCount, Peer: p.label, Have: p.out.len(), Max: n.tm.QueueLimit}
	case p.out.bytes+size > maxOutPeerBytes:
		return &QueueFullError{Queue: QueuePeerBytes, Peer: p.label, Have: p.out.bytes, Max: maxOutPeerBytes}
	case n.outBytes+size > maxOutBytes:
		return &QueueFullError{Queue: QueueAllBytes, Have: n.outBytes, Max: maxOutBytes}
	}
	return nil
}

// pushLocked puts a message into p's outbox and counts its text against the
// outbox's bound, with or without a Store (n.mu held). Whatever takes it
// out again (acked, Unsend, a failed save) gives the room back.
func (n *Node) pushLocked(p *peerState, id uint64, text string, all bool, now time.Time) *outMsg {
	n.outBytes += len(text)
	return p.out.push(id, text, all, now)
}

// pendingOnlineLocked counts messages not yet acknowledged by peers that are
// online (n.mu held).
func (n *Node) pendingOnlineLocked() int {
	c := 0
	for _, p := range n.book.peers {
		if p.online {
			c += p.out.len()
		}
	}
	return c
}

// WaitPeer waits until a peer called name is online (any peer when name is
// ""), or ctx ends. Scripts that start p2pchat and send at once use it to
// give discovery its moment.
func (n *Node) WaitPeer(ctx context.Context, name string) error {
	for {
		n.mu.Lock()
		found, ch := false, n.changesLocked()
		if name == "" {
			for _, p := range n.book.peers {
				found = found || p.online
			}
		} else if p := n.book.byName(name); p != nil && p.online {
			found = true
		}
		n.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if name == "" {
				return fmt.Errorf("%w: none found in time", ErrNoPeers)
			}
			return fmt.Errorf("%w: %s did not appear in time", ErrUnknownPeer, name)
		}
	}
}

// Flush waits until every message to an online peer is acknowledged and,
// with a Store, every message to a peer that is away is on disk, or ctx
// ends (then it returns ctx's error).
func (n *Node) Flush(ctx context.Context) error {
	for {
		n.mu.Lock()
		pending, ch := n.pendingOnlineLocked(), n.changesLocked()
		if n.durable() {
			for _, p := range n.book.peers {
				if !p.online {
					pending += p.out.unsaved() // safe once on disk
				}
			}
		}
		n.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("peer: %d messages not acknowledged: %w", pending, ctx.Err())
		}
	}
}
