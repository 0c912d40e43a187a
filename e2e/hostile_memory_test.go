package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// TestHostileReorderMemory: the memory attack of issue 10. From another
// laptop, 32 fresh keys share one TCP connection to alice; each says hello
// (the honest join) and then sends messages seq 2..N with base 1, a gap
// at 1 that never fills, 32 KiB of text each. alice's resident memory
// (VmRSS, and its high-water mark VmHWM) grows by at most 64 MiB, she
// acknowledges no more of them than her reorder budget holds and shows
// none, and bob's messages, one every 200 ms from a third laptop during
// the attack, are each shown within 1 s. (Before the budget, this took a
// node from 8 MB to 5.8 GB.)
func TestHostileReorderMemory(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	const (
		keys  = 32
		lastN = 1000 // seq 2..lastN per key
		size  = wire.MaxTextBytes
		// README: messages ahead of a gap, 16 MiB of text for all peers.
		reorderBudget = 16 << 20
		limitKB       = 64 << 10
	)
	lab := testnet.New(t, 3)
	ha, hm, hb := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	alice := StartNode(t, ha, "alice")
	bob := StartNode(t, hb, "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	sendAndConfirm(t, bob, "alice", "before the attack", alice)
	aloneNow() // the set-up above next to the shared tests; the attack alone

	pid := alice.Pid()
	before, err := proctest.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	hwmBefore, _ := proctest.StatusKB(pid, "VmHWM")

	hp := startHostile(t, hm, netip.AddrPortFrom(ha.IP, port))
	hp.do(hcmd{Op: "dial", Conn: "tcp", TCP: true}, "dialed", msgTimeout)

	// RSS every 100 ms while the attack lasts.
	sampler := proctest.SampleRSS(pid, 100*time.Millisecond)

	attackStart := time.Now()
	hm0 := hp.Mark()
	hp.Send(fmt.Sprintf(`{"op":"flood","conn":"tcp","keys":%d,"stream":77,"from":2,"to":%d,"size":%d}`, keys, lastN, size))
	var fe Event
	flooded := make(chan struct{})
	go func() {
		e, err := hp.Await(hm0, 3*time.Minute, func(e Event) bool { return e.Event == "flooded" || e.Event == "error" })
		if err != nil {
			e = Event{Event: "error", Raw: err.Error()}
		}
		fe = e
		close(flooded)
	}()

	// bob -> alice every 200 ms during the attack: each shown within 1 s.
	lat, late := relChatUntil(t, bob, alice, "during the attack", 10*time.Second, flooded)
	attackTime := time.Since(attackStart)
	samples := sampler.Stop()
	if fe.Event != "flooded" {
		t.Fatalf("the attack failed: %s\n%s", fe.Raw, hp.Report())
	}
	var res hevent
	if err := fe.Decode(&res); err != nil {
		t.Fatal(err)
	}

	if alice.Exited() {
		t.Fatalf("alice died during the attack\n%s", alice.Report())
	}
	sendAndConfirm(t, bob, "alice", "after the attack", alice)
	after, err := proctest.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	hwm, err := proctest.StatusKB(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	peak := proctest.PeakKB(before, samples)

	t.Logf("attack: %d keys over one TCP connection (%s), %d messages of %d KiB sent (%d MiB) in %v; %d acknowledged",
		res.Count, res.Text, res.Sent, size>>10, int64(res.Sent)*size>>20, attackTime.Round(time.Millisecond), res.Acks)
	t.Logf("alice RSS: before %d KiB, sampled peak %d KiB, high-water mark %d KiB (%d KiB before), after %d KiB: grew %d KiB at the peak, %d KiB after",
		before, peak, hwm, hwmBefore, after, max(peak, hwm)-before, after-before)
	slices.Sort(lat)
	if len(lat) > 0 {
		t.Logf("bob->alice during the attack: %d messages, latency min %v median %v max %v",
			len(lat), lat[0].Round(100*time.Microsecond), lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
	}

	if res.Count != keys || res.Sent != keys*(lastN-1) {
		t.Errorf("the attack joined %d keys and sent %d messages, want %d and %d", res.Count, res.Sent, keys, keys*(lastN-1))
	}
	if grown := max(peak, hwm) - before; grown > limitKB {
		t.Errorf("alice's RSS grew by %d KiB under the attack (before %d, peak %d, high-water %d KiB), bound %d KiB",
			grown, before, peak, hwm, limitKB)
	}
	if after-before > limitKB {
		t.Errorf("alice's RSS grew by %d KiB after the attack, bound %d KiB", after-before, limitKB)
	}
	if int64(res.Acks)*size > reorderBudget {
		t.Errorf("alice acknowledged %d messages ahead of a gap (%d MiB): more than her reorder budget of %d MiB holds",
			res.Acks, int64(res.Acks)*size>>20, reorderBudget>>20)
	}
	if len(lat) < 5 {
		t.Errorf("only %d of bob's messages were sent during the attack: it was too short to show anything", len(lat))
	}
	if len(late) > 0 {
		t.Errorf("%d of bob's messages took more than 1 s during the attack: %v", len(late), head(late))
	}
	for _, e := range alice.Events() {
		if e.Event == "message" && strings.HasPrefix(e.From, "flood") {
			t.Fatalf("alice showed a message of the flood (behind a gap that never filled): %s", e)
		}
	}
	relNoJunk(t, alice)
	relQuitStats(t, alice)
}
