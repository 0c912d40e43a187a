package peer

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"strings"
	"testing"
	"time"
)

// Hot-path micro-benchmarks, with allocations:
//
//	go test -run '^$' -bench . -benchmem ./peer
//
// The message is the one the network benchmarks (go run ./bench) send: a
// 100-byte text, a 220-byte sealed packet. They print figures and never fail.

var benchText = strings.Repeat("0123456789", 10)

func benchMsg() *wire.Payload {
	return &wire.Payload{Kind: wire.KindMsg, Boot: 1_700_000_000_000_000_000, Counter: 42, Stream: 9, Seq: 7, Base: 5, Time: 1_700_000_000_000, Text: benchText}
}

func benchPair(b *testing.B) (alice, bob *Identity) {
	b.Helper()
	a, err := NewIdentity()
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewIdentity()
	if err != nil {
		b.Fatal(err)
	}
	return a, c
}

func BenchmarkPayloadAppendMarshal(b *testing.B) {
	for _, p := range []*wire.Payload{benchMsg(), {Kind: wire.KindAck, Boot: 1, Counter: 2, Stream: 3, Seq: 4}} {
		b.Run(p.Kind.String(), func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				buf = p.AppendMarshal(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkParsePayload(b *testing.B) {
	for _, p := range []*wire.Payload{benchMsg(), {Kind: wire.KindAck, Boot: 1, Counter: 2, Stream: 3, Seq: 4}} {
		enc := p.AppendMarshal(nil)
		b.Run(p.Kind.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := wire.ParsePayload(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseOuter(b *testing.B) {
	alice, bob := benchPair(b)
	pkt, err := alice.seal(nil, alice.sharedKey(&bob.Public), benchMsg())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := wire.ParseOuter(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal is what the node does per packet it sends: marshal the
// payload into its scratch buffer and seal it under a counter nonce.
func BenchmarkSeal(b *testing.B) {
	alice, bob := benchPair(b)
	shared := alice.sharedKey(&bob.Public)
	p := benchMsg()
	buf := make([]byte, 0, wire.MaxDatagram)
	var nonce [24]byte
	var plain []byte
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		binary.BigEndian.PutUint64(nonce[16:], i)
		var out []byte
		out, plain = wire.Seal(buf[:0], &alice.Public, shared, p, &nonce, plain)
		b.SetBytes(int64(len(out)))
	}
}

// BenchmarkOpen is what a receiver does per packet from a known peer:
// parse the outer header, then decrypt and parse the payload.
func BenchmarkOpen(b *testing.B) {
	alice, bob := benchPair(b)
	pkt, err := alice.seal(nil, alice.sharedKey(&bob.Public), benchMsg())
	if err != nil {
		b.Fatal(err)
	}
	shared := bob.sharedKey(&alice.Public)
	var scratch []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		o, err := wire.ParseOuter(pkt)
		if err != nil {
			b.Fatal(err)
		}
		if _, scratch, err = wire.Open(&o, shared, scratch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSharedKey is the X25519 precomputation done once per new peer
// (and for strangers' packets, under the flood budget).
func BenchmarkSharedKey(b *testing.B) {
	alice, bob := benchPair(b)
	b.ReportAllocs()
	for b.Loop() {
		alice.sharedKey(&bob.Public)
	}
}

// BenchmarkBookByName looks names up in an address book of 50 peers: a
// display name (the map), a nickname whose display name differs (a scan),
// and an unknown name (a full scan).
func BenchmarkBookByName(b *testing.B) {
	ps, _ := loadPins("")
	bk := newBook(ps, maxPeers, maxTombstones)
	for i := 0; i < 50; i++ {
		id, _ := NewIdentity()
		p := &peerState{key: id.Public, id: KeyID(&id.Public), nick: fmt.Sprintf("peer%02d", i), label: fmt.Sprintf("peer%02d", i)}
		if i == 49 {
			p.nick, p.label = "bob", "bob@laptop2"
		}
		bk.admit(p)
		bk.labels[p.label] = p
	}
	for _, c := range []struct{ name, lookup string }{
		{"display", "peer25"}, {"nickname", "bob"}, {"unknown", "nobody"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bk.byName(c.lookup)
			}
		})
	}
}

// BenchmarkNodeSendDelivered is one message through two whole nodes on the
// in-memory network, one at a time: Send to the EvDelivered event (seal,
// deliver, open, acknowledge, seal, deliver, open, event).
func BenchmarkNodeSendDelivered(b *testing.B) {
	mn := NewMemNet(1)
	ta, tb := mn.Listen(), mn.Listen()
	ia, _ := NewIdentity()
	ib, _ := NewIdentity()
	a, err := New(Config{Name: "alice", Host: "a", Identity: ia}, ta)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	bn, err := New(Config{Name: "bob", Host: "b", Identity: ib}, tb)
	if err != nil {
		b.Fatal(err)
	}
	defer bn.Close()
	go func() {
		for range bn.Events() {
		}
	}()
	delivered := make(chan uint64, 16)
	go func() {
		for e := range a.Events() {
			if e.Kind == EvDelivered {
				delivered <- e.ID
			}
		}
	}()
	a.Discovered(ib.Public, tb.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.WaitPeer(ctx, "bob"); err != nil {
		b.Fatal(err)
	}
	bob, err := a.Resolve("bob")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ids, err := a.Send(bob.ID, benchText)
		if err != nil {
			b.Fatal(err)
		}
		for id := range delivered {
			if id == ids[0] {
				break
			}
		}
	}
}
