package peer

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

// sentLog records, from the events a wait shows it, the ids of EvSent
// (in order, repeats kept) and of EvFailed.
type sentLog struct {
	sent   []uint64
	failed map[uint64]Reason
}

func (l *sentLog) see(e Event) {
	switch e.Kind {
	case EvSent:
		l.sent = append(l.sent, e.IDs...)
	case EvFailed:
		if l.failed == nil {
			l.failed = map[uint64]Reason{}
		}
		l.failed[e.ID] = e.Reason
	}
}

// until waits until match, recording every event on the way.
func (l *sentLog) until(tn *testNode, what string, match func(Event) bool) {
	tn.t.Helper()
	tn.wait(what, func(e Event) bool { l.see(e); return match(e) })
}

// checkSentOnce checks that l announced exactly want "sent", each once
// (in any order): no id twice, none Send did not return in this run.
func checkSentOnce(t *testing.T, run string, l *sentLog, want []uint64) {
	t.Helper()
	count := map[uint64]int{}
	for _, id := range l.sent {
		count[id]++
	}
	var twice, unknown, missing []uint64
	for _, id := range slices.Sorted(func(yield func(uint64) bool) {
		for id := range count {
			if !yield(id) {
				return
			}
		}
	}) {
		if count[id] > 1 {
			twice = append(twice, id)
		}
		if !slices.Contains(want, id) {
			unknown = append(unknown, id)
		}
	}
	for _, id := range want {
		if count[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(twice)+len(unknown)+len(missing) > 0 {
		t.Errorf("%s: announced sent %v; want %v once each: twice %v, not given in this run %v, missing %v", run, l.sent, want, twice, unknown, missing)
	}
}

// TestDurableSentOncePerRun: a message is announced "sent" (on disk and on
// its way) at most once, only under an id Send returned in the same run,
// and only if its save succeeded: whether the store writes it at once,
// late (it held the write), or fails it; and a restarted run, which sends
// the messages it finds on disk again, does not announce them again.
func TestDurableSentOncePerRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		saveErr error // what the held saves end with
	}{
		{"held saves written late", nil},
		{"held saves fail", errors.New("disk full")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mn := NewMemNet(29)
				g := gatedAway(t, mn) // bob is away: everything stays queued
				a, gs, dir, stop, bobID := g.a, g.gs, g.dir, g.stop, g.bobID
				var run1 sentLog
				var early, held []uint64
				for i := range 3 {
					early = append(early, sendOne(t, a, fmt.Sprintf("early %d", i+1)))
				}
				run1.until(a, "the early ones sent", func(e Event) bool { return e.Kind == EvSent && slices.Contains(e.IDs, early[2]) })
				gs.shut()
				for i := range 3 {
					held = append(held, sendOne(t, a, fmt.Sprintf("held %d", i+1)))
				}
				for range held {
					<-gs.arrived // the store has the write and holds it
				}
				gs.open(tc.saveErr)
				marker1 := sendOne(t, a, "marker 1")
				run1.until(a, "marker 1 sent", func(e Event) bool { return e.Kind == EvSent && slices.Contains(e.IDs, marker1) })
				want := slices.Concat(early, []uint64{marker1})
				if tc.saveErr == nil {
					want = slices.Concat(early, held, []uint64{marker1})
				} else {
					for _, id := range held {
						if run1.failed[id] != ReasonNotSaved {
							t.Errorf("message %d, whose save failed: failed %q, want %q", id, run1.failed[id], ReasonNotSaved)
						}
					}
				}
				checkSentOnce(t, "first run", &run1, want)
				restored := want

				// The next run finds them on disk and sends them when bob
				// is back; it announces only what it is given itself.
				a2, _ := restart(t, mn, a, stop, dir)
				var run2 sentLog
				later := sendOne(t, a2, "after the restart")
				b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
				introduce(b2, a2)
				undelivered := map[uint64]bool{later: true}
				for _, id := range restored {
					undelivered[id] = true
				}
				run2.until(a2, "every message delivered", func(e Event) bool {
					if e.Kind == EvDelivered {
						delete(undelivered, e.ID)
					}
					return len(undelivered) == 0
				})
				marker2 := sendOne(t, a2, "marker 2")
				run2.until(a2, "marker 2 sent", func(e Event) bool { return e.Kind == EvSent && slices.Contains(e.IDs, marker2) })
				checkSentOnce(t, "restarted run", &run2, []uint64{later, marker2})
			})
		})
	}
}

// TestDurableFailedSaveLeavesNoGap: messages whose save failed leave a
// hole in the stream's seqs. The messages after it are shown like the
// others, not held by the recipient behind the hole (they were: taken
// ahead of the hole and acknowledged, so never sent again, and shown only
// once a later message moved the stream's base past the hole). Bob comes
// back to alice's next run, which finds the messages on disk.
func TestDurableFailedSaveLeavesNoGap(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(30)
		g := gatedAway(t, mn)
		a, gs, dir, stop, bobID := g.a, g.gs, g.dir, g.stop, g.bobID
		var ids []uint64
		var want []string
		for i := range 3 {
			text := fmt.Sprintf("saved %d", i+1)
			ids, want = append(ids, sendOne(t, a, text)), append(want, text)
		}
		a.wait("the first ones sent", func(e Event) bool { return e.Kind == EvSent && slices.Contains(e.IDs, ids[2]) })
		gs.shut()
		for i := range 3 {
			sendOne(t, a, fmt.Sprintf("not saved %d", i+1))
			<-gs.arrived
		}
		gs.open(errors.New("disk full"))
		ids, want = append(ids, sendOne(t, a, "after the hole")), append(want, "after the hole")
		a.wait("after the hole sent", func(e Event) bool { return e.Kind == EvSent && slices.Contains(e.IDs, ids[3]) })
		a, _ = restart(t, mn, a, stop, dir)
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(b2, a)
		var got []string
		b2.wait("every saved message shown", func(e Event) bool {
			if e.Kind == EvMessage && e.Peer == "alice" {
				got = append(got, e.Text)
			}
			return len(got) == len(want)
		})
		if !slices.Equal(got, want) {
			t.Errorf("bob showed %q, want %q", got, want)
		}
	})
}

// gated is alice on a durable home whose store's saves the test holds or
// fails (gs), and bob, away.
type gated struct {
	a, b  *testNode
	gs    *gatedStore
	dir   string
	stop  func()
	bobID *Identity
}

// gatedAway starts alice (durable, gated store) and bob, and lets bob go
// away: what alice sends him stays queued.
func gatedAway(t *testing.T, mn *MemNet) gated {
	t.Helper()
	g := gated{dir: t.TempDir(), bobID: mustIdentity(t)}
	opt, stop := durable(t, g.dir)
	g.stop = stop
	g.a = startNode(t, mn, "alice", opt, func(c *Config) { g.gs = newGatedStore(c.Store, false); c.Store = g.gs })
	g.b = startNode(t, mn, "bob", func(c *Config) { c.Identity = g.bobID })
	g.gs.open(nil)
	goneAway(g.a, g.b)
	return g
}

// sendOne sends text to bob from tn and returns its one id.
func sendOne(t *testing.T, tn *testNode, text string) uint64 {
	t.Helper()
	ids, err := tn.Send("bob", text)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Send(%q): %v, %v", text, ids, err)
	}
	return ids[0]
}
