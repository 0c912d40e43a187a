package peer

import "github.com/p2pchat/p2pchat/internal/wire"

// Close says goodbye to every peer, reports each message that was never
// acknowledged (EvFailed), stops the node and closes Events.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	if n.awaitSavesLocked(); n.closed { // (another Close ran while it waited)
		n.mu.Unlock()
		return nil
	}
	if n.durable() {
		n.dropUnhandedLocked() // what is reported failed below is then never written
	}
	for _, p := range n.book.sorted(func(p *peerState) string { return p.label }) {
		if p.online {
			n.sendLocked(p, &wire.Payload{Kind: wire.KindBye}, nil, pathAuto)
		}
		for _, m := range p.out.msgs {
			switch {
			case n.durable() && m.saved:
				n.emitLocked(Event{Kind: EvPending, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonQueued, Code: CodeKept})
			case n.durable() && m.handed:
				// The store has its save and may still complete it: then
				// the next run sends it. Not "failed": it may arrive.
				n.emitLocked(Event{Kind: EvPending, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonQueued, Code: CodeSaving})
			case n.durable():
				n.emitLocked(Event{Kind: EvFailed, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonStopped, Code: CodeStoppedUnsaved})
			default:
				n.emitLocked(Event{Kind: EvFailed, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonStopped, Code: CodeStoppedUnacked})
			}
		}
	}
	n.closed = true
	n.evCond.Broadcast()
	n.wCond.Broadcast()
	n.mu.Unlock()
	close(n.done)
	err := n.tr.Close()
	n.wg.Wait()
	return err
}

// changesLocked returns a channel closed at the next change (n.mu held).
func (n *Node) changesLocked() chan struct{} {
	if n.changed == nil {
		n.changed = make(chan struct{})
	}
	return n.changed
}

// signalChangeLocked wakes Flush and WaitPeer (n.mu held).
func (n *Node) signalChangeLocked() {
	if n.changed != nil {
		close(n.changed)
		n.changed = nil
	}
}
