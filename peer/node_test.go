package peer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/bubble"
)

type testNode struct {
	*Node
	tr  *MemTransport
	evs chan Event
	t   testing.TB
}

// startNode starts a node with the production timings (DefaultTiming):
// a test runs it inside synctest.Test, where a 16 s expiry takes no wall
// time, and the bubble's end proves that Close stopped its goroutines.
// testEvents is how many events a test node holds for the test: 4 times
// the most a test leaves waiting (TestLossyDeliveryExactlyOnceInOrder,
// 2,003). It was 100,000: 35 MB allocated, cleared and shadowed by the
// race detector for every node, 8% of the package's CPU.
const testEvents = 8192

func startNode(t testing.TB, mn *MemNet, name string, mod ...func(*Config)) *testNode {
	t.Helper()
	if _, bench := t.(*testing.B); !bench && !bubble.In() {
		t.Fatal("startNode: run the test inside synctest.Test (production timings on a real clock take seconds)")
	}
	tr := mn.Listen()
	cfg := Config{Name: name, Host: "host-" + name, Timing: DefaultTiming()}
	for _, m := range mod {
		m(&cfg)
	}
	n, err := New(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{Node: n, tr: tr, evs: make(chan Event, testEvents), t: t}
	go func() {
		for e := range n.Events() {
			tn.evs <- e
		}
	}()
	t.Cleanup(func() { n.Close() })
	return tn
}

// Send sends to the peer the user calls name ("" = everyone), as the shell
// does: the name is resolved to the peer's id first.
func (tn *testNode) Send(name, text string) ([]uint64, error) {
	id, err := tn.idOf(name)
	if err != nil {
		return nil, err
	}
	return tn.Node.Send(id, text)
}

// Trust trusts the peer the user calls name.
func (tn *testNode) Trust(name string) error {
	id, err := tn.idOf(name)
	if err != nil {
		return err
	}
	return tn.Node.Trust(id)
}

// Whois is what /whois NAME shows.
func (tn *testNode) Whois(name string) (PeerInfo, error) { return tn.Resolve(name) }

func (tn *testNode) idOf(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	p, err := tn.Resolve(name)
	return p.ID, err
}

// waitLimit is how long wait waits for an event, in virtual time: longer
// than the production clocks an event may wait for (16 s expiry, 5 s
// heartbeats and give-up, back-off to 4 s), and since virtual time only
// moves when every goroutine waits, a loaded machine cannot run it out.
const waitLimit = time.Minute

// wait returns the first event matching, failing after waitLimit.
func (tn *testNode) wait(what string, match func(Event) bool) Event {
	tn.t.Helper()
	deadline := time.After(waitLimit)
	var seen []string
	for {
		select {
		case e := <-tn.evs:
			if match(e) {
				return e
			}
			seen = append(seen, fmt.Sprintf("%s %s %q", e.Kind, e.Peer, e.Text))
		case <-deadline:
			tn.t.Fatalf("%s: no %s; saw %v", tn.Name(), what, seen)
		}
	}
}

// waitAll waits until every matcher has matched some event, in any order.
func (tn *testNode) waitAll(matchers ...func(Event) bool) {
	tn.t.Helper()
	done := make([]bool, len(matchers))
	left := len(matchers)
	tn.wait("all of several events", func(e Event) bool {
		for i, m := range matchers {
			if !done[i] && m(e) {
				done[i] = true
				left--
			}
		}
		return left == 0
	})
}

func (tn *testNode) waitJoined(name string) {
	tn.t.Helper()
	tn.wait("joined "+name, func(e Event) bool { return e.Kind == EvJoined && e.Peer == name })
}

func (tn *testNode) waitMessage(from, text string) Event {
	tn.t.Helper()
	return tn.wait("message from "+from, func(e Event) bool { return e.Kind == EvMessage && e.Peer == from && e.Text == text })
}

func introduce(a, b *testNode) {
	a.Discovered(b.id.Public, b.tr.Addr())
}

func TestTwoNodesChat(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(1)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		b.waitJoined("alice")
		ids, err := a.Send("bob", "hi bob")
		if err != nil || len(ids) != 1 {
			t.Fatalf("Send: %v %v", ids, err)
		}
		e := b.waitMessage("alice", "hi bob")
		if e.To != "bob" {
			t.Errorf("To = %q, want bob", e.To)
		}
		a.wait("delivered", func(e Event) bool { return e.Kind == EvDelivered && e.ID == ids[0] && e.Peer == "bob" })
		if _, err := a.Send("bobb", "x"); !errors.Is(err, ErrUnknownPeer) {
			t.Errorf("unknown peer: %v", err)
		}
		long := strings.Repeat("长消息", 2000)
		if _, err := b.Send("alice", long); err != nil {
			t.Fatal(err)
		}
		a.waitMessage("bob", long)
	})
}

// TestSilentPeerExpires: with no traffic at all after the hello, a peer
// that vanishes is still noticed (heartbeats run without any message sent).
func TestSilentPeerExpires(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(10)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		b.tr.Unplug(true)
		a.wait("left", func(e Event) bool { return e.Kind == EvLeft && e.Peer == "bob" && e.Code == CodeNoAnswer })
	})
}

func TestAway(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(11)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		if err := b.SetAway("at lunch, back 13:00"); err != nil {
			t.Fatal(err)
		}
		a.Send("bob", "are you there?")
		a.waitMessage("bob", AwayPrefix+"at lunch, back 13:00")
		if p, _ := a.Whois("bob"); p.Away != "at lunch, back 13:00" {
			t.Errorf("peer's away = %q", p.Away)
		}
		a.Send("bob", "second")
		a.Send("", "to all: no auto-answer")
		b.waitMessage("alice", "to all: no auto-answer")
		synctest.Wait()      // every event on its way is in the channel: the drain below sees them all
		for len(a.evs) > 0 { // answered once only
			if e := <-a.evs; e.Kind == EvMessage {
				t.Fatalf("second automatic answer: %+v", e)
			}
		}
		b.SetAway("")
		synctest.Wait() // bob's hello saying so has reached alice, with no time passing
		if p, _ := a.Whois("bob"); p.Away != "" {
			t.Fatalf("bob still shown away (%q) after coming back", p.Away)
		}
	})
}
