package peer

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flynn/noise"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// opensWith reports whether key opens the recorded data packet pkt (the
// AEAD under the packet's counter, its header as additional data): what an
// attacker holding key does with a capture.
func opensWith(key [32]byte, pkt []byte) bool {
	o, err := wire.ParseOuter(pkt)
	if err != nil || o.Type != wire.TypeData {
		return false
	}
	_, err = noise.UnsafeNewCipherState(suite, key, 0).Cipher().Decrypt(nil, o.Counter, o.Head, o.Box)
	return err == nil
}

// sessionKeys is every session key ps holds: what a thief of the process
// memory finds (both directions of cur, prev and next).
func sessionKeys(ps *peerSess) [][32]byte {
	var keys [][32]byte
	for _, s := range []*session{ps.cur, ps.prev, ps.next} {
		if s != nil && s.send != nil {
			keys = append(keys, s.send.UnsafeKey(), s.recv.UnsafeKey())
		}
	}
	return keys
}

// TestForwardSecrecy records a conversation of alice and bob in one
// session (the handshake and 40 data packets, both ways), rekeys twice so
// that the session is replaced and erased, and then gives an attacker
// everything still there: both identity private keys, every session key
// both sides hold, the recorded handshake replayed into a responder with
// bob's identity key (as a thief would, to derive keys again), and the
// erased session's own cipher states. None opens a recorded packet. The
// same attempt with the session's keys as taken before the erasure opens
// every one of them, so the capture is real.
func TestForwardSecrecy(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	sp := newSessPair(t, alice, bob)
	var recorded [][]byte
	for i := range 20 {
		recorded = append(recorded, sp.seal(&wire.Payload{Kind: wire.KindMsg, Boot: 1, Counter: uint64(i + 1), Stream: 9, Seq: uint64(i + 1), Base: 1, Text: fmt.Sprint("secret ", i)}))
		if _, err := sp.open(recorded[len(recorded)-1]); err != nil {
			t.Fatal(err)
		}
		// bob answers in the same session
		out := sp.b.seal(&alice.Public, []byte(fmt.Sprint("answer ", i)), false, sp.now)
		if len(out) != 1 {
			t.Fatalf("bob sealed %d packets, want 1 (in the session)", len(out))
		}
		recorded = append(recorded, out[0].b)
	}
	handshakes := append([][]byte(nil), sp.handshakes...)
	if len(handshakes) != 2 {
		t.Fatalf("%d handshake packets, want 2", len(handshakes))
	}
	pa, _ := sp.a.peers.Get(bob.Public)
	pb, _ := sp.b.peers.Get(alice.Public)
	before := append(sessionKeys(pa), sessionKeys(pb)...)
	old := []*noise.CipherState{pa.cur.send, pa.cur.recv, pb.cur.send, pb.cur.recv}
	for _, pkt := range recorded {
		opened := false
		for _, k := range before {
			opened = opened || opensWith(k, pkt)
		}
		if !opened {
			t.Fatal("the keys taken before erasure do not open the capture: the test is void")
		}
	}

	// Two rekeys: the first moves the session to prev, the second erases it.
	for range 2 {
		sp.now = sp.now.Add(rekeyAfter)
		if _, err := sp.open(sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: 99, PingID: 1})); err != nil {
			t.Fatal(err)
		}
		out := sp.b.seal(&alice.Public, []byte("pong"), false, sp.now)
		if _, err := sp.a.open(mustOuter(t, out[len(out)-1].b), sp.now, func() bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	if got := sp.sa.Handshakes; got != 3 {
		t.Fatalf("alice made %d handshakes, want 3", got)
	}

	// What the attacker holds now.
	var after [][32]byte
	after = append(after, alice.private, bob.private, alice.Public, bob.Public)
	after = append(after, sessionKeys(pa)...)
	after = append(after, sessionKeys(pb)...)
	for _, cs := range old {
		after = append(after, cs.UnsafeKey())
	}
	// The recorded initiation replayed into a responder with bob's key:
	// it answers with a fresh ephemeral key, so its keys are not the
	// session's.
	var st Stats
	thief := newSessions(bob, &st)
	if _, err := thief.open(mustOuter(t, handshakes[0]), sp.now, func() bool { return true }); err != nil {
		t.Fatalf("replayed initiation: %v", err)
	}
	tp, _ := thief.peers.Get(alice.Public)
	after = append(after, sessionKeys(tp)...)
	for i, pkt := range recorded {
		for j, k := range after {
			if opensWith(k, pkt) {
				t.Fatalf("packet %d opens with key %d held after erasure", i, j)
			}
		}
		// the erased cipher states themselves (their AEADs were zeroed)
		o := mustOuter(t, pkt)
		for _, cs := range old {
			if _, err := cs.Cipher().Decrypt(nil, o.Counter, o.Head, o.Box); err == nil {
				t.Fatalf("packet %d opens with an erased session's cipher", i)
			}
		}
	}
	for _, cs := range old {
		if cs.UnsafeKey() != ([32]byte{}) {
			t.Fatal("an erased session key is not zero")
		}
	}
	t.Logf("%d recorded packets: all open with the %d keys taken before erasure, none with the %d keys held after", len(recorded), len(before), len(after))
}

