package peer

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Hostile peers: each test is one attack by an authenticated stranger
// (anyone can make a key and say hello), driven packet by packet through a
// fakePeer, against a real node.

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestHostileReorderFlood: fresh keys that say hello and then send only
// messages ahead of a gap (seq 2.., base 1, 32 KiB of text each) make the
// node hold at most its reorder budget, and a real peer's message still
// arrives during the attack. (Before the budget, 32 such keys took a node
// from 8 MB to 5.8 GB.)
func TestHostileReorderFlood(t *testing.T) {
	// Not parallel: it measures the heap of the whole process.
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(40)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		b.waitJoined("alice")
		before := heapInUse()
		text := strings.Repeat("x", MaxTextBytes)
		// Each key sends twice its own budget (maxReorderPeerBytes), the
		// keys together four times the node's (maxReorderBytes).
		const keys, perKey = 16, 2 * maxReorderPeerBytes / MaxTextBytes
		if keys*perKey*MaxTextBytes < 4*maxReorderBytes {
			t.Fatalf("%d keys of %d messages do not flood the budget", keys, perKey)
		}
		acks := 0
		for k := 0; k < keys; k++ {
			f := newFakePeer(t, a.Node, fmt.Sprintf("10.9.0.%d:7117", k+1))
			f.tcp = true // 32 KiB messages come over TCP
			f.join(fmt.Sprintf("flood%d", k))
			for seq := uint64(2); seq < perKey+2; seq++ {
				if acked(f.say(msg(77, seq, 1, text)), seq) {
					acks++
				}
			}
			if k == keys/2 {
				b.Send("alice", "during the flood")
				a.waitMessage("bob", "during the flood")
			}
		}
		grown := int64(heapInUse()) - int64(before)
		a.mu.Lock()
		used, refused := a.reorder.used, a.reorder.refusals
		for _, p := range a.book.peers {
			if p.in.bytes > maxReorderPeerBytes {
				t.Errorf("%s holds %d bytes ahead of its gap, bound %d", p.label, p.in.bytes, maxReorderPeerBytes)
			}
		}
		a.mu.Unlock()
		t.Logf("%d of %d flood messages taken (and acknowledged), %d refused; reorder buffers %d bytes; heap grew %.1f MiB",
			acks, keys*perKey, refused, used, float64(grown)/(1<<20))
		if used > maxReorderBytes {
			t.Fatalf("reorder buffers hold %d bytes, bound %d", used, maxReorderBytes)
		}
		if acks*MaxTextBytes > maxReorderBytes {
			t.Fatalf("%d messages ahead of gaps acknowledged: more than the budget holds", acks)
		}
		if grown > 64<<20 {
			t.Fatalf("heap grew by %d MiB under the flood, bound 64", grown>>20)
		}
		b.Send("alice", "after the flood")
		a.waitMessage("bob", "after the flood")
	})
}

// TestHostileNicknameSquatting: a peer that passes through other people's
// nicknames without exchanging a message under them pins none of them, so
// the real owner of a name is not shown as an impostor when it first comes.
func TestHostileNicknameSquatting(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		home := t.TempDir()
		mn := NewMemNet(41)
		bob := startNode(t, mn, "bob", func(c *Config) { c.Home = home })
		mallory := newFakePeer(t, bob.Node, "10.9.1.1:7117")
		mallory.join("mallory")
		for _, name := range []string{"alice", "carol", "mallory"} {
			mallory.say(mallory.hello(name, 0, zeroChallenge))
		}
		mallory.say(msg(5, 1, 1, "hi, I am mallory")) // a message under its own name pins that one only
		bob.waitMessage("mallory", "hi, I am mallory")
		alice := startNode(t, mn, "alice")
		introduce(bob, alice)
		bob.waitJoined("alice")
		synctest.Wait() // every event on its way is in the channel: the drain below sees them all
		for len(bob.evs) > 0 {
			if e := <-bob.evs; e.Kind == EvWarning {
				t.Fatalf("the real alice was warned about: %q", e.Text)
			}
		}
		if p, err := bob.Whois("alice"); err != nil || p.Fingerprint != Fingerprint(&alice.id.Public) {
			t.Fatalf("alice is %+v, %v", p, err)
		}
		bob.Close()
		pins, err := loadPins(home)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"alice", "carol"} {
			if _, ok := pins.lookup(name); ok {
				t.Errorf("known_peers pins %s, a name only passed through", name)
			}
		}
		if k, ok := pins.lookup("mallory"); !ok || k != mallory.id.Public {
			t.Errorf("mallory's own name is not pinned to its key")
		}
	})
}

