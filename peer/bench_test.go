package peer

import (
	"context"
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
	pkt := newSessPair(b, alice, bob).seal(benchMsg())
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := wire.ParseOuter(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal is what the node does per packet it sends: marshal the
// payload into its scratch buffer and seal it in the session.
func BenchmarkSeal(b *testing.B) {
	alice, bob := benchPair(b)
	sp := newSessPair(b, alice, bob)
	sp.seal(benchMsg())
	p := benchMsg()
	var plain []byte
	b.ReportAllocs()
	for b.Loop() {
		plain = p.AppendMarshal(plain[:0])
		out := sp.a.seal(&bob.Public, plain, false, sp.now)
		b.SetBytes(int64(len(out[0].b)))
	}
}

// BenchmarkOpen is what a receiver does per packet from a peer in session:
// parse the outer header, then decrypt and parse the payload.
func BenchmarkOpen(b *testing.B) {
	alice, bob := benchPair(b)
	sp := newSessPair(b, alice, bob)
	sp.seal(benchMsg())
	plain := benchMsg().AppendMarshal(nil)
	pkts := make([][]byte, 0, 1<<16)
	for range 1 << 16 {
		pkts = append(pkts, sp.a.seal(&bob.Public, plain, false, sp.now)[0].b)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkts[0])))
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			b.StopTimer()
			sp.b.peers.Each(func(_ [32]byte, ps *peerSess) { ps.cur.win = ctrWindow{} })
			i = 0
			b.StartTimer()
		}
		o, err := wire.ParseOuter(pkts[i])
		if err != nil {
			b.Fatal(err)
		}
		res, err := sp.b.open(&o, sp.now, func() bool { return true })
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wire.ParsePayload(res.plain); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkHandshake is the CPU of one handshake, both sides: what a
// session costs every 2 minutes, and an initiation costs a responder.
func BenchmarkHandshake(b *testing.B) {
	alice, bob := benchPair(b)
	plain := benchMsg().AppendMarshal(nil)
	b.ReportAllocs()
	for b.Loop() {
		newSessPair(b, alice, bob).sealPlain(plain)
	}
}

// BenchmarkRespond is what an initiation costs the node that answers it.
func BenchmarkRespond(b *testing.B) {
	alice, bob := benchPair(b)
	var st Stats
	a := newSessions(alice, &st)
	init := a.seal(&bob.Public, nil, false, time.Now())[0].b
	o, err := wire.ParseOuter(init)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := newSessions(bob, &st)
		if _, err := r.open(&o, time.Now(), func() bool { return true }); err != nil {
			b.Fatal(err)
		}
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