// TestWipeHandshake: a finished handshake's chaining hash and ephemeral
// private key are zero once wiped, and our static key is untouched.
func TestWipeHandshake(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	keep := alice.private
	hs, err := noise.NewHandshakeState(noise.Config{CipherSuite: suite, Pattern: noise.HandshakeIK, Initiator: true,
		StaticKeypair: noise.DHKey{Private: alice.private[:], Public: alice.Public[:]}, PeerStatic: bob.Public[:]})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := hs.WriteMessage(nil, nil); err != nil {
		t.Fatal(err)
	}
	if isZero(hs.ChannelBinding()) || isZero(hs.LocalEphemeral().Private) {
		t.Fatal("nothing to wipe: the test is void")
	}
	wipeHandshake(hs)
	if !isZero(hs.ChannelBinding()) || !isZero(hs.LocalEphemeral().Private) {
		t.Fatalf("after wipe: hash %x, ephemeral %x", hs.ChannelBinding(), hs.LocalEphemeral().Private)
	}
	if alice.private != keep || suite.Name() == nil || !strings.Contains(string(suite.Name()), "ChaChaPoly") {
		t.Fatal("wipe touched the static key or the cipher suite")
	}
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func mustOuter(t testing.TB, b []byte) *wire.Outer {
	t.Helper()
	o, err := wire.ParseOuter(b)
	if err != nil {
		t.Fatal(err)
	}
	return &o
}

// TestRekeyLongConversation: alice and bob talk for 11 minutes of virtual
// time, a message each way every 2 s. Sessions are replaced every 2
// minutes (handshakes counted), and every message is shown once, in order.
func TestRekeyLongConversation(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(71)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		b.waitJoined("alice")
		const rounds = 330 // 11 min at 2 s
		got := map[string][]string{}
		for i := range rounds {
			ta, tb := fmt.Sprint("a", i), fmt.Sprint("b", i)
			if _, err := a.Send("bob", ta); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Send("alice", tb); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				n    *testNode
				from string
				text string
			}{{b, "alice", ta}, {a, "bob", tb}} {
				e := c.n.wait("message "+c.text, func(e Event) bool {
					if e.Kind == EvMessage {
						got[c.n.Name()] = append(got[c.n.Name()], e.Text)
					}
					return e.Kind == EvMessage && e.Text == c.text
				})
				_ = e
			}
			time.Sleep(2 * time.Second) // virtual: the conversation's pace
		}
		for name, texts := range got {
			if len(texts) != rounds {
				t.Errorf("%s saw %d messages, want %d", name, len(texts), rounds)
			}
			for i, s := range texts {
				if s[1:] != fmt.Sprint(i) {
					t.Fatalf("%s: message %d is %q: lost, repeated or out of order", name, i, s)
				}
			}
		}
		ha, hb := a.Stats().Handshakes, b.Stats().Handshakes
		// 11 min / 2 min: at least 5 rekeys besides the first handshake,
		// counted on both sides (initiated or answered).
		if ha < 6 || hb < 6 || ha > 8 || hb > 8 {
			t.Errorf("handshakes: alice %d, bob %d; want 6 to 8 each (one every 2 minutes, not one per side)", ha, hb)
		}
		t.Logf("11 virtual minutes, %d messages each way: handshakes alice %d, bob %d", rounds, ha, hb)
		a.Close()
		b.Close()
	})
}