// TestHostileLabelTakeover: a newcomer with the same nickname and host as
// a known peer never takes that peer's label, and messages addressed to the
// known peer's id keep going to it.
func TestHostileLabelTakeover(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(42)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob", func(c *Config) { c.Host = "laptop2" })
		introduce(a, b)
		a.waitJoined("bob")
		b.waitJoined("alice")
		bobID := a.mustResolve("bob").ID
		evil := newFakePeer(t, a.Node, "10.9.2.1:7117")
		evil.join("bob") // host "fakehost"
		evil2 := newFakePeer(t, a.Node, "10.9.2.2:7117")
		evil2.join("carol")
		evil2.say(evil2.hello("bob", 0, zeroChallenge)) // a rename into the name
		if got := a.mustResolve("bob").ID; got != bobID {
			t.Fatalf("the label bob moved from %s to %s", bobID, got)
		}
		renamed := a.wait("rename", func(e Event) bool { return e.Kind == EvRenamed })
		if renamed.OldName != "carol" || renamed.PeerID != KeyID(&evil2.id.Public) || renamed.Peer == "bob" {
			t.Fatalf("rename event %+v", renamed)
		}
		if _, err := a.Node.Send(bobID, "for the real bob"); err != nil {
			t.Fatal(err)
		}
		b.waitMessage("alice", "for the real bob")
	})
}

// TestHostileEvictionSafe: a peer forgotten to make room in a full book is
// never shown a restarted sequence as duplicates when it comes back (our
// new messages reach it), what it sends again is not shown twice, and its
// recorded packets are refused after it returns.
func TestHostileEvictionSafe(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(43)
		a := startNode(t, mn, "alice")
		b := startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		b.waitJoined("alice")
		a.Send("bob", "before")
		b.waitMessage("alice", "before")

		// carol is a hand-driven peer whose packets we record.
		carol := newFakePeer(t, a.Node, "10.9.3.1:7117")
		var recorded [][]byte
		hello := carol.seal(carol.hello("carol", wire.FlagReply, zeroChallenge))
		recorded = append(recorded, hello)
		var challenge [16]byte
		for _, x := range carol.send(hello) {
			challenge = x.Challenge
		}
		echo := carol.seal(carol.hello("carol", 0, challenge))
		recorded = append(recorded, echo)
		carol.send(echo)
		m1 := carol.seal(msg(31, 1, 1, "carol once"))
		recorded = append(recorded, m1)
		carol.send(m1)
		a.waitMessage("carol", "carol once")

		// Both go quiet; then strangers fill the book and push them out.
		b.tr.Unplug(true)
		a.waitAll(
			func(e Event) bool { return e.Kind == EvLeft && e.Peer == "bob" },
			func(e Event) bool { return e.Kind == EvLeft && e.Peer == "carol" })
		a.mu.Lock()
		a.book.max = len(a.book.peers)
		a.mu.Unlock()
		for i := 0; i < 2; i++ {
			newFakePeer(t, a.Node, fmt.Sprintf("10.9.3.%d:7117", 10+i)).join(fmt.Sprintf("filler%d", i))
		}
		if carol.known() {
			t.Fatal("carol was not forgotten")
		}
		a.mu.Lock()
		_, bobKnown := a.book.peers[b.id.Public]
		a.book.max = maxPeers
		a.mu.Unlock()
		if bobKnown {
			t.Fatal("bob was not forgotten")
		}

		// Recorded packets of carol's: nothing is shown again, she is not back.
		for _, pkt := range recorded {
			carol.send(pkt)
		}
		if carol.known() {
			t.Fatal("a recorded hello brought a forgotten peer back")
		}
		// carol herself comes back (same run), sends her message again (its
		// ack was lost), then a new one: the old one is not shown twice. (She
		// comes back a challenge tick after she was forgotten: only a challenge
		// surely made after the forget lets her in, book.mayReturn. With
		// sessions the replays above cost no time, so the test waits the tick
		// an honest peer's retry would take.)
		time.Sleep(2 * challengeTick) // virtual
		carol.join("carol")
		carol.say(msg(31, 1, 1, "carol once"))
		carol.say(msg(31, 2, 1, "carol twice"))
		a.wait("carol's new message", func(e Event) bool {
			if e.Kind == EvMessage && e.Text == "carol once" {
				t.Fatal("a forgotten peer's message was shown again after it came back")
			}
			return e.Kind == EvMessage && e.Text == "carol twice"
		})

		// bob comes back: our new messages reach him (not taken as duplicates
		// of the stream we had before forgetting him).
		b.tr.Unplug(false)
		introduce(a, b)
		a.waitJoined("bob")
		a.Send("bob", "after")
		b.waitMessage("alice", "after")
	})
}

