package peer

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// durable returns a Config option that keeps messages (and pins) in dir,
// as p2pchat does with -home. The store is closed after the node, at the
// end of the test or by the returned function (a restart).
func durable(t *testing.T, dir string) (func(*Config), func()) {
	t.Helper()
	st, snap, err := store.Open(dir, store.Limits{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	stop := func() {
		if !closed {
			closed = true
			st.Close()
		}
	}
	t.Cleanup(stop)
	return func(c *Config) { c.Store, c.Saved, c.Home = st, &snap, dir }, stop
}

// restart closes tn and its store (opened with durable) and starts the same
// identity again on the same home.
func restart(t *testing.T, mn *MemNet, tn *testNode, stop func(), dir string, mod ...func(*Config)) (*testNode, func()) {
	t.Helper()
	id := tn.id
	tn.Close()
	stop()
	opt, stop2 := durable(t, dir)
	mod = append([]func(*Config){opt, func(c *Config) { c.Identity = id }}, mod...)
	return startNode(t, mn, tn.Name(), mod...), stop2
}

// goneAway has a meet b, then b quit: a knows b, and b is away.
func goneAway(a, b *testNode) {
	a.t.Helper()
	introduce(a, b)
	a.waitJoined(b.Name())
	b.Close()
	a.wait(b.Name()+" left", func(e Event) bool { return e.Kind == EvLeft && e.Peer == b.Name() })
}

func (tn *testNode) messages(from string, n int) []Event {
	tn.t.Helper()
	var got []Event
	for len(got) < n {
		got = append(got, tn.wait("message from "+from, func(e Event) bool { return e.Kind == EvMessage && e.Peer == from }))
	}
	return got
}

func texts(evs []Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Text)
	}
	return s
}

// TestDurableOutboxAcrossRestart: messages queued for a peer who is away
// survive the sender's restart and reach the peer, once each and in order,
// under the ids Send gave before the restart.
func TestDurableOutboxAcrossRestart(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(21)
		dir := t.TempDir()
		opt, stop := durable(t, dir)
		a := startNode(t, mn, "alice", opt)
		bobID := mustIdentity(t)
		b := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		goneAway(a, b)

		var ids []uint64
		for _, text := range []string{"one", "two", "three"} {
			got, err := a.Send("bob", text)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got...)
			a.wait("sent", func(e Event) bool { return e.Kind == EvSent && slices.Equal(e.IDs, got) })
		}
		a2, _ := restart(t, mn, a, stop, dir)
		if p, err := a2.Resolve("bob"); err != nil || p.Online || p.Pending != 3 {
			t.Fatalf("restarted alice: bob is %+v, %v; want listed offline with 3 pending", p, err)
		}
		// A new message joins the restored ones, after them.
		more, err := a2.Send("bob", "four")
		if err != nil {
			t.Fatal(err)
		}
		if more[0] <= ids[2] {
			t.Errorf("restarted alice gave id %d, not above the restored ids %v", more[0], ids)
		}
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(b2, a2) // bob turns up on a new address and finds alice
		if got, want := texts(b2.messages("alice", 4)), []string{"one", "two", "three", "four"}; !slices.Equal(got, want) {
			t.Fatalf("bob got %q, want %q", got, want)
		}
		for _, id := range append(ids, more...) {
			a2.wait("delivered", func(e Event) bool { return e.Kind == EvDelivered && e.ID == id })
		}
		if p, _ := a2.Resolve("bob"); p.Pending != 0 {
			t.Errorf("bob still has %d pending", p.Pending)
		}
	})
}

// TestDurableInboxShownOnce: a received message is on disk before it is
// acknowledged; a restart emits again exactly those the consumer did not
// mark shown, and the sender's retransmissions are not shown twice.
func TestDurableInboxShownOnce(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(22)
		dir := t.TempDir()
		opt, stop := durable(t, dir)
		b := startNode(t, mn, "bob", opt)
		a := startNode(t, mn, "alice")
		introduce(a, b)
		a.waitJoined("bob")
		sent := []string{"m1", "m2", "m3", "m4", "m5"}
		for _, s := range sent {
			if _, err := a.Send("bob", s); err != nil {
				t.Fatal(err)
			}
		}
		got := b.messages("alice", 5)
		if !slices.Equal(texts(got), sent) {
			t.Fatalf("bob got %q", texts(got))
		}
		for i, e := range got {
			if e.Idx == 0 || (i > 0 && e.Idx <= got[i-1].Idx) {
				t.Fatalf("message %d has inbox index %d (previous %d): want increasing, not 0", i, e.Idx, got[max(i-1, 0)].Idx)
			}
		}
		if err := b.Shown(got[2].Idx); err != nil { // m1..m3 reached the screen, m4 and m5 did not
			t.Fatal(err)
		}
		b2, _ := restart(t, mn, b, stop, dir)
		if again := texts(b2.messages("alice", 2)); !slices.Equal(again, []string{"m4", "m5"}) {
			t.Fatalf("restarted bob showed %q again, want [m4 m5] (the ones not marked shown)", again)
		}
		introduce(a, b2)
		a.waitJoined("bob")
		if _, err := a.Send("bob", "m6"); err != nil {
			t.Fatal(err)
		}
		if next := texts(b2.messages("alice", 1)); !slices.Equal(next, []string{"m6"}) {
			t.Fatalf("after the restart bob got %q, want [m6] (nothing shown twice)", next)
		}
	})
}

