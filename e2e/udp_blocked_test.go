package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestUDPBlockedSwitchesAndReturns: all UDP to bob is dropped; each of 20
// messages is still delivered (over TCP) within 2 s, in order. Once UDP
// works again, messages are delivered over it and bob's transport is udp
// again.
func TestUDPBlockedSwitchesAndReturns(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	aloneNow() // the set-up above next to the shared tests; the timed messages alone

	lab.Hosts[1].DropUDP(t, 100, port)
	const perMessage = 2 * time.Second
	var lat []string
	var worst time.Duration
	for i := 1; i <= 20; i++ {
		text := fmt.Sprintf("blocked %02d", i)
		m := alice.Mark()
		start := time.Now()
		alice.Send("/to bob " + text)
		sent := alice.WaitFrom(t, m, msgTimeout, IsSent("bob"))
		d := alice.WaitFrom(t, m, perMessage, IsDelivered("bob", sent.IDs[0]))
		l := d.At.Sub(start)
		worst = max(worst, l)
		lat = append(lat, l.Round(100*time.Microsecond).String())
		if l > perMessage {
			t.Errorf("message %d delivered after %v, want within %v", i, l, perMessage)
		}
	}
	t.Logf("UDP to bob blocked: send->delivered per message: %s (worst %v)", strings.Join(lat, " "), worst.Round(time.Millisecond))
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprintf("blocked %02d", i+1)
	}
	// bob acknowledges as his node takes a message and prints it a moment
	// later: wait for the last line before looking at them all.
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", want[len(want)-1]))
	if got := relMessages(bob.Events(), "alice", "bob"); !slices.Equal(got, want) {
		t.Errorf("bob: %s", seqDiff(got, want))
	}
	if pe := findPeer(t, alice, "bob"); pe.Transport != "tcp" {
		t.Errorf("alice: /peers shows bob's transport %q with UDP to bob blocked, want tcp\n%s", pe.Transport, lab.Hosts[1].NFTRules(t))
	}

	// UDP works again: within about three heartbeats /peers says udp.
	lab.Hosts[1].DropUDP(t, 0, port)
	unblocked := time.Now()
	if _, ok := relWaitTransport(t, alice, "udp", 16*time.Second, "bob"); !ok {
		t.Fatalf("alice: /peers still does not show bob on udp %v after UDP was unblocked\n%s", time.Since(unblocked).Round(time.Millisecond), alice.Report())
	}
	back := time.Since(unblocked)
	t.Logf("UDP unblocked: /peers shows bob on udp again after %v", back.Round(time.Millisecond))
	for i := 1; i <= 3; i++ {
		text := fmt.Sprintf("udp again %d", i)
		start := time.Now()
		ids := alice.SendTo(t, "bob", text)
		d := alice.Wait(t, perMessage, IsDelivered("bob", ids[0]))
		bob.Wait(t, msgTimeout, IsMessage("alice", "bob", text))
		t.Logf("after UDP returned: message %d delivered in %v", i, d.At.Sub(start).Round(100*time.Microsecond))
	}
	if pe := findPeer(t, alice, "bob"); pe.Transport != "udp" {
		t.Errorf("alice: bob's transport is %q after messages over working UDP, want udp", pe.Transport)
	}
}
