package peer

import (
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// sessPair is two identities' session layers that handshook: a seals to b.
type sessPair struct {
	t          testing.TB
	aid, bid   *Identity
	a, b       *sessions
	sa, sb     Stats
	now        time.Time
	handshakes [][]byte // the handshake packets exchanged
}

func newSessPair(t testing.TB, aid, bid *Identity) *sessPair {
	t.Helper()
	sp := &sessPair{t: t, aid: aid, bid: bid, now: time.Now()}
	sp.a, sp.b = newSessions(aid, &sp.sa), newSessions(bid, &sp.sb)
	return sp
}

// seal seals p from a to b, handshaking first when a has no session: the
// handshake packets go to b at once; the data packet is returned.
func (sp *sessPair) seal(p *wire.Payload) []byte {
	sp.t.Helper()
	return sp.sealPlain(p.AppendMarshal(nil))
}

func (sp *sessPair) sealPlain(plain []byte) []byte {
	sp.t.Helper()
	var direct []byte
	var flushed [][]byte
	for _, o := range sp.a.seal(&sp.bid.Public, plain, false, sp.now) {
		if wire.PacketType(o.b[5]) == wire.TypeData {
			direct = o.b
			continue
		}
		sp.handshakes = append(sp.handshakes, o.b)
		res := sp.deliver(sp.b, o.b)
		for _, r := range res.reply {
			sp.handshakes = append(sp.handshakes, r.b)
			for _, f := range sp.deliver(sp.a, r.b).flush {
				flushed = append(flushed, f.b)
			}
		}
	}
	if direct != nil {
		// A rekey: the packet went in the old session, and the new one's
		// keepalive reaches b (which confirms it).
		for _, f := range flushed {
			sp.deliver(sp.b, f)
		}
		return direct
	}
	if len(flushed) == 0 {
		sp.t.Fatal("no data packet sealed")
	}
	return flushed[len(flushed)-1]
}

func (sp *sessPair) deliver(to *sessions, pkt []byte) opened {
	sp.t.Helper()
	o, err := wire.ParseOuter(pkt)
	if err != nil {
		sp.t.Fatalf("parse: %v", err)
	}
	res, err := to.open(&o, sp.now, func() bool { return true })
	if err != nil {
		sp.t.Fatalf("handshake: %v", err)
	}
	return res
}

// open opens a data packet at b.
func (sp *sessPair) open(pkt []byte) (wire.Payload, error) {
	o, err := wire.ParseOuter(pkt)
	if err != nil {
		return wire.Payload{}, err
	}
	res, err := sp.b.open(&o, sp.now, func() bool { return true })
	if err != nil {
		return wire.Payload{}, err
	}
	return wire.ParsePayload(res.plain)
}
