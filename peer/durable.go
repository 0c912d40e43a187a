package peer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// Store is where a durable node keeps its messages (internal/store.Store
// implements it). With a Store:
//
//   - a message Send queues is on disk before it is transmitted and before
//     EvSent, and stays there until the recipient acknowledges it; the next
//     run sends it again, in the same stream with the same seq, to the same
//     key, wherever that key turns up;
//   - a received message is acknowledged only once it is on disk (in the
//     inbox, with the sender's new stream position in the same commit); it
//     is emitted with Event.Idx, and the consumer calls Node.Shown(Idx) once
//     it is on the screen. Messages in the inbox above the last Shown are
//     emitted again by the next run. So an acknowledged message is never
//     lost, and a message is shown once across restarts of either side (but
//     for a crash in the instant between the output and its mark).
//
// Writes reach the Store in the node's order from one goroutine of the
// node's (feedStore), never with the node's lock held: Write may block, and
// done (which takes that lock) runs on the store's goroutine, in order.
type Store interface {
	Write(w store.Write, done func(error))
	MarkShown(idx uint64) error
}

// ErrNotSaved wraps the store's error when a message could not be put on
// disk (Event.Reason ReasonNotSaved tells the same asynchronously).
var ErrNotSaved = errors.New("could not save the message")

// durable reports whether the node keeps messages on disk.
func (n *Node) durable() bool { return n.st != nil }

// restore takes in what an earlier run left on disk (before the node
// starts; no lock needed): waiting messages become offline, parked
// entries of the book, positions are kept for when their senders return,
// and messages never shown are emitted first.
func (n *Node) restore(snap *store.Snapshot) error {
	n.nextID = max(n.nextID, snap.LastID)
	n.lastIdx = snap.LastIdx
	n.inpos = make(map[[32]byte]store.InPos, len(snap.In))
	for k, pos := range snap.In {
		n.inpos[k] = pos
	}
	for i := range snap.Damaged {
		d := &snap.Damaged[i]
		n.log.Warn("message store damaged", "damage", d.String())
		n.emitLocked(Event{Kind: EvWarning, Code: CodeStoreDamaged, Damage: d})
	}
	for _, os := range snap.Out {
		if len(os.Msgs) == 0 {
			continue
		}
		p := n.parkLocked(os.Key, os.Nick, os.Stream, os.Next)
		if p == nil {
			n.emitLocked(Event{Kind: EvWarning, Code: CodeNotRestored, Count: len(os.Msgs), Name: oneLineName(os.Nick)})
			continue
		}
		for _, m := range os.Msgs {
			p.out.restore(&outMsg{id: m.ID, seq: m.Seq, text: m.Text, all: m.All, app: m.App, time: time.UnixMilli(m.Time)})
			n.outBytes += len(m.Text)
		}
	}
	for _, m := range snap.Unshown {
		label, id := oneLineName(m.Nick), KeyID(&m.Key)
		if p := n.book.peers[m.Key]; p != nil {
			label = p.label
		}
		if m.App != 0 {
			n.emitLocked(Event{Kind: EvApp, App: m.App, Key: m.Key, Peer: label, PeerID: id, Text: m.Text, Time: time.UnixMilli(m.Time), Idx: m.Idx})
			continue
		}
		to := n.name
		if m.All {
			to = "all"
		}
		n.emitLocked(Event{Kind: EvMessage, Peer: label, PeerID: id, To: to, Text: m.Text, Time: time.UnixMilli(m.Time), Idx: m.Idx})
	}
	return nil
}

// storedName is what the outbox keeps of a recipient's name: its nickname
// and host ("bob@laptop2"), from which its label is made again after a
// restart (by the pins of that time).
func storedName(p *peerState) string {
	if p.host == "" {
		return p.nick
	}
	return p.nick + "@" + hostLabel(p.host)
}

// oneLineName is a stored name ("bob", "bob@laptop2") fit to show: it was
// valid when it was stored, but the file may be damaged (the shell
// sanitises what it prints in any case).
func oneLineName(name string) string {
	nick, host, at := strings.Cut(name, "@")
	if wire.ValidName(nick) != nil || (at && (host == "" || len(host) > wire.MaxHost || hostLabel(host) != host)) {
		return "(unknown)"
	}
	return name
}

// parkLocked puts key into the book as an offline peer we can queue messages for
// before it is seen in this run (n.mu held, or before start); label is
// what it was shown as ("bob", or "bob@laptop2": the host part is kept
// until the peer says its own, so that it keeps that label). Its packets
// are treated as a stranger's until it answers a fresh challenge
// (fromStrangerLocked), so a recorded hello cannot bring it online. It returns
// nil when the book has no room.
func (n *Node) parkLocked(key [32]byte, label string, stream, next uint64) *peerState {
	if p := n.book.peers[key]; p != nil {
		return p
	}
	p := n.strangerLocked(key)
	p.parked = true
	nick, host, _ := strings.Cut(oneLineName(label), "@")
	p.host = host
	if stream == 0 {
		stream, next = newStreamID(), 1
	}
	p.out = newOutStream(stream)
	p.out.nextSeq = max(next, 1)
	if !n.book.admit(p) {
		return nil
	}
	n.book.setNick(p, nick, n.name)
	n.takePositionLocked(p)
	return p
}

