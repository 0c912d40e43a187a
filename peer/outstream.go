package peer

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// outMsg is one message to one peer, kept until that peer acknowledges it.
type outMsg struct {
	id, seq  uint64
	text     string
	all      bool
	app      byte      // an application payload's kind (app.go); 0: a chat message
	time     time.Time // when the user sent it
	tries    int       // transmissions so far (0: waiting for the window)
	udpTries int       // of which over UDP
	first    time.Time // first transmission
	nextTry  time.Time // when it is sent again unless acknowledged
	pending  bool      // the user was told it is not delivered yet
	saved    bool      // on disk (always true without a Store): only then is it transmitted
	handed   bool      // with a Store: its save was handed to the Store (feedStore), which may still complete it
}

// outStream is our message stream to one peer: the messages it has not
// acknowledged, in seq order, with their retransmission clocks. It is pure
// state: the caller says what time it is, and sends what it is told to.
type outStream struct {
	id      uint64    // the stream's id on the wire (chosen when it starts)
	nextSeq uint64    // seq of the next message
	msgs    []*outMsg // unacknowledged, in seq order
	bytes   int       // text bytes in msgs
	due     []*outMsg // scratch for ready
	// hole (0: none): seqs below it are missing from msgs although a
	// message below them still waits (a message whose save failed, or a
	// gap in what an earlier run left on disk). The receiver would hold
	// what follows the hole, and acknowledge it, waiting for seqs that
	// never come; so messages from hole on are first transmitted only once
	// everything below it is acknowledged, when base tells the receiver to
	// skip the hole.
	hole uint64
}

func newOutStream(id uint64) outStream { return outStream{id: id, nextSeq: 1} }

// push appends a message and returns it, as saved: a node with a Store
// clears saved until the message is on disk.
func (s *outStream) push(id uint64, text string, all bool, now time.Time) *outMsg {
	m := &outMsg{id: id, seq: s.nextSeq, text: text, all: all, time: now, saved: true}
	s.nextSeq++
	s.msgs = append(s.msgs, m)
	s.bytes += len(text)
	return m
}

// restore puts back a message kept on disk by an earlier run (saved, never
// transmitted in this one); messages come in seq order.
func (s *outStream) restore(m *outMsg) {
	m.saved = true
	if n := len(s.msgs); n > 0 && m.seq != s.msgs[n-1].seq+1 {
		s.hole = max(s.hole, m.seq)
	}
	s.msgs = append(s.msgs, m)
	s.bytes += len(m.text)
	s.nextSeq = max(s.nextSeq, m.seq+1)
}

// remove takes m out of the stream (it could not be saved, or the user
// dropped it) and reports whether it was there.
func (s *outStream) remove(m *outMsg) bool {
	for i, x := range s.msgs {
		if x == m {
			s.msgs = append(s.msgs[:i], s.msgs[i+1:]...)
			s.bytes -= len(m.text)
			s.hole = max(s.hole, m.seq+1)
			return true
		}
	}
	return false
}

// has reports whether m still waits in the stream.
func (s *outStream) has(m *outMsg) bool { return slices.Contains(s.msgs, m) }

// drop takes every waiting message out of the stream and returns them.
func (s *outStream) drop() []*outMsg {
	msgs := s.msgs
	s.msgs, s.bytes = nil, 0
	return msgs
}

// unsaved counts the messages not on disk yet.
func (s *outStream) unsaved() int {
	c := 0
	for _, m := range s.msgs {
		if !m.saved {
			c++
		}
	}
	return c
}

// len is the number of unacknowledged messages.
func (s *outStream) len() int { return len(s.msgs) }

// base is the lowest seq still waiting for its acknowledgement.
func (s *outStream) base() uint64 {
	if len(s.msgs) == 0 {
		return s.nextSeq
	}
	return s.msgs[0].seq
}

