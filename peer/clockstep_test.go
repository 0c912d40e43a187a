package peer

import (
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// withBootClock makes the nodes started meanwhile take their boot from a
// clock off by skew (a clock stepped back later, seen from before).
func withBootClock(skew time.Duration, start func()) {
	bootClock = func() time.Time { return time.Now().Add(skew) }
	defer func() { bootClock = time.Now }()
	start()
}

// TestClockSteppedBackPeerGetsBackIn: bob runs with his clock an hour
// ahead, then restarts with it set right: his new process numbers its
// packets with a lower boot than alice remembers. Without a home (nothing
// remembers the last boot) alice still takes him back, by a fresh
// challenge, and his messages arrive.
func TestClockSteppedBackPeerGetsBackIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(51)
		a := startNode(t, mn, "alice")
		id := mustIdentity(t)
		var b *testNode
		withBootClock(time.Hour, func() { b = startNode(t, mn, "bob", func(c *Config) { c.Identity = id }) })
		introduce(b, a)
		a.waitJoined("bob")
		b.Close()
		a.wait("bob left", func(e Event) bool { return e.Kind == EvLeft && e.Peer == "bob" })
		// The new process comes up a few challenge ticks after alice took the
		// old one's boot: a challenge made in that same 10 ms tick cannot tell
		// the two apart (olderBoot), and with sessions the whole restart takes
		// less than a tick, so alice and bob would spend the answer budget
		// trading challenges in it.
		time.Sleep(3 * challengeTick) // virtual
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity = id })
		if b2.boot >= b.boot {
			t.Fatalf("test wants a lower boot: %d, before %d", b2.boot, b.boot)
		}
		introduce(b2, a)
		a.waitJoined("bob")
		b2.waitJoined("alice")
		if _, err := b2.Send("alice", "back with the right time"); err != nil {
			t.Fatal(err)
		}
		a.waitMessage("bob", "back with the right time")
		if _, err := a.Send("bob", "welcome back"); err != nil {
			t.Fatal(err)
		}
		b2.waitMessage("alice", "welcome back")
	})
}

// TestBootKeptInHome: with a home the boot never goes back, whatever the
// clock says: it is at least one more than the last run's.
func TestBootKeptInHome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(52)
		home := t.TempDir()
		id := mustIdentity(t)
		var b *testNode
		withBootClock(time.Hour, func() {
			b = startNode(t, mn, "bob", func(c *Config) { c.Identity, c.Home = id, home })
		})
		b.Close()
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity, c.Home = id, home })
		if b2.boot <= b.boot {
			t.Errorf("boot after the clock went back an hour: %d, last run's %d; want more", b2.boot, b.boot)
		}
		b2.Close()
		b3 := startNode(t, mn, "bob", func(c *Config) { c.Identity, c.Home = id, home })
		if b3.boot <= b2.boot {
			t.Errorf("third run's boot %d, second's %d; want more", b3.boot, b2.boot)
		}
	})
}

// TestOldBootHelloStaysOld: packets recorded from an earlier process of
// bob's (a lower boot), his hellos echoing alice's challenge included,
// replayed while a later process of his is known, change nothing: the
// earlier process does not come back (bob keeps the name his current
// process gave), and nothing is shown.
func TestOldBootHelloStaysOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(53)
		a := startNode(t, mn, "alice")
		id := mustIdentity(t)
		var mu sync.Mutex
		var recorded [][]byte
		b := startNode(t, mn, "bob", func(c *Config) { c.Identity = id })
		mn.Tap(func(from, to netip.AddrPort, p []byte, tcp bool) {
			if from == b.tr.Addr() && to == a.tr.Addr() && !tcp {
				mu.Lock()
				recorded = append(recorded, p)
				mu.Unlock()
			}
		})
		introduce(b, a)
		a.waitJoined("bob")
		if _, err := b.Send("alice", "from the old process"); err != nil {
			t.Fatal(err)
		}
		a.waitMessage("bob", "from the old process")
		b.Close()
		mn.Tap(nil)
		a.wait("bob left", func(e Event) bool { return e.Kind == EvLeft && e.Peer == "bob" })
		time.Sleep(time.Second) // virtual: starting the new process takes a moment (without a home, its boot is the clock)
		b2 := startNode(t, mn, "robert", func(c *Config) { c.Identity = id })
		if b2.boot <= b.boot {
			t.Fatalf("test wants a higher boot: %d, before %d", b2.boot, b.boot)
		}
		introduce(b2, a)
		a.waitJoined("robert")
		b2.waitJoined("alice") // before robert writes to her
		mu.Lock()
		eve := mn.Listen()
		for _, p := range recorded { // within challengeLife of bob's echo: only its age tells
			eve.SendUDP(a.tr.Addr(), p)
		}
		mu.Unlock()
		if _, err := b2.Send("alice", "marker"); err != nil {
			t.Fatal(err)
		}
		a.wait("marker", func(e Event) bool {
			if e.Kind == EvRenamed || (e.Kind == EvMessage && e.Text != "marker") || e.Kind == EvJoined {
				t.Errorf("a replay of bob's old process changed something: %s %s %q", e.Kind, e.Peer, e.Text)
			}
			return e.Kind == EvMessage && e.Text == "marker"
		})
		if p, err := a.Resolve("robert"); err != nil || !p.Online {
			t.Errorf("robert after the replay: %+v, %v", p, err)
		}
		if got := a.Stats().Replayed; got == 0 {
			t.Error("no replay counted")
		}
	})
}
