package peer

import (
	"slices"
	"testing"
	"time"
)

// The outgoing stream is driven here with explicit times: no goroutines, no
// timers. t0 is an arbitrary start.
var t0 = time.Unix(1000, 0)

// seqs lists the seqs of ms.
func seqs(ms []*outMsg) []uint64 {
	var s []uint64
	for _, m := range ms {
		s = append(s, m.seq)
	}
	return s
}

// transmitReady sends what ready returns at now, as the node's pump does,
// and returns their seqs.
func transmitReady(s *outStream, now time.Time, window int, rto, maxRTO time.Duration) []uint64 {
	due := s.ready(now, window)
	got := seqs(due)
	for _, m := range due {
		s.sent(m, now, true, rto, maxRTO)
	}
	return got
}

func pushN(s *outStream, n int, now time.Time) {
	for i := 0; i < n; i++ {
		s.push(uint64(i+1), "m", false, now)
	}
}

// TestOutStreamSeqs: messages are numbered from 1 in the order sent, and
// base is the lowest one not yet acknowledged (next seq when none waits).
func TestOutStreamSeqs(t *testing.T) {
	s := newOutStream(7)
	if s.base() != 1 || s.len() != 0 {
		t.Fatalf("empty stream: base %d len %d, want 1 0", s.base(), s.len())
	}
	for i := 1; i <= 3; i++ {
		if m := s.push(uint64(100+i), "x", i == 2, t0); m.seq != uint64(i) || m.id != uint64(100+i) || m.all != (i == 2) || !m.time.Equal(t0) {
			t.Fatalf("push %d: %+v", i, m)
		}
	}
	if s.base() != 1 || s.len() != 3 {
		t.Fatalf("base %d len %d, want 1 3", s.base(), s.len())
	}
	s.ack(2, t0)
	if s.base() != 1 {
		t.Fatalf("an ack out of order moved base to %d", s.base())
	}
	s.ack(1, t0)
	if s.base() != 3 {
		t.Fatalf("base %d after acks of 1 and 2, want 3", s.base())
	}
	s.ack(3, t0)
	if s.base() != 4 || s.len() != 0 {
		t.Fatalf("all acknowledged: base %d len %d, want 4 0", s.base(), s.len())
	}
}

// TestOutStreamWindow: at most window messages are in flight; each ack lets
// exactly one more go, and retransmissions do not count as new.
func TestOutStreamWindow(t *testing.T) {
	const rto, maxRTO = 100 * time.Millisecond, 2 * time.Second
	for _, tc := range []struct {
		name   string
		window int
		msgs   int
		first  []uint64
	}{
		{"fewer than the window", 4, 2, []uint64{1, 2}},
		{"exactly the window", 3, 3, []uint64{1, 2, 3}},
		{"more than the window", 3, 10, []uint64{1, 2, 3}},
		{"window of one", 1, 5, []uint64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newOutStream(1)
			pushN(&s, tc.msgs, t0)
			if got := transmitReady(&s, t0, tc.window, rto, maxRTO); !slices.Equal(got, tc.first) {
				t.Fatalf("first transmission %v, want %v", got, tc.first)
			}
			// Nothing is due before the RTO, and the window is full.
			if got := transmitReady(&s, t0.Add(rto-time.Nanosecond), tc.window, rto, maxRTO); len(got) != 0 {
				t.Fatalf("sent %v with the window full and no RTO passed", got)
			}
			// Acknowledge one at a time: each ack lets one new message go.
			now := t0.Add(10 * time.Millisecond)
			next := uint64(len(tc.first)) + 1
			for acked := uint64(1); acked <= uint64(tc.msgs); acked++ {
				if m, _ := s.ack(acked, now); m == nil {
					t.Fatalf("ack %d retired nothing", acked)
				}
				got := transmitReady(&s, now, tc.window, rto, maxRTO)
				var want []uint64
				if next <= uint64(tc.msgs) {
					want = []uint64{next}
					next++
				}
				if !slices.Equal(got, want) {
					t.Fatalf("after ack %d sent %v, want %v", acked, got, want)
				}
				if inFlight := countInFlight(&s); inFlight > tc.window {
					t.Fatalf("%d in flight, window %d", inFlight, tc.window)
				}
			}
		})
	}
}

func countInFlight(s *outStream) int {
	n := 0
	for _, m := range s.msgs {
		if m.tries > 0 {
			n++
		}
	}
	return n
}

