package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestLoss1000: five nodes, 25% of UDP datagrams dropped at random. 1,000
// messages alice->bob sent back to back, then 200 /all to the four others:
// every one is shown exactly once and in order, and every copy is
// acknowledged, within bounds; retransmissions and transport switches
// are logged.
func TestLoss1000(t *testing.T) {
	sharedFirst(t)
	lab := testnet.New(t, 5)
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	procs := make([]*Proc, len(names))
	for i, n := range names {
		procs[i] = StartNode(t, lab.Hosts[i], n)
	}
	alice, bob := procs[0], procs[1]
	for i, p := range procs {
		p.WaitJoined(t, slices.Delete(slices.Clone(names), i, i+1)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range lab.Hosts {
				t.Logf("nft on %s:\n%s", h.Name, h.NFTRules(t))
			}
		}
	})

	t.Run("direct-1000", func(t *testing.T) {
		lab.Hosts[0].DropUDP(t, 25, port)
		lab.Hosts[1].DropUDP(t, 25, port)
		relCountTraffic(t, lab.Hosts[1])
		const count = 1000
		want := relNumbered("m", count)
		bm, am := bob.Mark(), alice.Mark()
		start := time.Now()
		for _, w := range want {
			alice.Send("/to bob " + w) // back to back
		}
		deadline := start.Add(90 * time.Second)
		bob.WaitFrom(t, bm, time.Until(deadline), IsMessage("alice", "bob", want[count-1]))
		arrived := time.Since(start)
		// Every id is acknowledged.
		alice.WaitFrom(t, am, time.Until(deadline), relCountIDs("bob", count))
		ids := relSentIDs(alice.Events()[am:], "bob")
		if len(ids) != count {
			t.Fatalf("alice: %d ids in sent events, want %d\n%s", len(ids), count, alice.Report())
		}
		relWaitDelivered(t, alice, am, deadline, ids)
		acked := time.Since(start)
		// A marker after all acknowledgements: a late duplicate would come
		// before it.
		alice.SendTo(t, "bob", "end")
		end := bob.WaitFrom(t, bm, msgTimeout*3, IsMessage("alice", "bob", "end"))
		got := relMessages(bob.Events()[bm:end.Seq], "alice", "bob")
		if !slices.Equal(got, want) {
			t.Fatalf("bob received %d messages, want %d exactly once in order; %s", len(got), count, seqDiff(got, want))
		}
		aev := alice.Events()[am:]
		for _, e := range aev {
			if e.Event == "error" || e.Event == "warning" {
				t.Errorf("alice: %s", e)
			}
		}
		t.Logf("%d messages alice->bob through 25%% loss on both hosts: all shown by bob after %v, all acknowledged after %v",
			count, arrived.Round(time.Millisecond), acked.Round(time.Millisecond))
		t.Logf("alice events meanwhile: %d 'pending' (still trying), %d switches to TCP, %d back to UDP",
			countKind(aev, "pending"), relCountInfo(aev, "using TCP"), relCountInfo(aev, "works again"))
		if relRetransmitsExposed(alice.Events()) {
			t.Logf("a retransmission count appears in alice's events during the run")
		} else {
			t.Logf("retransmission count: not in any event or /peers answer during the run (only in the final stats event, below)")
		}
		relLogDrops(t, lab.Hosts[0], lab.Hosts[1])
		t.Logf("arrived at bob's port %d (before the drop rules): %s; alice's /peers now: %v",
			port, relTraffic(t, lab.Hosts[1]), relTransports(t, alice, "bob"))
	})

	t.Run("all-200-to-4", func(t *testing.T) {
		for _, h := range lab.Hosts {
			h.DropUDP(t, 25, port)
		}
		// Under this loss one message unanswered three times moves a peer
		// to TCP until a heartbeat gets through over UDP: start with every
		// peer on UDP if that happens in reasonable time, so that the loss
		// is really exercised (the program's choice is not a failure).
		if d, ok := relWaitTransport(t, alice, "udp", 20*time.Second, names[1:]...); ok {
			t.Logf("alice: every peer on udp again %v after the first phase", d.Round(time.Millisecond))
		} else {
			t.Logf("alice: not every peer on udp after %v: %v", d.Round(time.Millisecond), relTransports(t, alice, names[1:]...))
		}
		for _, h := range lab.Hosts[1:] {
			relCountTraffic(t, h)
		}
		const count = 200
		want := relNumbered("a", count)
		marks := make([]int, len(procs))
		for i, p := range procs {
			marks[i] = p.Mark()
		}
		am := marks[0]
		start := time.Now()
		for _, w := range want {
			alice.Send("/all " + w)
		}
		deadline := start.Add(90 * time.Second)
		for i, p := range procs[1:] {
			p.WaitFrom(t, marks[i+1], time.Until(deadline), IsMessage("alice", "all", want[count-1]))
		}
		arrived := time.Since(start)
		alice.WaitFrom(t, am, time.Until(deadline), relCountIDs("all", count*4))
		ids := relSentIDs(alice.Events()[am:], "all")
		if len(ids) != count*4 {
			t.Fatalf("alice: %d ids in sent events for %d /all to 4 peers, want %d", len(ids), count, count*4)
		}
		relWaitDelivered(t, alice, am, deadline, ids)
		acked := time.Since(start)
		alice.Send("/all end")
		for i, p := range procs[1:] {
			end := p.WaitFrom(t, marks[i+1], msgTimeout*3, IsMessage("alice", "all", "end"))
			got := relMessages(p.Events()[marks[i+1]:end.Seq], "alice", "all")
			if !slices.Equal(got, want) {
				t.Errorf("%s received %d /all messages, want %d exactly once in order; %s", p, len(got), count, seqDiff(got, want))
			}
		}
		t.Logf("%d /all messages alice->4 peers through 25%% loss on every host: all shown after %v, all %d copies acknowledged after %v",
			count, arrived.Round(time.Millisecond), count*4, acked.Round(time.Millisecond))
		relLogDrops(t, lab.Hosts...)
		aev := alice.Events()[am:]
		t.Logf("alice events meanwhile: %d 'pending' (still trying), %d switches to TCP, %d back to UDP; /peers now %v",
			countKind(aev, "pending"), relCountInfo(aev, "using TCP"), relCountInfo(aev, "works again"), relTransports(t, alice, names[1:]...))
		for _, h := range lab.Hosts[1:] {
			t.Logf("arrived at %s's port %d: %s", h.Hostname, port, relTraffic(t, h))
		}
	})
	// The counters of the whole run (both phases), as p2pchat reports them
	// when it ends.
	relQuitStats(t, alice)
}