// ready returns the messages to transmit now: retransmissions that are due,
// then new messages as far as window messages may be in flight. The slice is
// reused by the next call.
func (s *outStream) ready(now time.Time, window int) []*outMsg {
	s.due = s.due[:0]
	if s.hole != 0 && s.base() >= s.hole {
		s.hole = 0 // nothing waits below it: base skips it
	}
	inFlight := 0
	for _, m := range s.msgs {
		if m.tries > 0 {
			inFlight++
			if !now.Before(m.nextTry) {
				s.due = append(s.due, m)
			}
			continue
		}
		if inFlight >= window || !m.saved || (s.hole != 0 && m.seq >= s.hole) {
			break // (unsaved: not on disk yet; what follows waits too, to keep the order; past the hole: see hole)
		}
		s.due = append(s.due, m)
		inFlight++
	}
	return s.due
}

// sent records a transmission of m at now: its first retransmission
// timeout is rto, doubled for every earlier try, at most maxRTO.
func (s *outStream) sent(m *outMsg, now time.Time, udp bool, rto, maxRTO time.Duration) {
	m.tries++
	if udp {
		m.udpTries++
	}
	if m.first.IsZero() {
		m.first = now
	}
	for i := 1; i < m.tries && rto < maxRTO; i++ {
		rto *= 2
	}
	m.nextTry = now.Add(min(rto, maxRTO))
}

// ack retires the message seq. It returns the message (nil if it was not
// waiting: a duplicate or stale ack) and a round-trip sample (0 when the
// message was sent more than once, so the sample would be ambiguous).
func (s *outStream) ack(seq uint64, now time.Time) (*outMsg, time.Duration) {
	for i, m := range s.msgs {
		if m.seq != seq {
			continue
		}
		if i == 0 { // the usual case: acks come in order
			s.msgs[0] = nil
			s.msgs = s.msgs[1:]
		} else {
			s.msgs = append(s.msgs[:i], s.msgs[i+1:]...)
		}
		s.bytes -= len(m.text)
		var sample time.Duration
		if m.tries == 1 && !m.first.IsZero() {
			sample = now.Sub(m.first)
		}
		return m, sample
	}
	return nil, 0
}

// overdue marks and returns the messages in flight for failAfter or longer
// that the user has not been told about yet.
func (s *outStream) overdue(now time.Time, failAfter time.Duration) []*outMsg {
	var late []*outMsg
	for _, m := range s.msgs {
		if m.tries > 0 && !m.pending && now.Sub(m.first) >= failAfter {
			m.pending = true
			late = append(late, m)
		}
	}
	return late
}

// markPending marks every message not yet reported as pending and returns
// those (the peer left: the user is told once per message).
func (s *outStream) markPending() []*outMsg {
	var late []*outMsg
	for _, m := range s.msgs {
		if !m.pending {
			m.pending = true
			late = append(late, m)
		}
	}
	return late
}

// deadline is the earliest time ready or overdue has something new to say
// (the zero Time if nothing is in flight).
func (s *outStream) deadline(failAfter time.Duration) time.Time {
	var t time.Time
	soon := func(d time.Time) {
		if t.IsZero() || d.Before(t) {
			t = d
		}
	}
	for _, m := range s.msgs {
		if m.tries == 0 {
			continue
		}
		soon(m.nextTry)
		if !m.pending {
			soon(m.first.Add(failAfter))
		}
	}
	return t
}

// rearm makes every waiting message start afresh: sent again at once,
// first over UDP, with no round-trip sample taken across the gap (an absence
// is not a round trip).
func (s *outStream) rearm() {
	for _, m := range s.msgs {
		m.tries, m.udpTries, m.first = 0, 0, time.Time{}
	}
}

// newStreamID picks the id of a new stream: random, so that it differs
// from every earlier stream to the same peer, across restarts too.
func newStreamID() uint64 {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(fmt.Sprintf("peer: random stream id: %v", err)) // crypto/rand does not fail on supported systems
		}
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}
