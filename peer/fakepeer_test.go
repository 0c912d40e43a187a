package peer

import (
	"net/netip"
	"testing"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// fakePeer is a hand-driven peer with a real key: it talks to one node by
// calling its packet handler directly, so a test can send exactly the
// packets an attacker (or a buggy peer) would, authenticated, and read the
// node's answers.
type fakePeer struct {
	t       testing.TB
	id      *Identity
	n       *Node
	from    netip.AddrPort
	boot    uint64
	counter uint64
	toBoot  uint64 // the node's boot, once its hello told us
	tcp     bool   // packets arrive as if over TCP
}

func newFakePeer(t testing.TB, n *Node, from string) *fakePeer {
	t.Helper()
	return &fakePeer{t: t, id: mustIdentity(t), n: n, from: netip.MustParseAddrPort(from), boot: 1000}
}

// seal makes a packet of pl from the fake peer, numbered as its next.
func (f *fakePeer) seal(pl wire.Payload) []byte {
	f.t.Helper()
	f.counter++
	pl.Boot, pl.Counter, pl.ToBoot = f.boot, f.counter, f.toBoot
	pkt, err := f.id.seal(nil, f.id.sharedKey(&f.n.id.Public), &pl)
	if err != nil {
		f.t.Fatal(err)
	}
	return pkt
}

// send hands a packet to the node and returns its answers that came back
// the same way, opened.
func (f *fakePeer) send(pkt []byte) []wire.Payload {
	f.t.Helper()
	var answers []wire.Payload
	shared := f.id.sharedKey(&f.n.id.Public)
	f.n.handle(Packet{Data: pkt, From: f.from, TCP: f.tcp, Reply: func(b []byte) {
		o, err := wire.ParseOuter(b)
		if err != nil || o.Type != wire.TypeSealed {
			return
		}
		pl, err := open(&o, shared)
		if err != nil {
			f.t.Errorf("node's answer does not open: %v", err)
			return
		}
		answers = append(answers, pl)
	}})
	for _, a := range answers {
		if a.Kind == wire.KindHello {
			f.toBoot = a.Boot
		}
	}
	return answers
}

// say seals pl and sends it.
func (f *fakePeer) say(pl wire.Payload) []wire.Payload {
	f.t.Helper()
	return f.send(f.seal(pl))
}

// hello is the fake peer's hello as name.
func (f *fakePeer) hello(name string, flags byte, echo [16]byte) wire.Payload {
	return wire.Payload{Kind: wire.KindHello, Flags: flags, Port: 7117, Name: name, Host: "fakehost", Echo: echo}
}

// join introduces the fake peer as name, answering the node's challenge as
// an honest peer does, and fails the test if the node does not take it in.
func (f *fakePeer) join(name string) {
	f.t.Helper()
	var challenge [16]byte
	for _, a := range f.say(f.hello(name, wire.FlagReply, zeroChallenge)) {
		if a.Kind == wire.KindHello {
			challenge = a.Challenge
		}
	}
	if challenge == zeroChallenge {
		f.t.Fatalf("node gave no challenge to a new peer")
	}
	f.say(f.hello(name, 0, challenge))
	if !f.known() {
		f.t.Fatalf("node did not take in %s after its challenge was answered", name)
	}
}

// known reports whether the node has the fake peer in its book.
func (f *fakePeer) known() bool {
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	return f.n.book.peers[f.id.Public] != nil
}

// msg is a message of the fake peer's stream.
func msg(stream, seq, base uint64, text string) wire.Payload {
	return wire.Payload{Kind: wire.KindMsg, Stream: stream, Seq: seq, Base: base, Time: 1_700_000_000_000, Text: text}
}

// acked reports whether answers hold an ack of seq.
func acked(answers []wire.Payload, seq uint64) bool {
	for _, a := range answers {
		if a.Kind == wire.KindAck && a.Seq == seq {
			return true
		}
	}
	return false
}