// takePositionLocked gives a peer entering the book the stream position an
// earlier run saved for it (n.mu held).
func (n *Node) takePositionLocked(p *peerState) {
	if pos, ok := n.inpos[p.key]; ok {
		if p.in.id == 0 || p.in.id == pos.Stream {
			p.in.id, p.in.next = pos.Stream, max(p.in.next, pos.Next)
		}
		delete(n.inpos, p.key)
	}
	p.inSaved = p.in.next
}

// queueLocked hands the messages Send pushed to the store; once they are on disk
// they are transmitted and, if announce, EvSent is emitted (n.mu held).
// Without a Store they are sent at once.
func (n *Node) queueLocked(to string, batch []queuedMsg, announce bool) {
	ids := make([]uint64, len(batch))
	for i, q := range batch {
		ids[i] = q.m.id
	}
	sent := Event{Kind: EvSent, Peer: "all", IDs: ids}
	if to != "" {
		sent.Peer, sent.PeerID = batch[0].p.label, batch[0].p.id
	}
	if !n.durable() {
		if announce {
			n.emitLocked(sent)
		}
		now := time.Now()
		for _, q := range batch {
			n.pumpLocked(q.p, now)
		}
		return
	}
	w := store.Write{Queue: make([]store.Queued, len(batch))}
	for i, q := range batch {
		q.m.saved = false
		w.Queue[i] = store.Queued{Key: q.p.key, Nick: storedName(q.p), Stream: q.p.out.id, Next: q.p.out.nextSeq,
			Msg: store.OutMsg{ID: q.m.id, Seq: q.m.seq, Time: q.m.time.UnixMilli(), All: q.m.all, Text: q.m.text, App: q.m.app}}
	}
	msgs := make([]*outMsg, len(batch))
	for i, q := range batch {
		msgs[i] = q.m
	}
	n.wq = append(n.wq, storeReq{w: w, msgs: msgs, done: func(err error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		now := time.Now()
		if n.closed {
			return // Close reported each of them already
		}
		var saved []uint64
		for _, q := range batch {
			if !q.p.out.has(q.m) {
				continue // dropped by Unsend meanwhile, and reported then
			}
			if err != nil {
				q.p.out.remove(q.m)
				n.outBytes -= len(q.m.text)
				n.emitLocked(Event{Kind: EvFailed, Peer: q.p.label, PeerID: q.p.id, ID: q.m.id, App: q.m.app, Reason: ReasonNotSaved,
					Code: CodeSaveFailed, Err: err})
				continue
			}
			q.m.saved = true
			saved = append(saved, q.m.id)
		}
		if len(saved) > 0 && announce {
			sent.IDs = saved
			n.emitLocked(sent)
		}
		for _, q := range batch {
			n.pumpLocked(q.p, now)
		}
		n.signalChangeLocked()
	}})
	n.wCond.Signal()
}

// queuedMsg is a message Send pushed, with its recipient.
type queuedMsg struct {
	p *peerState
	m *outMsg
}

// ackedLocked gives an acknowledged message's room in the outbox back and
// removes it from the disk (n.mu held). The removal needs no sync of its
// own: if it is lost, the next run sends the message again and the
// recipient knows it.
func (n *Node) ackedLocked(p *peerState, m *outMsg) {
	n.outBytes -= len(m.text)
	if !n.durable() {
		return
	}
	n.writeLocked(store.Write{Acked: []store.MsgRef{{Key: p.key, Seq: m.seq}}}, nil)
}

// takeLocked puts messages that are ready to be shown on disk, then shows and
// acknowledges them (n.mu held). Without a Store they are shown at once
// (and were acknowledged on arrival).
func (n *Node) takeLocked(p *peerState, ready []inMsg) {
	if !n.durable() {
		for i := range ready {
			n.deliverLocked(p, &ready[i])
		}
		return
	}
	if len(ready) == 0 {
		return // (a duplicate, or a message held behind a gap: nothing to save; no sync per such packet)
	}
	msgs := make([]inMsg, len(ready))
	copy(msgs, ready)
	w := store.Write{Inbox: make([]store.InMsg, len(msgs)),
		InPos: []store.KeyPos{{Key: p.key, Pos: store.InPos{Stream: p.in.id, Next: p.in.next}}}}
	for i, m := range msgs {
		n.lastIdx++
		msgs[i].idx = n.lastIdx
		w.Inbox[i] = store.InMsg{Idx: n.lastIdx, Key: p.key, Nick: p.label, Stream: p.in.id, Seq: m.seq, Time: m.time, All: m.all, Text: m.text, App: m.app}
		p.saving += len(m.text) + eventOverhead // counts against the peer's share of the event queue meanwhile
		n.saving += len(m.text) + eventOverhead
	}
	stream, next := p.in.id, p.in.next
	n.writeLocked(w, func(err error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, m := range msgs {
			p.saving -= len(m.text) + eventOverhead
			n.saving -= len(m.text) + eventOverhead
		}
		if err != nil {
			// Not on disk, so not acknowledged: the sender keeps them. Take
			// them again when they come again.
			if p.in.id == stream && p.in.next == next && len(msgs) > 0 {
				p.in.next = min(p.in.next, msgs[0].seq)
			}
			if !p.saveWarned {
				p.saveWarned = true
				n.emitLocked(Event{Kind: EvWarning, Peer: p.label, PeerID: p.id, Code: CodeInboxNotSaved, Err: err})
			}
			return
		}
		p.saveWarned = false
		if p.in.id == stream {
			p.inSaved = max(p.inSaved, next)
		}
		for i := range msgs {
			n.deliverLocked(p, &msgs[i])
			if !n.closed {
				n.sendLocked(p, &wire.Payload{Kind: wire.KindAck, Stream: stream, Seq: msgs[i].seq}, nil, pathAuto)
			}
		}
	})
}