// TestHostileBackpressure: when the user side stops taking events, the
// node stops acknowledging (the sender's window holds the messages) instead
// of queueing without bound; once the user side reads again, every message
// that was acknowledged is shown, exactly once, and the rest arrive when
// sent again.
func TestHostileBackpressure(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(44)
		n, err := New(Config{Name: "slow", Timing: DefaultTiming()}, mn.Listen())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { // on a failure before the reader below: Events closes once drained
			n.Close()
			for range n.Events() {
			}
		}()
		f := newFakePeer(t, n, "10.9.4.1:7117")
		f.join("sender")
		// The join's own events (joined) are in the queue too; nobody reads.
		text := strings.Repeat("b", 4000)
		const total = 2000
		acked := map[uint64]bool{}
		for seq := uint64(1); seq <= total; seq++ {
			if answers := f.say(msg(9, seq, 1, fmt.Sprint(seq, text))); len(answers) > 0 && answers[0].Kind == wire.KindAck {
				acked[seq] = true
			}
			// The node's goroutines settle before the next message (the
			// pump has taken what it can): otherwise, when the pump took
			// an event only after a refusal, the room it freed let the
			// messages past the gap into the reorder buffer, acknowledged
			// but bounded by maxReorderPeerBytes, not by this queue (the
			// test failed so, 7 of 40 runs on a loaded machine).
			synctest.Wait()
		}
		held := len(acked) * (len(text) + eventOverhead)
		t.Logf("%d of %d messages acknowledged while nobody read (%d KiB)", len(acked), total, held>>10)
		if len(acked) == total {
			t.Fatal("every message was acknowledged although the user side took none")
		}
		if held > maxPeerEventBytes+64*(len(text)+eventOverhead) { // the queue's share, plus the channel
			t.Fatalf("%d bytes acknowledged and held for a stalled user side", held)
		}
		// The user side reads again; the sender resends what was not acked.
		shown := map[string]int{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for e := range n.Events() {
				if e.Kind == EvMessage {
					shown[e.Text[:strings.IndexByte(e.Text, 'b')]]++
				}
			}
		}()
		for seq := uint64(1); seq <= total; seq++ {
			if acked[seq] {
				continue
			}
			for try := 0; !acked[seq]; try++ {
				if answers := f.say(msg(9, seq, 1, fmt.Sprint(seq, text))); len(answers) > 0 && answers[0].Kind == wire.KindAck {
					acked[seq] = true
				} else if try > 0 {
					t.Fatalf("message %d never acknowledged after the user side read again", seq)
				} else {
					synctest.Wait() // the reader drains the queue
				}
			}
		}
		n.Close()
		<-done
		for seq := 1; seq <= total; seq++ {
			if c := shown[fmt.Sprint(seq)]; c != 1 {
				t.Fatalf("message %d shown %d times", seq, c)
			}
		}
	})
}

func (tn *testNode) mustResolve(name string) PeerInfo {
	tn.t.Helper()
	p, err := tn.Resolve(name)
	if err != nil {
		tn.t.Fatal(err)
	}
	return p
}