// TestHandshakeReplayAndRestart: a recorded initiation replayed to the
// node neither moves it off the working session nor shows anything; a
// data packet of a session the node no longer holds (it restarted) makes
// it start a handshake; and a fake peer that restarts (new keys in memory,
// same identity) re-handshakes and is heard again.
func TestHandshakeReplayAndRestart(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(72)
		a := startNode(t, mn, "alice")
		f := newFakePeer(t, a.Node, "10.0.0.9:7117")
		var recordedInit []byte
		f.join("carol")
		f.say(msg(5, 1, 1, "one"))
		a.waitMessage("carol", "one")

		// Record the initiation of a fresh handshake of carol's.
		ps, _ := f.sess.peers.Get(a.id.Public)
		init, err := f.sess.initiate(ps, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		recordedInit = init
		f.send(init) // answered; carol finishes it (a new session)
		f.say(msg(5, 2, 1, "two"))
		a.waitMessage("carol", "two")

		// The recorded initiation again: the node answers (it cannot tell),
		// but its sealing session stays the one carol holds.
		before := a.Stats().Handshakes
		a.handle(Packet{Data: recordedInit, From: f.from, Reply: func([]byte) {}})
		if a.Stats().Handshakes != before+1 {
			t.Fatalf("replayed initiation not answered: %d -> %d", before, a.Stats().Handshakes)
		}
		got := false
		for _, p := range f.say(wire.Payload{Kind: wire.KindPing, PingID: 77}) {
			got = got || (p.Kind == wire.KindPong && p.PingID == 77)
		}
		if !got {
			t.Fatal("after a replayed initiation the node no longer answers in carol's session")
		}

		// carol restarts: same identity, no sessions. Her first packet is a
		// handshake, then she is heard.
		f.sess = newSessions(f.id, &f.stats)
		f.say(msg(5, 3, 1, "three"))
		a.waitMessage("carol", "three")

		// The node "restarts" its sessions (erased): carol's data is of a
		// session it does not hold, and it answers with an initiation.
		a.mu.Lock()
		a.sess.forget(&f.id.Public)
		a.mu.Unlock()
		var answers []wire.PacketType
		pkt := f.seal(msg(5, 4, 1, "four"))
		a.handle(Packet{Data: pkt, From: f.from, Reply: func(b []byte) { answers = append(answers, wire.PacketType(b[5])) }})
		if len(answers) != 1 || answers[0] != wire.TypeInit {
			t.Fatalf("answers to data of an unknown session: %v, want one initiation", answers)
		}
		if a.Stats().NoSession == 0 {
			t.Fatal("not counted")
		}
	})
}

// TestOldVersionPeerTold: version-1 packets (a v1 hello of a peer in the
// book, probes of another v1 node, a future version's) are dropped, never
// answered, and each peer is reported once with its name when the book
// knows its key, its address and its version; the node goes on working.
func TestOldVersionPeerTold(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(73)
		a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
		introduce(a, b)
		a.waitJoined("bob")
		b.waitJoined("alice")
		other := mustIdentity(t)
		v1 := func(key [32]byte, typ byte) []byte {
			p := append([]byte("p2pc\x01"), typ)
			p = append(p, key[:]...)
			return append(p, make([]byte, 24+16+25+40)...) // a version-1 sealed packet's size
		}
		future := append([]byte("p2pc\x03\x05"), other.Public[:]...)
		bobAddr := netip.MustParseAddrPort("10.0.0.2:7117")
		otherAddr := netip.MustParseAddrPort("10.0.0.77:7117")
		answered := 0
		reply := func([]byte) { answered++ }
		for range 50 {
			a.handle(Packet{Data: v1(b.id.Public, 2), From: bobAddr, Reply: reply})
			a.handle(Packet{Data: v1(other.Public, 1), From: otherAddr, Reply: reply})
			a.handle(Packet{Data: v1(other.Public, 2), From: otherAddr, Reply: reply})
			a.handle(Packet{Data: future, From: otherAddr, Reply: reply})
		}
		a.handle(Packet{Data: []byte("p2pc\x01"), From: netip.MustParseAddrPort("10.0.0.78:7117"), Reply: reply})
		if answered != 0 {
			t.Fatalf("%d answers to other versions' packets", answered)
		}
		a.Send("bob", "still talking")
		b.waitMessage("alice", "still talking")
		var got []string
		synctest.Wait() // every event on its way is in the channel: the drain below sees them all
		for len(a.evs) > 0 {
			if e := <-a.evs; e.Kind == EvVersion {
				got = append(got, fmt.Sprintf("%s|%s|%s|%d", e.Peer, e.PeerID, e.Addr, e.Version))
			}
		}
		want := []string{
			"bob|" + KeyID(&b.id.Public) + "|10.0.0.2:7117|1",
			"|" + KeyID(&other.Public) + "|10.0.0.77:7117|1",
			"||10.0.0.78:7117|1",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("version events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if st := a.Stats(); st.OldVersion != 201 {
			t.Errorf("%d packets of other versions counted, want 201", st.OldVersion)
		}
	})
}

