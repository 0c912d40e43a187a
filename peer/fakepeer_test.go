package peer

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// fakePeer is a hand-driven peer with a real key: it talks to one node by
// calling its packet handler directly, so a test can send exactly the
// packets an attacker (or a buggy peer) would, authenticated, and read the
// node's answers. It speaks in sessions as a node does (its own sessions,
// session.go), handshaking when it has none.
type fakePeer struct {
	t       testing.TB
	id      *Identity
	n       *Node
	sess    *sessions
	stats   Stats
	from    netip.AddrPort
	boot    uint64
	counter uint64
	toBoot  uint64 // the node's boot, once its hello told us
	tcp     bool   // packets arrive as if over TCP
}

func newFakePeer(t testing.TB, n *Node, from string) *fakePeer {
	t.Helper()
	f := &fakePeer{t: t, id: mustIdentity(t), n: n, from: netip.MustParseAddrPort(from), boot: 1000}
	f.sess = newSessions(f.id, &f.stats)
	return f
}

// seal makes a packet of pl from the fake peer, numbered as its next: a
// data packet in its session with the node, handshaking first if needed
// (the handshake goes to the node at once; the data packet is returned).
func (f *fakePeer) seal(pl wire.Payload) []byte {
	f.t.Helper()
	f.counter++
	pl.Boot, pl.Counter, pl.ToBoot = f.boot, f.counter, f.toBoot
	return f.sealPlain(pl.AppendMarshal(nil))
}

// sealPlain seals any bytes as the fake peer's inner payload.
func (f *fakePeer) sealPlain(plain []byte) []byte {
	f.t.Helper()
	var data []byte
	for _, o := range f.sess.seal(&f.n.id.Public, plain, false, time.Now()) {
		if o.b[5] == byte(wire.TypeData) {
			data = o.b
			continue
		}
		_, flushed := f.exchange(o.b)
		if len(flushed) > 0 {
			data = flushed[len(flushed)-1]
		}
	}
	if data == nil {
		f.t.Fatal("fake peer: no session with the node")
	}
	return data
}

// exchange hands a packet to the node, answers its handshakes and returns
// the payloads the node sent back, opened, and the fake's packets that
// waited for a handshake, sealed now (not sent).
func (f *fakePeer) exchange(pkt []byte) (answers []wire.Payload, flushed [][]byte) {
	f.t.Helper()
	var raw [][]byte
	f.n.handle(Packet{Data: pkt, From: f.from, TCP: f.tcp, Reply: func(b []byte) {
		raw = append(raw, bytes.Clone(b))
	}})
	for _, b := range raw {
		o, err := wire.ParseOuter(b)
		if err != nil || o.Type == wire.TypeProbe {
			continue
		}
		res, err := f.sess.open(&o, time.Now(), func() bool { return true })
		if err != nil {
			f.t.Errorf("node's answer does not open: %v", err)
			continue
		}
		for _, r := range res.reply {
			a, _ := f.exchange(r.b)
			answers = append(answers, a...)
		}
		for _, r := range res.flush {
			flushed = append(flushed, r.b)
		}
		if len(res.plain) > 0 {
			pl, err := wire.ParsePayload(res.plain)
			if err != nil {
				f.t.Errorf("node's answer does not parse: %v", err)
				continue
			}
			answers = append(answers, pl)
		}
	}
	return answers, flushed
}

// send hands a packet to the node and returns its answers that came back
// the same way, opened.
func (f *fakePeer) send(pkt []byte) []wire.Payload {
	f.t.Helper()
	answers, flushed := f.exchange(pkt)
	for _, b := range flushed {
		a, _ := f.exchange(b)
		answers = append(answers, a...)
	}
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