// mayAckLocked reports whether a message of p's stream may be acknowledged on
// arrival: always without a Store; with one, only when it was taken
// before and is on disk (a duplicate of a saved message).
func (n *Node) mayAckLocked(p *peerState, pl *wire.Payload, verdict inVerdict) bool {
	if !n.durable() {
		return verdict != inRefused
	}
	return verdict == inDuplicate && pl.Stream == p.in.id && pl.Seq < p.inSaved
}

// Shown records that the message with this inbox index (Event.Idx), and
// every one before it, is on the user's screen or flushed to standard
// output, so that a later run does not show them again. Without a Store it
// does nothing.
func (n *Node) Shown(idx uint64) error {
	if n.st == nil || idx == 0 {
		return nil
	}
	return n.st.MarkShown(idx)
}

// Unsend drops every message waiting for the peer with this id and
// returns how many; each gets an EvFailed with ReasonUnsent. A message
// already on its way may still arrive.
func (n *Node) Unsend(id string) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byID(id)
	if p == nil {
		return 0, fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	msgs := p.out.drop()
	for _, m := range msgs {
		n.outBytes -= len(m.text)
		n.emitLocked(Event{Kind: EvFailed, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonUnsent, Code: CodeUnsent})
	}
	if n.durable() && len(msgs) > 0 {
		n.writeLocked(store.Write{Unsend: [][32]byte{p.key}}, nil)
	}
	n.signalChangeLocked()
	return len(msgs), nil
}

// saveWait bounds how long Close waits for messages on their way to disk.
const saveWait = 2 * time.Second

// awaitSavesLocked waits (a while at most) until no message Send queued is still
// on its way to disk, so that Close reports each as kept or not (n.mu
// held; released while waiting).
func (n *Node) awaitSavesLocked() {
	if !n.durable() {
		return
	}
	deadline := time.After(saveWait)
	for {
		unsaved := 0
		for _, p := range n.book.peers {
			unsaved += p.out.unsaved()
		}
		if unsaved == 0 {
			return
		}
		ch := n.changesLocked()
		n.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			n.mu.Lock()
			return
		}
		n.mu.Lock()
	}
}

// dropUnhandedLocked takes the saves of queued messages the Store has not been
// handed yet out of the write queue, so that a message Close reports as
// failed is never written (n.mu held, by Close).
func (n *Node) dropUnhandedLocked() {
	kept := n.wq[:0]
	for _, r := range n.wq {
		if r.msgs == nil {
			kept = append(kept, r)
		}
	}
	clear(n.wq[len(kept):])
	n.wq = kept
}

// Waiting counts the messages not yet acknowledged, to every peer.
func (n *Node) Waiting() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, p := range n.book.peers {
		c += p.out.len()
	}
	return c
}

// storeReq is a Write waiting to be handed to the Store.
type storeReq struct {
	w    store.Write
	done func(error)
	msgs []*outMsg // the messages a Queue write (queue) saves: marked handed once the Store has it
}

// writeLocked queues w for the Store, in order (n.mu held).
func (n *Node) writeLocked(w store.Write, done func(error)) {
	n.wq = append(n.wq, storeReq{w: w, done: done})
	n.wCond.Signal()
}

// feedStore hands queued writes to the Store until the node closes and
// every write queued before is handed over.
func (n *Node) feedStore() {
	defer n.wg.Done()
	n.mu.Lock()
	for {
		for len(n.wq) == 0 && !n.closed {
			n.wCond.Wait()
		}
		if len(n.wq) == 0 {
			n.mu.Unlock()
			return
		}
		reqs := n.wq
		n.wq = nil
		for _, r := range reqs {
			for _, m := range r.msgs {
				m.handed = true
			}
		}
		n.mu.Unlock()
		for _, r := range reqs {
			n.st.Write(r.w, r.done)
		}
		n.mu.Lock()
	}
}