// TestHandshakeFloodBounded: 300 initiations from 300 fresh keys at once
// (a stranger flooding handshakes) are answered at most as the strangers'
// budget allows, 5 tokens each (200 tokens: 40), the rest dropped unread
// and counted; the sessions made for the 40, never confirmed, are erased
// within 10 s and their keys forgotten; a new peer gets in once the
// budget refilled (a second later) and talks.
func TestHandshakeFloodBounded(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(74)
		a := startNode(t, mn, "alice")
		var inits [][]byte
		for range 300 {
			var st Stats
			s := newSessions(mustIdentity(t), &st)
			inits = append(inits, s.seal(&a.id.Public, nil, false, time.Now())[0].b)
		}
		answered := 0
		for _, pkt := range inits {
			a.handle(Packet{Data: pkt, From: netip.MustParseAddrPort("10.66.0.1:7117"), Reply: func([]byte) { answered++ }})
		}
		st := a.Stats()
		held := func() int {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.sess.peers.Len()
		}
		t.Logf("300 initiations: %d answered, %d dropped over the budget, %d keys held", answered, st.UnknownBudget, held())
		if answered > strangerRate/hsStrangerCost || answered == 0 {
			t.Errorf("%d initiations answered, want at most %d", answered, strangerRate/hsStrangerCost)
		}
		if held() != answered || st.UnknownBudget != uint64(300-answered) {
			t.Errorf("%d keys held, %d counted over budget", held(), st.UnknownBudget)
		}
		time.Sleep(nextLife + time.Minute) // virtual: past the node's next ticks
		if n := held(); n != 0 {
			t.Errorf("%d keys still held for handshakes that never completed", n)
		}
		b := startNode(t, mn, "bob")
		introduce(b, a)
		a.waitJoined("bob")
		b.Send("alice", "through the flood")
		a.waitMessage("bob", "through the flood")
		a.Close()
		b.Close()
	})
}

// TestKnownPeerHandshakesDuringFlood: while strangers' initiations spend
// the strangers' budget, a peer in the book whose sessions were all
// erased (idle past rejectAfter) still gets its handshake answered, and a
// recorded initiation of its replayed 100 times is read at most 4 times
// at once (its per-key budget), the rest counted.
func TestKnownPeerHandshakesDuringFlood(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(75)
		a := startNode(t, mn, "alice")
		f := newFakePeer(t, a.Node, "10.0.0.9:7117")
		f.join("carol")
		time.Sleep(rejectAfter + time.Minute) // both sides erase the idle session
		a.mu.Lock()
		a.budget.Take(time.Now())
		for a.budget.Take(time.Now()) { // the strangers' budget spent by a flood
		}
		a.mu.Unlock()
		f.sess = newSessions(f.id, &f.stats)
		f.say(msg(7, 1, 1, "during the flood"))
		a.waitMessage("carol", "during the flood")
		ps, _ := f.sess.peers.Get(a.id.Public)
		init, err := f.sess.initiate(ps, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		before := a.Stats()
		for range 100 {
			a.handle(Packet{Data: init, From: f.from, Reply: func([]byte) {}})
		}
		st := a.Stats()
		read, limited := st.Handshakes-before.Handshakes, st.HandshakesLimited-before.HandshakesLimited
		t.Logf("100 replays of one initiation: %d read, %d over the key's budget", read, limited)
		if read > 4 || read+limited != 100 {
			t.Errorf("%d read, %d limited; want at most 4 read, the rest limited", read, limited)
		}
		a.Close()
	})
}

