package peer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
)

// TestOutboxTotalBoundInMemory: without a Store (-store=false) the outbox
// is bounded in all (OutboxBytes) as it is with one, and /unsend gives back
// exactly the room its messages took.
func TestOutboxTotalBoundInMemory(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(41)
		a := startNode(t, mn, "alice")            // no virtual time passes: nothing is retransmitted
		perPeer := OutboxPeerBytes / MaxTextBytes // full-size messages one peer's queue holds
		full := OutboxBytes / OutboxPeerBytes     // peers whose full queues fill the outbox
		text := strings.Repeat("x", MaxTextBytes)
		var ids []string
		for i := range full + 1 {
			f := newFakePeer(t, a.Node, fmt.Sprintf("10.9.0.%d:7117", i+1)) // nobody there: nothing is acknowledged
			f.join(fmt.Sprintf("p%d", i))
			ids = append(ids, KeyID(&f.id.Public))
		}
		for _, id := range ids[:full] {
			for j := range perPeer {
				if _, err := a.Node.Send(id, text); err != nil {
					t.Fatalf("message %d of %d to one peer refused: %v", j+1, perPeer, err)
				}
			}
		}
		_, err := a.Node.Send(ids[full], text)
		if qf := (*QueueFullError)(nil); !errors.Is(err, ErrQueueFull) || !errors.As(err, &qf) || qf.Queue != QueueAllBytes {
			t.Fatalf("%d MiB waiting, one more message: err %v; want the outbox's bound (%d MiB)", OutboxBytes>>20, err, OutboxBytes>>20)
		}
		if got, err := a.Node.Unsend(ids[0]); err != nil || got != perPeer {
			t.Fatalf("Unsend = %d, %v; want %d", got, err, perPeer)
		}
		for j := range perPeer { // the room /unsend freed, and no more
			if _, err := a.Node.Send(ids[full], text); err != nil {
				t.Fatalf("after /unsend, message %d of %d refused: %v", j+1, perPeer, err)
			}
		}
		if _, err := a.Node.Send(ids[0], text); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("after /unsend and as much sent again, one more message: err %v; want the outbox's bound", err)
		}
	})
}

// TestOutboxCountReturnsToZero: messages acknowledged (ours and an away
// answer) or unsent give their room back, with and without a Store.
func TestOutboxCountReturnsToZero(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("store=%v", keep), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mn := NewMemNet(42)
				var opt []func(*Config)
				if keep {
					o, _ := durable(t, t.TempDir())
					opt = append(opt, o)
				}
				a := startNode(t, mn, "alice", opt...)
				b := startNode(t, mn, "bob")
				introduce(a, b)
				a.waitJoined("bob")
				if err := b.SetAway("gone fishing"); err != nil {
					t.Fatal(err)
				}
				want := []func(Event) bool{func(e Event) bool { return e.Kind == EvMessage && e.Text == AwayPrefix+"gone fishing" }}
				for i := range 5 {
					ids, err := a.Send("bob", fmt.Sprintf("m%d", i))
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, func(e Event) bool { return e.Kind == EvDelivered && e.ID == ids[0] })
				}
				a.waitAll(want...)
				b.wait("away answer delivered", func(e Event) bool { return e.Kind == EvDelivered })
				b.tr.Unplug(true)
				if _, err := a.Send("bob", "unsent"); err != nil {
					t.Fatal(err)
				}
				if got, err := a.Node.Unsend(b.ID()); err != nil || got != 1 {
					t.Fatalf("Unsend = %d, %v; want 1", got, err)
				}
				for _, n := range []*testNode{a, b} {
					n.mu.Lock()
					got := n.outBytes
					n.mu.Unlock()
					if got != 0 {
						t.Errorf("%s: %d bytes counted as waiting in the outbox, none waits", n.Name(), got)
					}
				}
			})
		})
	}
}
