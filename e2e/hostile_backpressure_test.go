package e2e

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestHostileBackpressure: the reader of a node's -json output stops
// reading (its stdout is a pipe nobody empties) while a hostile key sends
// it 20,000 messages of 4 KiB, three times over for those not
// acknowledged. The node's RSS stays within 64 MiB of what it was and it
// acknowledges no more than its bounds for a stalled user side hold
// (README: 1 MiB per peer, plus 64 events and 64 KiB of shell output; a
// pipe and the reader's buffer hold 128 KiB more: 2 MiB in all is
// allowed). Once the reader reads again, every acknowledged message is
// shown exactly once; the key then sends the rest with a window, resending
// what is not acknowledged, and in the end every message is shown exactly
// once.
func TestHostileBackpressure(t *testing.T) {
	sharedFirst(t) // its bounds are bytes and counts, not times: load does not move them
	const (
		total    = 20000
		size     = 4096
		boundB   = 2 << 20
		limitKB  = 64 << 10
		stream   = 9
		prefix   = "bp"
		seqStart = len(prefix)
	)
	start := time.Now()
	lab := testnet.New(t, 2)
	hs, hm := lab.Hosts[0], lab.Hosts[1]
	slow := StartNode(t, hs, "slow")
	hp := startHostile(t, hm, netip.AddrPortFrom(hs.IP, port))
	hp.do(hcmd{Op: "dial", Conn: "tcp", TCP: true}, "dialed", msgTimeout)
	s := hp.do(hcmd{Op: "join", Conn: "tcp", Peer: "s", Nick: "sender", Host: "evil"}, "joined", msgTimeout)
	slow.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == s.ID })

	pid := slow.Pid()
	before, err := proctest.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	sampler := proctest.SampleRSS(pid, 100*time.Millisecond)

	// Nobody reads; the key sends everything, three times over for what is
	// not acknowledged.
	slow.PauseReading()
	stalled := time.Now()
	st := hp.do(hcmd{Op: "stream", Peer: "s", Stream: stream, From: 1, To: total, Size: size, Text: prefix, Rounds: 3}, "streamed", 3*time.Minute)
	acked := hp.do(hcmd{Op: "acked", Peer: "s", Stream: stream}, "acked", msgTimeout).IDs
	stalledFor := time.Since(stalled)
	peak := proctest.PeakKB(before, sampler.Stop())
	during, _ := proctest.RSS(pid)
	hwm, _ := proctest.StatusKB(pid, "VmHWM")
	t.Logf("nobody reading: %d messages sent (%d MiB) in %v, %d acknowledged (%d KiB); RSS before %d KiB, peak %d KiB, high-water %d KiB, at the end %d KiB",
		st.Sent, int64(st.Sent)*size>>20, stalledFor.Round(time.Millisecond), len(acked), len(acked)*size>>10, before, peak, hwm, during)
	if len(acked) == total {
		t.Errorf("all %d messages were acknowledged although nobody read the node's output", total)
	}
	if len(acked)*size > boundB {
		t.Errorf("%d messages (%d KiB) acknowledged while nobody read: more than the bounds hold (%d KiB)", len(acked), len(acked)*size>>10, boundB>>10)
	}
	if grown := max(peak, during) - before; grown > limitKB {
		t.Errorf("RSS grew by %d KiB while nobody read, bound %d KiB", grown, limitKB)
	}
	if slow.Exited() {
		t.Fatalf("the node died while nobody read its output\n%s", slow.Report())
	}
	if t.Failed() {
		return
	}

	// The reader reads again: what was acknowledged is shown.
	shownSeq := func(e Event) (int, bool) {
		if e.Event != "message" || e.PeerID != s.ID || len(e.Text) < seqStart+6 {
			return 0, false
		}
		n, err := strconv.Atoi(e.Text[seqStart : seqStart+6])
		return n, err == nil
	}
	want := map[int]bool{}
	for _, id := range acked {
		want[int(id)] = true
	}
	resumed := time.Now()
	slow.ResumeReading()
	if _, err := slow.Await(0, time.Minute, func(e Event) bool {
		if n, ok := shownSeq(e); ok {
			delete(want, n)
		}
		return len(want) == 0
	}); err != nil {
		t.Fatalf("%d of the %d messages acknowledged while nobody read were not shown after reading resumed (%v), e.g. %v",
			len(want), len(acked), err, firstKeys(want, 10))
	}
	showAcked := time.Since(resumed)

	// The rest, sent with a window as an honest sender would.
	fin := hp.do(hcmd{Op: "stream", Peer: "s", Stream: stream, From: 1, To: total, Size: size, Text: prefix, Window: 64, Millis: 120000}, "streamed", 3*time.Minute)
	if !fin.Done {
		t.Fatalf("after reading resumed, %d of %d messages were acknowledged within 120 s", fin.Acks, total)
	}
	count := map[int]int{}
	if _, err := slow.Await(0, time.Minute, func(e Event) bool {
		if n, ok := shownSeq(e); ok {
			count[n]++
		}
		return len(count) == total
	}); err != nil {
		t.Fatalf("only %d of %d messages were shown after all were acknowledged: %v", len(count), total, err)
	}
	// Nothing shown twice: count over the whole log.
	dups := 0
	count = map[int]int{}
	for _, e := range slow.Events() {
		if n, ok := shownSeq(e); ok {
			count[n]++
			if count[n] == 2 {
				dups++
			}
		}
	}
	if dups > 0 {
		t.Errorf("%d messages were shown more than once", dups)
	}
	for n := 1; n <= total; n++ {
		if count[n] != 1 {
			t.Errorf("message %d shown %d times", n, count[n])
			break
		}
	}
	after, _ := proctest.RSS(pid)
	t.Logf("after reading resumed: the %d acknowledged messages shown in %v; the rest sent with a window of 64 (%d sends) in %v; RSS %d KiB; test took %v",
		len(acked), showAcked.Round(time.Millisecond), fin.Sent, time.Duration(fin.Millis)*time.Millisecond, after, time.Since(start).Round(time.Millisecond))
	relQuitStats(t, slow)
}

func firstKeys(m map[int]bool, n int) []string {
	var s []string
	for k := range m {
		if len(s) == n {
			break
		}
		s = append(s, fmt.Sprint(k))
	}
	return s
}
