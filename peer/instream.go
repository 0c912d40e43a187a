package peer

import (
	"slices"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// inMsg is a message of a peer's stream to us, held until it can be shown
// in order.
type inMsg struct {
	seq  uint64
	time int64 // sender's clock, Unix ms
	all  bool
	app  byte // an application payload's kind (app.go); 0: a chat message
	text string
	idx  uint64 // with a Store: its place in the inbox, once it is there
}

// inStream is a peer's message stream to us: what it has shown, and what
// arrived ahead of a gap. Pure state, no clock.
type inStream struct {
	id    uint64           // the stream's id (0: none yet)
	next  uint64           // the seq shown next
	buf   map[uint64]inMsg // arrived ahead of a gap
	bytes int              // text bytes in buf
}

// reorderBudget bounds what out-of-order messages may hold, per stream and
// over all streams together.
type reorderBudget struct {
	ahead    uint64 // how far past the next seq a message may be (an honest sender's window)
	perPeer  int    // text bytes one stream may hold
	total    int    // text bytes all streams may hold
	used     int    // text bytes all streams hold now
	refusals uint64 // messages refused for room
}

// inVerdict is what receive decided about one message.
type inVerdict int

const (
	inRefused   inVerdict = iota // not taken: no acknowledgement, the sender sends it again
	inDuplicate                  // shown before: acknowledge, show nothing
	inAccepted                   // taken: acknowledge; ready holds what may be shown now
)

// receive takes one message of the stream. It returns what can be shown now,
// in order (possibly messages buffered earlier), and whether to acknowledge.
func (s *inStream) receive(pl *wire.Payload, b *reorderBudget, ready []inMsg) ([]inMsg, inVerdict) {
	if pl.Stream != s.id {
		// A new stream (the sender restarted or had forgotten us): what the
		// old one left buffered was acknowledged, so it is shown first.
		ready = s.flush(b, ready)
		s.id, s.next = pl.Stream, pl.Base
	}
	if pl.Base > s.next {
		// The sender stopped waiting for older messages (an earlier run of
		// ours acknowledged them): skip ahead, showing what is buffered.
		// Walk the buffer, not the range: base is the peer's to choose.
		ready = s.release(b, ready, func(seq uint64) bool { return seq < pl.Base })
		s.next = pl.Base
		// What is buffered from the new base on was acknowledged too: show
		// it now, or it would wait behind a gap that is not there.
		ready = s.drain(b, ready)
	}
	m := inMsg{seq: pl.Seq, time: pl.Time, all: pl.All, app: pl.App, text: pl.Text}
	switch {
	case pl.Seq < s.next:
		return ready, inDuplicate
	case pl.Seq-s.next >= b.ahead:
		b.refusals++
		return ready, inRefused // further ahead than any honest window
	case pl.Seq == s.next && len(s.buf) == 0:
		s.next++
		return append(ready, m), inAccepted // in order, nothing buffered: the usual case
	}
	if _, dup := s.buf[pl.Seq]; dup {
		return ready, inDuplicate
	}
	if pl.Seq != s.next {
		if s.bytes+len(m.text) > b.perPeer || b.used+len(m.text) > b.total {
			b.refusals++
			return ready, inRefused
		}
		if s.buf == nil {
			s.buf = map[uint64]inMsg{}
		}
		s.buf[pl.Seq] = m
		s.bytes += len(m.text)
		b.used += len(m.text)
		return ready, inAccepted
	}
	// It fills the gap: it and whatever follows it in the buffer are ready.
	s.next++
	return s.drain(b, append(ready, m)), inAccepted
}

// drain moves the buffered messages that follow on from next to ready.
func (s *inStream) drain(b *reorderBudget, ready []inMsg) []inMsg {
	for {
		n, ok := s.buf[s.next]
		if !ok {
			return ready
		}
		s.take(b, s.next)
		ready = append(ready, n)
		s.next++
	}
}

// flush releases everything buffered, in seq order (the stream ends).
func (s *inStream) flush(b *reorderBudget, ready []inMsg) []inMsg {
	return s.release(b, ready, func(uint64) bool { return true })
}

// release moves the buffered messages whose seq passes keep to ready, in
// seq order.
func (s *inStream) release(b *reorderBudget, ready []inMsg, keep func(uint64) bool) []inMsg {
	var seqs []uint64
	for seq := range s.buf {
		if keep(seq) {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		ready = append(ready, s.buf[seq])
		s.take(b, seq)
	}
	return ready
}

func (s *inStream) take(b *reorderBudget, seq uint64) {
	m := s.buf[seq]
	delete(s.buf, seq)
	s.bytes -= len(m.text)
	b.used -= len(m.text)
}