// TestDurableUnsend: /unsend drops what waits, on disk too, and says so
// for each message.
func TestDurableUnsend(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(23)
		dir := t.TempDir()
		opt, stop := durable(t, dir)
		a := startNode(t, mn, "alice", opt)
		b := startNode(t, mn, "bob")
		goneAway(a, b)
		p, _ := a.Resolve("bob")
		ids, _ := a.Send("bob", "oops")
		a.wait("sent", func(e Event) bool { return e.Kind == EvSent })
		n, err := a.Unsend(p.ID)
		if err != nil || n != 1 {
			t.Fatalf("Unsend: %d, %v; want 1", n, err)
		}
		a.wait("failed discarded", func(e Event) bool { return e.Kind == EvFailed && e.ID == ids[0] && e.Reason == ReasonUnsent })
		a2, _ := restart(t, mn, a, stop, dir)
		if a2.Waiting() != 0 {
			t.Fatalf("after /unsend and a restart, %d messages wait", a2.Waiting())
		}
		if _, err := a2.Unsend("no-such-id"); !errors.Is(err, ErrUnknownPeer) {
			t.Fatalf("Unsend of an unknown id: %v", err)
		}
	})
}

// TestDurablePinnedNameQueues: a name pinned in an earlier run can be sent
// to before the peer is seen again; the message waits on disk for it.
func TestDurablePinnedNameQueues(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(24)
		dir := t.TempDir()
		opt, stop := durable(t, dir)
		a := startNode(t, mn, "alice", opt)
		bobID := mustIdentity(t)
		b := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(a, b)
		a.waitJoined("bob")
		if _, err := a.Send("bob", "hi"); err != nil { // a message pins the name
			t.Fatal(err)
		}
		b.waitMessage("alice", "hi")
		b.Close()
		a2, _ := restart(t, mn, a, stop, dir)
		p, err := a2.Resolve("bob")
		if err != nil || p.Online || p.ID != KeyID(&bobID.Public) {
			t.Fatalf("restarted alice resolves bob to %+v, %v; want bob's key, offline", p, err)
		}
		if _, err := a2.Send("bob", "while you were away"); err != nil {
			t.Fatal(err)
		}
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(b2, a2)
		b2.waitMessage("alice", "while you were away")
	})
}

// TestDurableOutboxBound: the outbox refuses, with a clear error, what
// would pass its byte bound for one peer; nothing is dropped.
func TestDurableOutboxBound(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(25)
		opt, _ := durable(t, t.TempDir())
		a := startNode(t, mn, "alice", opt)
		b := startNode(t, mn, "bob")
		goneAway(a, b)
		big := strings.Repeat("x", MaxTextBytes)
		n := 0
		for ; n <= OutboxPeerBytes/MaxTextBytes; n++ {
			if _, err := a.Send("bob", big); err != nil {
				if qf := (*QueueFullError)(nil); !errors.Is(err, ErrQueueFull) || !errors.As(err, &qf) || qf.Queue != QueuePeerBytes || qf.Max != OutboxPeerBytes {
					t.Fatalf("message %d refused with %v, want ErrQueueFull naming the bound", n, err)
				}
				break
			}
		}
		if n != OutboxPeerBytes/MaxTextBytes {
			t.Fatalf("took %d messages of %d bytes, want %d (%d bytes per peer)", n, MaxTextBytes, OutboxPeerBytes/MaxTextBytes, OutboxPeerBytes)
		}
		if a.Waiting() != n {
			t.Fatalf("%d wait, want %d", a.Waiting(), n)
		}
	})
}

func TestOneLineName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"bob", "bob"}, {"bob@laptop2", "bob@laptop2"}, {"张伟@host-1", "张伟@host-1"},
		{"", "(unknown)"}, {"bo\nb", "(unknown)"}, {"bob@", "(unknown)"}, {"bob@la ptop", "(unknown)"}, {"\x1b[31mbob", "(unknown)"},
	} {
		if got := oneLineName(c.in); got != c.want {
			t.Errorf("oneLineName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// countingStore counts the Writes a node hands its Store.
type countingStore struct {
	Store
	mu     sync.Mutex
	writes int
}

func (c *countingStore) Write(w store.Write, done func(error)) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	c.Store.Write(w, done)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// TestDurableDuplicatesCostNoWrite: a message sent again (a lost ack, or a
// peer replaying its own stream) is acknowledged from what is on disk
// without another write (each write is a sync): a peer cannot make us
// sync once per packet.
func TestDurableDuplicatesCostNoWrite(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(26)
		opt, _ := durable(t, t.TempDir())
		var cs *countingStore
		b := startNode(t, mn, "bob", opt, func(c *Config) { cs = &countingStore{Store: c.Store}; c.Store = cs })
		a := startNode(t, mn, "alice")
		introduce(a, b)
		a.waitJoined("bob")
		ids, err := a.Send("bob", "once")
		if err != nil {
			t.Fatal(err)
		}
		b.waitMessage("alice", "once")
		a.wait("delivered", func(e Event) bool { return e.Kind == EvDelivered && e.ID == ids[0] })
		before := cs.count()
		// alice's node sends the same message again, as after a lost ack.
		a.mu.Lock()
		p := a.book.byName("bob")
		pl := &wire.Payload{Kind: wire.KindMsg, Stream: p.out.id, Seq: 1, Base: 1, Time: time.Now().UnixMilli(), Text: "once"}
		for range 20 {
			a.sendLocked(p, pl, nil, pathAuto)
		}
		a.mu.Unlock()
		if _, err := a.Send("bob", "marker"); err != nil {
			t.Fatal(err)
		}
		b.waitMessage("alice", "marker")
		if got := cs.count() - before; got > 2 {
			t.Errorf("20 duplicates and one new message cost bob %d store writes, want at most 2 (the new message, and maybe its ack removal)", got)
		}
		if d := b.Stats().Duplicates; d < 20 {
			t.Errorf("bob counted %d duplicates, want 20", d)
		}
	})
}
