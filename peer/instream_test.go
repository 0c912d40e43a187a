package peer

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// inPkt is one message packet of a peer's stream, as the wire would decode
// it (the codec refuses stream, seq or base 0 and base > seq).
type inPkt struct {
	stream, seq, base uint64
	text              string
}

func (p inPkt) payload() *wire.Payload {
	text := p.text
	if text == "" {
		text = fmt.Sprintf("m%d", p.seq)
	}
	return &wire.Payload{Kind: wire.KindMsg, Stream: p.stream, Seq: p.seq, Base: p.base, Text: text}
}

type inWant struct {
	shown   []uint64 // seqs shown by this packet, in order
	verdict inVerdict
}

func shownSeqs(ms []inMsg) []uint64 {
	var s []uint64
	for _, m := range ms {
		s = append(s, m.seq)
	}
	return s
}

func budget() *reorderBudget {
	return &reorderBudget{ahead: 8, perPeer: 1 << 20, total: 1 << 20}
}

// checkBudget: what the stream and the budget count is what the buffer holds.
func checkBudget(t *testing.T, step int, s *inStream, b *reorderBudget, others int) {
	t.Helper()
	n := 0
	for _, m := range s.buf {
		n += len(m.text)
	}
	if s.bytes != n || b.used != n+others {
		t.Fatalf("step %d: stream counts %d bytes, budget %d, buffer holds %d (others %d)", step, s.bytes, b.used, n, others)
	}
	if _, stuck := s.buf[s.next]; stuck {
		t.Fatalf("step %d: seq %d is buffered but is the next to show: it would never be shown", step, s.next)
	}
}

// TestInStream: each message is shown exactly once and in seq order,
// whatever order and how often the packets arrive.
func TestInStream(t *testing.T) {
	const S, S2 = 0xabc, 0xdef
	type step struct {
		pkt  inPkt
		want inWant
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 2, 1, ""}, inWant{[]uint64{2}, inAccepted}},
			{inPkt{S, 3, 3, ""}, inWant{[]uint64{3}, inAccepted}},
		}},
		{"duplicates acknowledged, not shown again", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 1, 1, ""}, inWant{nil, inDuplicate}},
			{inPkt{S, 2, 1, ""}, inWant{[]uint64{2}, inAccepted}},
			{inPkt{S, 1, 1, ""}, inWant{nil, inDuplicate}},
			{inPkt{S, 2, 2, ""}, inWant{nil, inDuplicate}},
		}},
		{"a gap is buffered, then filled", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 4, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 3, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 4, 2, ""}, inWant{nil, inDuplicate}}, // buffered already
			{inPkt{S, 6, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 2, 2, ""}, inWant{[]uint64{2, 3, 4}, inAccepted}},
			{inPkt{S, 5, 5, ""}, inWant{[]uint64{5, 6}, inAccepted}},
			{inPkt{S, 6, 5, ""}, inWant{nil, inDuplicate}},
		}},
		{"first packet of a stream starts at its base", []step{
			{inPkt{S, 12, 10, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 9, 9, ""}, inWant{nil, inDuplicate}}, // before the base the sender first named
			{inPkt{S, 10, 10, ""}, inWant{[]uint64{10}, inAccepted}},
			{inPkt{S, 11, 10, ""}, inWant{[]uint64{11, 12}, inAccepted}},
		}},
		{"too far ahead refused, not acknowledged", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 2 + 8, 2, ""}, inWant{nil, inRefused}}, // ahead is 8: seqs 2..9 may be taken
			{inPkt{S, 2 + 7, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, ^uint64(0), 2, ""}, inWant{nil, inRefused}},
		}},
		{"base skips ahead: what is buffered below it is shown in order", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 5, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 3, 2, ""}, inWant{nil, inAccepted}},
			// The sender no longer waits for 2 (an earlier run of ours
			// acknowledged it).
			{inPkt{S, 7, 6, ""}, inWant{[]uint64{3, 5}, inAccepted}},
			{inPkt{S, 6, 6, ""}, inWant{[]uint64{6, 7}, inAccepted}},
		}},
		{"base skips onto buffered messages: they are shown", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 5, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 6, 2, ""}, inWant{nil, inAccepted}},
			// Base 5: 5 and 6 were taken and acknowledged, so they are
			// shown now, and 7 right after them.
			{inPkt{S, 7, 5, ""}, inWant{[]uint64{5, 6, 7}, inAccepted}},
			{inPkt{S, 5, 5, ""}, inWant{nil, inDuplicate}},
		}},
		{"base lands on a buffered message that comes again", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 4, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 4, 4, ""}, inWant{[]uint64{4}, inDuplicate}},
			{inPkt{S, 5, 4, ""}, inWant{[]uint64{5}, inAccepted}},
		}},
		{"a hostile base of 2^63 does not loop", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 3, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 1 << 63, 1 << 63, ""}, inWant{[]uint64{3, 1 << 63}, inAccepted}},
			{inPkt{S, 4, 4, ""}, inWant{nil, inDuplicate}},
			{inPkt{S, ^uint64(0), ^uint64(0), ""}, inWant{[]uint64{^uint64(0)}, inAccepted}},
		}},
		{"a new stream shows what the old one left buffered, then starts at its base", []step{
			{inPkt{S, 1, 1, ""}, inWant{[]uint64{1}, inAccepted}},
			{inPkt{S, 4, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S, 3, 2, ""}, inWant{nil, inAccepted}},
			{inPkt{S2, 1, 1, ""}, inWant{[]uint64{3, 4, 1}, inAccepted}},
			{inPkt{S2, 2, 1, ""}, inWant{[]uint64{2}, inAccepted}},
			{inPkt{S, 5, 2, ""}, inWant{nil, inAccepted}}, // the old stream again: a stream of its own
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s inStream
			b := budget()
			for i, st := range tc.steps {
				got, v := s.receive(st.pkt.payload(), b, nil)
				if v != st.want.verdict || !slices.Equal(shownSeqs(got), st.want.shown) {
					t.Fatalf("step %d %+v: shown %v verdict %d, want %v %d", i, st.pkt, shownSeqs(got), v, st.want.shown, st.want.verdict)
				}
				for _, m := range got {
					if m.text != fmt.Sprintf("m%d", m.seq) {
						t.Fatalf("step %d: seq %d shown with text %q", i, m.seq, m.text)
					}
				}
				checkBudget(t, i, &s, b, 0)
			}
		})
	}
}

