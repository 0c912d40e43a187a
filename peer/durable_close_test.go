package peer

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/p2pchat/p2pchat/internal/store"
)

// gatedStore holds the writes of messages Send queued (store.Write.Queue)
// while closed: either it takes them and answers later (async), or its
// Write does not return until opened (a disk that hangs).
type gatedStore struct {
	Store
	mu      sync.Mutex
	closed  bool
	block   bool
	held    []heldWrite
	gate    chan struct{} // closed by open: blocked writes go on
	arrived chan struct{} // one token per write held or blocked
}

type heldWrite struct {
	w    store.Write
	done func(error)
}

func newGatedStore(s Store, block bool) *gatedStore {
	return &gatedStore{Store: s, closed: true, block: block, gate: make(chan struct{}), arrived: make(chan struct{}, 100)}
}

func (g *gatedStore) Write(w store.Write, done func(error)) {
	g.mu.Lock()
	if !g.closed || len(w.Queue) == 0 {
		g.mu.Unlock()
		g.Store.Write(w, done)
		return
	}
	if g.block {
		gate := g.gate
		g.mu.Unlock()
		g.arrived <- struct{}{}
		<-gate
		g.Store.Write(w, done)
		return
	}
	g.held = append(g.held, heldWrite{w, done})
	g.mu.Unlock()
	g.arrived <- struct{}{}
}

// shut holds the writes of messages again.
func (g *gatedStore) shut() {
	g.mu.Lock()
	g.closed = true
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

// open lets writes through again; held ones fail with err, or are written
// when err is nil.
func (g *gatedStore) open(err error) {
	g.mu.Lock()
	held := g.held
	g.held, g.closed = nil, false
	close(g.gate)
	g.mu.Unlock()
	for _, h := range held {
		if err != nil {
			h.done(err)
		} else {
			g.Store.Write(h.w, h.done)
		}
	}
}

// TestDurableUnsendThenSaveFails: a message dropped by /unsend while its
// save is under way is reported once, as discarded, whatever the save's
// outcome: not failed a second time, and not "sent".
func TestDurableUnsendThenSaveFails(t *testing.T) {
	for _, saveErr := range []error{errors.New("disk full"), nil} {
		t.Run(saveOutcome(saveErr), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mn := NewMemNet(27)
				opt, _ := durable(t, t.TempDir())
				var gs *gatedStore
				a := startNode(t, mn, "alice", opt, func(c *Config) { gs = newGatedStore(c.Store, false); c.Store = gs })
				b := startNode(t, mn, "bob")
				gs.open(nil)
				goneAway(a, b)
				gs.shut()
				p, _ := a.Resolve("bob")
				ids, err := a.Send("bob", "oops")
				if err != nil {
					t.Fatal(err)
				}
				if n, err := a.Unsend(p.ID); err != nil || n != 1 {
					t.Fatalf("Unsend: %d, %v; want 1", n, err)
				}
				<-gs.arrived // the store has the write
				gs.open(saveErr)
				marker, err := a.Send("bob", "marker")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				a.wait("marker sent", func(e Event) bool {
					if e.ID == ids[0] || slices.Contains(e.IDs, ids[0]) {
						got = append(got, string(e.Kind)+" "+string(e.Reason))
					}
					return e.Kind == EvSent && slices.Contains(e.IDs, marker[0])
				})
				if want := []string{"failed " + string(ReasonUnsent)}; !slices.Equal(got, want) {
					t.Errorf("the message dropped by /unsend was reported as %q, want %q", got, want)
				}
			})
		})
	}
}

func saveOutcome(err error) string {
	if err == nil {
		return "saved"
	}
	return "save fails"
}

// TestCloseWhileSavingTellsTruth: Close waits saveWait for messages on
// their way to disk, then reports each. A message whose save the store
// already has (and may complete) is not reported as failed; one whose save
// never reached the store is, and is then never written: the next run
// sends the first and not the second.
func TestCloseWhileSavingTellsTruth(t *testing.T) {
	t.Parallel()                       // on virtual time
	synctest.Test(t, closeWhileSaving) // saveWait passes in virtual time
}

func closeWhileSaving(t *testing.T) {
	mn := NewMemNet(28)
	dir := t.TempDir()
	opt, stop := durable(t, dir)
	var gs *gatedStore
	a := startNode(t, mn, "alice", opt, func(c *Config) { gs = newGatedStore(c.Store, true); c.Store = gs })
	b := startNode(t, mn, "bob")
	gs.open(nil)
	goneAway(a, b)
	gs.shut()
	handed, err := a.Send("bob", "handed to the store")
	if err != nil {
		t.Fatal(err)
	}
	<-gs.arrived // feedStore is stuck in the store's Write with it
	notHanded, err := a.Send("bob", "never handed over")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }() // gives up waiting after saveWait
	told := map[uint64]Event{}
	a.waitAll(
		func(e Event) bool {
			if e.ID == handed[0] && (e.Kind == EvFailed || e.Kind == EvPending) {
				told[e.ID] = e
				return true
			}
			return false
		},
		func(e Event) bool {
			if e.ID == notHanded[0] && (e.Kind == EvFailed || e.Kind == EvPending) {
				told[e.ID] = e
				return true
			}
			return false
		})
	gs.open(nil) // the disk wakes up
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if e := told[handed[0]]; e.Kind != EvPending || e.Reason != ReasonQueued {
		t.Errorf("the message the store had: told %s %s %q; want pending %s", e.Kind, e.Reason, e.Text, ReasonQueued)
	}
	if e := told[notHanded[0]]; e.Kind != EvFailed || e.Reason != ReasonStopped {
		t.Errorf("the message never handed to the store: told %s %s %q; want failed %s", e.Kind, e.Reason, e.Text, ReasonStopped)
	}
	a2, _ := restart(t, mn, a, stop, dir)
	a2.mu.Lock()
	var next []string
	for _, p := range a2.book.peers {
		for _, m := range p.out.msgs {
			next = append(next, m.text)
		}
	}
	a2.mu.Unlock()
	if want := []string{"handed to the store"}; !slices.Equal(next, want) {
		t.Errorf("the next run would send %q; want %q", next, want)
	}
}
