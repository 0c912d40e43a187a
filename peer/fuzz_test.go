package peer

import (
	"github.com/p2pchat/p2pchat/internal/wire"
	"net/netip"
	"sync"
	"testing"
)

var (
	fuzzOnce     sync.Once
	fuzzNode     *Node
	fuzzSender   *fakePeer
	fuzzStranger *fakePeer
)

// fuzzTarget is a node that already knows fuzzSender, so fuzzed payloads
// sealed by fuzzSender get past authentication into the protocol logic.
func fuzzTarget(t testing.TB) *Node {
	fuzzOnce.Do(func() {
		mn := NewMemNet(1)
		n, err := New(Config{Name: "target"}, mn.Listen())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range n.Events() {
			}
		}()
		f := newFakePeer(t, n, "10.0.0.9:7117")
		f.join("sender")
		fuzzSender, fuzzStranger = f, newFakePeer(t, n, "10.0.0.10:7117")
		fuzzNode = n
	})
	return fuzzNode
}

// FuzzOpen feeds the node sealed packets with arbitrary plaintext, from a
// known peer and from a stranger: whatever they hold, the node must not
// crash, and its state must stay bounded.
func FuzzOpen(f *testing.F) {
	for _, p := range []wire.Payload{
		{Kind: wire.KindHello, Boot: 2, Counter: 1, Port: 1, Name: "bob"},
		{Kind: wire.KindMsg, Boot: 2, Counter: 2, Stream: 9, Seq: 1, Base: 1, Text: "hi"},
		{Kind: wire.KindMsg, Boot: 2, Counter: 3, Stream: 9, Seq: 1 << 40, Base: 1 << 39, Text: "far"},
		{Kind: wire.KindAck, Boot: 2, Counter: 4, Stream: 1, Seq: 1},
		{Kind: wire.KindPing, Boot: 2, Counter: 5, PingID: 1},
		{Kind: wire.KindBye, Boot: 2, Counter: 6},
	} {
		f.Add(p.AppendMarshal(nil), false)
		f.Add(p.AppendMarshal(nil), true)
	}
	f.Fuzz(func(t *testing.T, plain []byte, stranger bool) {
		n := fuzzTarget(t)
		from := fuzzSender
		if stranger {
			from = fuzzStranger
		}
		from.t = t
		pkt := from.sealPlain(plain)
		for _, tcp := range []bool{false, true} {
			n.handle(Packet{Data: pkt, From: netip.MustParseAddrPort("10.0.0.9:7117"), TCP: tcp, Reply: func([]byte) {}})
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, p := range n.book.peers {
			if len(p.in.buf) > maxReorderAhead || p.in.bytes > maxReorderPeerBytes {
				t.Fatalf("reorder buffer grew to %d messages, %d bytes", len(p.in.buf), p.in.bytes)
			}
		}
		if n.reorder.used > maxReorderBytes || n.reorder.used < 0 {
			t.Fatalf("reorder budget used: %d", n.reorder.used)
		}
		if n.evBytes > maxEventBytes+maxPeerEventBytes {
			t.Fatalf("event queue holds %d bytes", n.evBytes)
		}
		if len(n.book.peers) > 2 {
			t.Fatalf("%d peers from two keys", len(n.book.peers))
		}
	})
}

// FuzzSessionPacket feeds a session layer that holds a session with the
// sender (and a handshake in flight to it) arbitrary handshake and data
// packets under the sender's key: whatever the bytes, nothing panics,
// nothing opens that was not sealed, and what is held stays bounded.
func FuzzSessionPacket(f *testing.F) {
	alice, bob := mustIdentity(f), mustIdentity(f)
	sp := newSessPair(f, alice, bob)
	good := sp.seal(&wire.Payload{Kind: wire.KindPing, Boot: 1, Counter: 1, PingID: 1})
	init := sp.a.seal(&bob.Public, nil, false, sp.now.Add(rekeyAfter))[0].b
	f.Add(byte(wire.TypeData), good[wire.HeaderLen:])
	f.Add(byte(wire.TypeInit), init[wire.HeaderLen:])
	f.Add(byte(wire.TypeResp), make([]byte, wire.RespLen-wire.HeaderLen))
	f.Fuzz(func(t *testing.T, typ byte, rest []byte) {
		pkt := append(wire.AppendHeader(nil, wire.PacketType(typ), &alice.Public), rest...)
		o, err := wire.ParseOuter(pkt)
		if err != nil {
			return
		}
		for _, s := range []*sessions{sp.a, sp.b} {
			res, err := s.open(&o, sp.now, func() bool { return true })
			if err == nil && res.data && string(pkt) != string(good) {
				t.Fatalf("a packet nobody sealed opened: %x", pkt)
			}
			if s.peers.Len() > 2 {
				t.Fatalf("%d keys held", s.peers.Len())
			}
		}
	})
}