// TestInStreamExactlyOnce: every permutation-like arrival order of a
// window's messages, each sent twice, shows 1..n exactly once in order.
func TestInStreamExactlyOnce(t *testing.T) {
	const n = 7
	orders := [][]uint64{
		{1, 2, 3, 4, 5, 6, 7},
		{7, 6, 5, 4, 3, 2, 1},
		{2, 4, 6, 1, 3, 5, 7},
		{4, 1, 7, 2, 6, 3, 5},
	}
	for _, order := range orders {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			var s inStream
			b := budget()
			var shown []uint64
			for round := 0; round < 2; round++ {
				for _, seq := range order {
					got, v := s.receive(inPkt{1, seq, 1, ""}.payload(), b, nil)
					if v == inRefused {
						t.Fatalf("seq %d refused", seq)
					}
					shown = append(shown, shownSeqs(got)...)
				}
			}
			if want := []uint64{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(shown, want) {
				t.Fatalf("shown %v, want %v", shown, want)
			}
			if len(s.buf) != 0 || b.used != 0 || s.next != n+1 {
				t.Fatalf("left %d buffered, %d bytes used, next %d", len(s.buf), b.used, s.next)
			}
		})
	}
}

// TestInStreamBudget: a stream's buffer never exceeds its byte budget, all
// streams together never exceed the total, a refused message is not
// acknowledged (so its sender keeps it), and the room is returned when the
// messages are shown.
func TestInStreamBudget(t *testing.T) {
	const S = 1
	text := func(n int) string { return strings.Repeat("x", n) }
	b := &reorderBudget{ahead: 64, perPeer: 100, total: 150}
	var a, c inStream
	a.receive(inPkt{S, 1, 1, ""}.payload(), b, nil)
	c.receive(inPkt{S, 1, 1, ""}.payload(), b, nil)
	steps := []struct {
		s       *inStream
		pkt     inPkt
		verdict inVerdict
		used    int
	}{
		{&a, inPkt{S, 3, 2, text(60)}, inAccepted, 60},
		{&a, inPkt{S, 4, 2, text(40)}, inAccepted, 100},  // exactly the per-stream budget
		{&a, inPkt{S, 5, 2, text(1)}, inRefused, 100},    // one byte past it
		{&c, inPkt{S, 3, 2, text(50)}, inAccepted, 150},  // exactly the total
		{&c, inPkt{S, 4, 2, text(1)}, inRefused, 150},    // one byte past the total
		{&c, inPkt{S, 2, 2, text(500)}, inAccepted, 100}, // filling the gap is shown at once, whatever its size; 3 is shown too
		{&c, inPkt{S, 5, 2, text(1)}, inAccepted, 101},
		{&a, inPkt{S, 2, 2, ""}, inAccepted, 1}, // a's buffer is shown: its room comes back
		{&a, inPkt{S, 5, 2, text(1)}, inAccepted, 1},
	}
	for i, st := range steps {
		_, v := st.s.receive(st.pkt.payload(), b, nil)
		if v != st.verdict || b.used != st.used {
			t.Fatalf("step %d: verdict %d used %d, want %d %d", i, v, b.used, st.verdict, st.used)
		}
		if a.bytes > b.perPeer || c.bytes > b.perPeer || b.used > b.total {
			t.Fatalf("step %d: over budget: %d %d of %d, total %d of %d", i, a.bytes, c.bytes, b.perPeer, b.used, b.total)
		}
		if a.bytes+c.bytes != b.used {
			t.Fatalf("step %d: streams hold %d+%d, budget counts %d", i, a.bytes, c.bytes, b.used)
		}
	}
	if b.refusals != 2 {
		t.Fatalf("refusals %d, want 2", b.refusals)
	}
	// A new stream of c shows what its old one buffered: its room comes
	// back too.
	if got, _ := c.receive(inPkt{S + 1, 1, 1, ""}.payload(), b, nil); !slices.Equal(shownSeqs(got), []uint64{5, 1}) || b.used != 0 || c.bytes != 0 {
		t.Fatalf("after c's new stream: shown %v used %d", shownSeqs(got), b.used)
	}
}