// TestOutStreamRTO: a message is never retransmitted before its RTO, and the
// RTO doubles with every try up to maxRTO (then stays there).
func TestOutStreamRTO(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rto, maxRTO time.Duration
		want        []time.Duration // the gaps between successive transmissions
	}{
		{"doubles to the cap", 100 * time.Millisecond, time.Second,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second, time.Second}},
		{"cap not a power of two", 300 * time.Millisecond, 1000 * time.Millisecond,
			[]time.Duration{300 * time.Millisecond, 600 * time.Millisecond, time.Second, time.Second}},
		{"first rto above the cap", 5 * time.Second, 2 * time.Second,
			[]time.Duration{2 * time.Second, 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newOutStream(1)
			s.push(1, "m", false, t0)
			now := t0
			transmitReady(&s, now, 8, tc.rto, tc.maxRTO)
			for try, gap := range tc.want {
				if got := transmitReady(&s, now.Add(gap-time.Millisecond), 8, tc.rto, tc.maxRTO); len(got) != 0 {
					t.Fatalf("try %d: retransmitted %v %v after the last, before its RTO %v", try+2, got, gap-time.Millisecond, gap)
				}
				now = now.Add(gap)
				if got := transmitReady(&s, now, 8, tc.rto, tc.maxRTO); !slices.Equal(got, []uint64{1}) {
					t.Fatalf("try %d: at its RTO %v sent %v, want [1]", try+2, gap, got)
				}
			}
			if m := s.msgs[0]; m.tries != len(tc.want)+1 || !m.first.Equal(t0) {
				t.Fatalf("tries %d first %v, want %d %v", m.tries, m.first, len(tc.want)+1, t0)
			}
		})
	}
}

// TestOutStreamRTOHuge: a try count far past the cap costs no more than the
// doublings up to maxRTO, and never overflows into a past deadline.
func TestOutStreamRTOHuge(t *testing.T) {
	s := newOutStream(1)
	m := s.push(1, "m", false, t0)
	m.tries = 1 << 40
	s.sent(m, t0, false, time.Millisecond, time.Minute)
	if want := t0.Add(time.Minute); !m.nextTry.Equal(want) {
		t.Fatalf("nextTry %v, want %v", m.nextTry, want)
	}
}

// TestOutStreamUDPTries: UDP transmissions are counted apart from TCP ones
// (the node moves a message to TCP after its UDP tries).
func TestOutStreamUDPTries(t *testing.T) {
	s := newOutStream(1)
	m := s.push(1, "m", false, t0)
	s.sent(m, t0, true, time.Second, time.Second)
	s.sent(m, t0.Add(time.Second), true, time.Second, time.Second)
	s.sent(m, t0.Add(2*time.Second), false, time.Second, time.Second)
	if m.tries != 3 || m.udpTries != 2 {
		t.Fatalf("tries %d udpTries %d, want 3 2", m.tries, m.udpTries)
	}
}

