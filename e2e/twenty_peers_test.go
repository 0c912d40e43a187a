package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTwentyPeers: twenty nodes find each other (each sees 19 joins and
// lists 19 peers), and one /all reaches the 19 others exactly once, all
// acknowledged.
func TestTwentyPeers(t *testing.T) {
	shared(t)
	allListAll(t, testnet.New(t, 20), 60*time.Second)
}

// allListAll starts a node on every host of lab at once and checks that
// each sees every other join (once) within limit of the first start and
// lists them all, and that one /all reaches all the others exactly once,
// all acknowledged.
func allListAll(t *testing.T, lab *testnet.Lab, limit time.Duration) {
	t.Helper()
	n := len(lab.Hosts)
	names := make([]string, n)
	procs := make([]*Proc, n)
	start := time.Now()
	for i := range procs {
		names[i] = fmt.Sprintf("node%02d", i+1)
		procs[i] = StartNode(t, lab.Hosts[i], names[i])
	}
	allStarted := time.Since(start)
	var lastJoin time.Time
	for i, p := range procs {
		for j, other := range names {
			if i == j {
				continue
			}
			e := p.Wait(t, time.Until(start.Add(limit)), IsJoined(other))
			if e.At.After(lastJoin) {
				lastJoin = e.At
			}
		}
	}
	t.Logf("%d nodes started (each ready) in %v; every node saw all %d others %v after the first start",
		n, allStarted.Round(time.Millisecond), n-1, lastJoin.Sub(start).Round(time.Millisecond))
	for i, p := range procs {
		if pe := p.Peers(t); len(pe) != n-1 {
			t.Errorf("%s: /peers lists %d peers, want %d", p, len(pe), n-1)
		}
		if j := countKind(p.Events(), "joined"); j != n-1 {
			t.Errorf("%s: %d joined events, want %d (one per peer)", procs[i], j, n-1)
		}
	}

	// /all from one reaches the others once each.
	si := n / 3
	sender := procs[si]
	marks := make([]int, n)
	for i, p := range procs {
		marks[i] = p.Mark()
	}
	sendAt := time.Now()
	sender.Send("/all hello everyone")
	sent := sender.WaitFrom(t, marks[si], msgTimeout, IsSent("all"))
	if len(sent.IDs) != n-1 {
		t.Errorf("%s: /all gave %d ids, want %d", sender, len(sent.IDs), n-1)
	}
	var lastMsg time.Time
	var per []string
	for i, p := range procs {
		if p == sender {
			continue
		}
		e := p.WaitFrom(t, marks[i], msgTimeout, IsMessage(names[si], "all", "hello everyone"))
		if e.At.After(lastMsg) {
			lastMsg = e.At
		}
		per = append(per, fmt.Sprintf("%s:%v", names[i], e.At.Sub(sendAt).Round(100*time.Microsecond)))
	}
	t.Logf("/all shown by each after: %s", strings.Join(per, " "))
	relWaitDelivered(t, sender, marks[si], time.Now().Add(msgTimeout), sent.IDs)
	t.Logf("/all reached all %d others %v after it was sent; all acknowledged after %v",
		n-1, lastMsg.Sub(sendAt).Round(time.Millisecond), time.Since(sendAt).Round(time.Millisecond))
	sender.Send("/all marker")
	for i, p := range procs {
		if p == sender {
			if c := countEvents(p, func(e Event) bool { return e.Event == "message" }); c != 0 {
				t.Errorf("%s showed %d messages, want none (its own /all is not shown back)", p, c)
			}
			continue
		}
		end := p.WaitFrom(t, marks[i], msgTimeout, IsMessage(names[si], "all", "marker"))
		if got := relMessages(p.Events()[marks[i]:end.Seq], names[si], "all"); !slices.Equal(got, []string{"hello everyone"}) {
			t.Errorf("%s: got %q before the marker, want the message exactly once", p, got)
		}
	}
}