// TestRekeyAfterPackets: a session that sealed rekeyPackets packets is
// replaced at the next send, whatever its age: the send starts a handshake
// and still goes out in the old session; once the handshake is done the
// old session only receives, and after the next replacement it is erased.
func TestRekeyAfterPackets(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	sp := newSessPair(t, alice, bob)
	sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: 1, PingID: 1})
	pa, _ := sp.a.peers.Get(bob.Public)
	first := pa.cur
	first.sent = rekeyPackets - 1
	if out := sp.a.seal(&bob.Public, []byte("x"), false, sp.now); len(out) != 1 {
		t.Fatalf("packet %d: %d packets, want 1 (no rekey yet)", rekeyPackets-1, len(out))
	}
	out := sp.a.seal(&bob.Public, []byte("y"), false, sp.now)
	if len(out) != 2 || wire.PacketType(out[0].b[5]) != wire.TypeInit || wire.PacketType(out[1].b[5]) != wire.TypeData {
		t.Fatalf("packet %d: %d packets, want an initiation and the data", rekeyPackets, len(out))
	}
	if o := mustOuter(t, out[1].b); o.To != first.remote {
		t.Fatal("the data did not go in the old session")
	}
	for _, r := range sp.deliver(sp.b, out[0].b).reply { // the handshake completes
		for _, f := range sp.deliver(sp.a, r.b).flush {
			sp.deliver(sp.b, f.b)
		}
	}
	pkt := sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: 2, PingID: 2})
	if pa.cur == first || pa.prev != first {
		t.Fatal("the session was not replaced")
	}
	if _, err := sp.open(pkt); err != nil {
		t.Fatal(err)
	}
	pa.cur.sent = rekeyPackets
	sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: 3, PingID: 3})
	if pa.prev == first || first.send != nil {
		t.Fatal("the first session was not erased after the second replacement")
	}
}

// TestSessionsEvictLeastUsed: when the session table is full, a new key
// takes the place of the one used longest ago, not of one in use: alice's
// session with bob, made first but used all along, survives strangers'
// handshakes, twice as many as the table holds. The table's bound is
// lowered from 768 to 64 (strangers 1,000 -> 128, alice talking every 100
// -> every 8): what is asserted holds at any bound, in an eighth of the
// handshakes. TestLimitsDocumented holds the default.
func TestSessionsEvictLeastUsed(t *testing.T) {
	t.Parallel() // CPU-bound (128 handshakes), no clock: overlaps the real-clock waits of the TCP tests
	const (
		bound     = 64
		strangers = 2 * bound
	)
	alice, bob := mustIdentity(t), mustIdentity(t)
	sp := newSessPair(t, alice, bob)
	sp.b = newSessionsMax(bob, &sp.sb, bound)
	sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: 1, PingID: 1})
	for i := range strangers {
		var st Stats
		s := newSessions(mustIdentity(t), &st)
		init := s.seal(&bob.Public, nil, false, sp.now)[0].b
		if _, err := sp.b.open(mustOuter(t, init), sp.now, func() bool { return true }); err != nil {
			t.Fatal(err)
		}
		if i%8 == 0 { // alice and bob go on talking
			if _, err := sp.open(sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: uint64(i + 2), PingID: 2})); err != nil {
				t.Fatalf("after %d strangers: %v", i, err)
			}
		}
	}
	if n := sp.b.peers.Len(); n != bound {
		t.Fatalf("%d keys held, want %d", n, bound)
	}
	if want := uint64(strangers + 1 - bound); sp.sb.SessionsEvicted != want {
		t.Errorf("%d evicted, want %d", sp.sb.SessionsEvicted, want)
	}
}

// TestVersionEventsPerAddress: a stranger sending packets of another
// version from many keys (or ports) is told of once per address, and
// from many addresses at a bounded rate: its packets cannot fill the
// user's screen. Before, the events were keyed by the packet's key: a
// flood from one address with fresh keys gave 256 lines (e2e
// TestFloodAndGarbage), and after 256 nothing more was ever told.
func TestVersionEventsPerAddress(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(74)
		a := startNode(t, mn, "alice")
		v1 := func(key [32]byte) []byte {
			p := append([]byte("p2pc\x01\x02"), key[:]...)
			return append(p, make([]byte, 105)...)
		}
		count := func() int {
			n := 0
			synctest.Wait() // every event on its way is in the channel: the drain below sees them all
			for len(a.evs) > 0 {
				if e := <-a.evs; e.Kind == EvVersion {
					n++
				}
			}
			return n
		}
		from := netip.MustParseAddrPort("10.0.0.77:7117")
		for i := range 300 {
			var k [32]byte
			k[0], k[1] = byte(i), byte(i>>8)
			a.handle(Packet{Data: v1(k), From: netip.AddrPortFrom(from.Addr(), uint16(7000+i)), Reply: func([]byte) {}})
		}
		if n := count(); n != 1 {
			t.Errorf("300 keys from one address: %d version events, want 1", n)
		}
		for i := range 300 {
			addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 7117)
			a.handle(Packet{Data: v1(a.id.Public), From: addr, Reply: func([]byte) {}})
		}
		if n := count(); n > versionWarnBurst+2 {
			t.Errorf("300 addresses at once: %d version events, want at most about %d", n, versionWarnBurst)
		}
	})
}