// TestOutStreamAck: an ack retires its message once; a duplicate or
// unknown ack changes nothing; the RTT sample is taken only from a message
// sent exactly once (a retransmitted one's ack is ambiguous).
func TestOutStreamAck(t *testing.T) {
	const rto = 100 * time.Millisecond
	type step struct {
		seq         uint64
		at          time.Duration // after t0
		retired     bool
		sample      time.Duration
		wantWaiting []uint64
	}
	for _, tc := range []struct {
		name  string
		setup func(s *outStream) // after 3 pushes and their first transmission at t0
		steps []step
	}{
		{"in order", nil, []step{
			{1, 30 * time.Millisecond, true, 30 * time.Millisecond, []uint64{2, 3}},
			{2, 40 * time.Millisecond, true, 40 * time.Millisecond, []uint64{3}},
			{3, 50 * time.Millisecond, true, 50 * time.Millisecond, nil},
		}},
		{"out of order and duplicates", nil, []step{
			{2, 30 * time.Millisecond, true, 30 * time.Millisecond, []uint64{1, 3}},
			{2, 31 * time.Millisecond, false, 0, []uint64{1, 3}},
			{3, 32 * time.Millisecond, true, 32 * time.Millisecond, []uint64{1}},
			{1, 33 * time.Millisecond, true, 33 * time.Millisecond, nil},
			{1, 34 * time.Millisecond, false, 0, nil},
		}},
		{"unknown seqs", nil, []step{
			{0, time.Millisecond, false, 0, []uint64{1, 2, 3}},
			{4, time.Millisecond, false, 0, []uint64{1, 2, 3}},
			{1 << 63, time.Millisecond, false, 0, []uint64{1, 2, 3}},
			{^uint64(0), time.Millisecond, false, 0, []uint64{1, 2, 3}},
		}},
		{"retransmitted: no sample", func(s *outStream) {
			s.sent(s.msgs[0], t0.Add(rto), true, rto, time.Second)
		}, []step{
			{1, rto + 10*time.Millisecond, true, 0, []uint64{2, 3}},
			{2, rto + 20*time.Millisecond, true, rto + 20*time.Millisecond, []uint64{3}},
		}},
		{"never transmitted: no sample", func(s *outStream) {
			s.msgs[2].tries, s.msgs[2].first = 0, time.Time{}
		}, []step{
			{3, 10 * time.Millisecond, true, 0, []uint64{1, 2}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newOutStream(1)
			pushN(&s, 3, t0)
			transmitReady(&s, t0, 8, rto, time.Second)
			if tc.setup != nil {
				tc.setup(&s)
			}
			for i, st := range tc.steps {
				before := snapshot(&s)
				m, sample := s.ack(st.seq, t0.Add(st.at))
				if (m != nil) != st.retired || (m != nil && m.seq != st.seq) {
					t.Fatalf("step %d: ack(%d) retired %+v, want retired=%v", i, st.seq, m, st.retired)
				}
				if sample != st.sample {
					t.Fatalf("step %d: ack(%d) sample %v, want %v", i, st.seq, sample, st.sample)
				}
				if got := seqs(s.msgs); !slices.Equal(got, st.wantWaiting) {
					t.Fatalf("step %d: waiting %v, want %v", i, got, st.wantWaiting)
				}
				if !st.retired && !slices.Equal(before, snapshot(&s)) {
					t.Fatalf("step %d: an ack that retired nothing changed the stream:\n%v\n%v", i, before, snapshot(&s))
				}
			}
		})
	}
}

// snapshot is a comparable picture of what the stream holds.
func snapshot(s *outStream) []outMsg {
	var all []outMsg
	for _, m := range s.msgs {
		all = append(all, *m)
	}
	return all
}

// TestOutStreamOverdue: a message in flight for failAfter is reported once
// (the user is told "not delivered yet" once), messages waiting for the
// window are not, and deadline names the earliest moment something is due.
func TestOutStreamOverdue(t *testing.T) {
	const rto, maxRTO, failAfter = 100 * time.Millisecond, 400 * time.Millisecond, 3 * time.Second
	s := newOutStream(1)
	if !s.deadline(failAfter).IsZero() {
		t.Fatal("an empty stream has a deadline")
	}
	pushN(&s, 3, t0)
	if !s.deadline(failAfter).IsZero() {
		t.Fatal("a stream with nothing in flight has a deadline")
	}
	transmitReady(&s, t0, 1, rto, maxRTO) // 1 in flight, 2 and 3 wait for the window
	if d := s.deadline(failAfter); !d.Equal(t0.Add(rto)) {
		t.Fatalf("deadline %v, want the first RTO %v", d, t0.Add(rto))
	}
	if late := s.overdue(t0.Add(failAfter-time.Nanosecond), failAfter); len(late) != 0 {
		t.Fatalf("overdue before failAfter: %v", seqs(late))
	}
	// Keep retransmitting until failAfter: the deadline is always the next
	// retransmission or failAfter, whichever is first.
	now := t0
	for now.Before(t0.Add(failAfter)) {
		d := s.deadline(failAfter)
		if want := minTime(s.msgs[0].nextTry, t0.Add(failAfter)); !d.Equal(want) {
			t.Fatalf("at %v: deadline %v, want %v", now.Sub(t0), d, want)
		}
		now = d
		transmitReady(&s, now, 1, rto, maxRTO)
	}
	late := s.overdue(now, failAfter)
	if !slices.Equal(seqs(late), []uint64{1}) || !late[0].pending {
		t.Fatalf("overdue at failAfter: %v, want [1] marked pending", seqs(late))
	}
	if again := s.overdue(now.Add(time.Hour), failAfter); len(again) != 0 {
		t.Fatalf("reported twice: %v", seqs(again))
	}
	// Reported: only its retransmissions are due now.
	if d := s.deadline(failAfter); !d.Equal(s.msgs[0].nextTry) {
		t.Fatalf("deadline %v after the report, want the next retransmission %v", d, s.msgs[0].nextTry)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// TestOutStreamMarkPending: when the peer leaves, every message not yet
// reported is reported once, sent or not.
func TestOutStreamMarkPending(t *testing.T) {
	s := newOutStream(1)
	pushN(&s, 4, t0)
	transmitReady(&s, t0, 2, time.Second, time.Second)
	s.overdue(t0.Add(time.Hour), time.Minute) // 1 and 2 reported
	if got := seqs(s.markPending()); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("markPending %v, want [3 4]", got)
	}
	if got := s.markPending(); len(got) != 0 {
		t.Fatalf("markPending again: %v", seqs(got))
	}
}

// TestOutStreamRearm: after rearm (the peer came back or restarted) every
// waiting message is sent again at once, within the window, its RTO starts
// from the first again, and no RTT sample spans the absence.
func TestOutStreamRearm(t *testing.T) {
	const rto, maxRTO = 100 * time.Millisecond, 10 * time.Second
	s := newOutStream(1)
	pushN(&s, 5, t0)
	now := t0
	for i := 0; i < 6; i++ { // 3 in flight, retried until their RTO is large
		transmitReady(&s, now, 3, rto, maxRTO)
		now = s.msgs[0].nextTry
	}
	back := now.Add(time.Minute)
	s.rearm()
	if got := transmitReady(&s, back, 3, rto, maxRTO); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("after rearm sent %v, want [1 2 3] (the window)", got)
	}
	m := s.msgs[0]
	if m.tries != 1 || m.udpTries != 1 || !m.first.Equal(back) || !m.nextTry.Equal(back.Add(rto)) {
		t.Fatalf("after rearm: tries %d udp %d first %v next %v, want 1 1 %v %v", m.tries, m.udpTries, m.first, m.nextTry, back, back.Add(rto))
	}
	if _, sample := s.ack(1, back.Add(20*time.Millisecond)); sample != 20*time.Millisecond {
		t.Fatalf("sample %v, want 20ms (from the send after rearm, not from before the absence)", sample)
	}
}

// TestNewStreamID: stream ids are never 0 (0 means "no stream yet") and
// differ between streams.
func TestNewStreamID(t *testing.T) {
	seen := map[uint64]bool{}
	for i := 0; i < 1000; i++ {
		id := newStreamID()
		if id == 0 || seen[id] {
			t.Fatalf("stream id %d (zero or repeated)", id)
		}
		seen[id] = true
	}
}

// TestOutStreamSaved: with a Store, a message is transmitted only once it
// is on disk, and the messages after an unsaved one wait for it (order);
// restore, remove and drop keep the byte count that the outbox bounds use.
func TestOutStreamSaved(t *testing.T) {
	s := newOutStream(7)
	a := s.push(1, "aaaa", false, t0)
	b := s.push(2, "bb", false, t0)
	c := s.push(3, "c", false, t0)
	a.saved, b.saved, c.saved = true, false, true
	if got := transmitReady(&s, t0, 64, time.Second, time.Minute); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("with seq 2 not saved, ready sent %v, want [1] (3 waits behind 2)", got)
	}
	b.saved = true
	if got := transmitReady(&s, t0, 64, time.Second, time.Minute); !slices.Equal(got, []uint64{2, 3}) {
		t.Fatalf("once 2 is saved, ready sent %v, want [2 3]", got)
	}
	if s.bytes != 7 {
		t.Fatalf("bytes %d, want 7", s.bytes)
	}
	if !s.remove(b) || s.remove(b) || s.bytes != 5 || !slices.Equal(seqs(s.msgs), []uint64{1, 3}) {
		t.Fatalf("remove: bytes %d, msgs %v", s.bytes, seqs(s.msgs))
	}
	s.ack(1, t0)
	if s.bytes != 1 {
		t.Fatalf("after the ack of 1, bytes %d, want 1", s.bytes)
	}
	if got := s.drop(); !slices.Equal(seqs(got), []uint64{3}) || s.len() != 0 || s.bytes != 0 || s.base() != 4 {
		t.Fatalf("drop returned %v, left len %d bytes %d base %d; want [3], 0, 0, 4", seqs(got), s.len(), s.bytes, s.base())
	}

	// An earlier run's messages come back saved, with their seqs; new ones
	// follow them.
	r := newOutStream(9)
	r.nextSeq = 5
	r.restore(&outMsg{id: 40, seq: 5, text: "x"})
	r.restore(&outMsg{id: 41, seq: 7, text: "yy"})
	if m := r.push(42, "z", false, t0); m.seq != 8 || r.bytes != 4 || r.base() != 5 {
		t.Fatalf("after restore of 5 and 7, push got seq %d (want 8), bytes %d (want 4), base %d (want 5)", m.seq, r.bytes, r.base())
	}
	// 6 is not there (acknowledged, or its save failed): 7 and 8 wait
	// until 5 is acknowledged, then go with base 7, so that the receiver
	// does not hold them waiting for 6.
	if got := transmitReady(&r, t0, 64, time.Second, time.Minute); !slices.Equal(got, []uint64{5}) {
		t.Fatalf("restored messages: ready sent %v, want [5] (7 and 8 wait behind the hole at 6)", got)
	}
	r.ack(5, t0)
	if got := transmitReady(&r, t0, 64, time.Second, time.Minute); !slices.Equal(got, []uint64{7, 8}) || r.base() != 7 {
		t.Fatalf("once 5 is acknowledged, ready sent %v with base %d, want [7 8] with base 7", got, r.base())
	}
}
