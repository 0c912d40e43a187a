package discovery

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// peerAddr is the address the responses of ptrAnswer come from.
var peerAddr = netip.MustParseAddr("10.0.0.2")

// ptrAnswer is a response holding PTR answers of Service for the instances
// ids, with TTL ttl, each with its SRV and an A record of peerAddr (the
// records that tie it to its sender, see knownAnswers).
func ptrAnswer(ttl uint32, ids ...string) *dns.Msg {
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true}}
	for _, id := range ids {
		m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: id + "." + serviceName})
		host := "p2pchat-" + id + "." + domain
		m.Extra = append(m.Extra,
			&dns.SRV{Hdr: dns.RR_Header{Name: id + "." + serviceName, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: ttl}, Port: 7000, Target: host},
			&dns.A{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: peerAddr.AsSlice()})
	}
	return m
}

// TestKnownAnswers: what a query lists as known (RFC 6762 section 7.1):
// answers with more than half their TTL left, with the TTL they have left;
// goodbyes forget; other services, queries and other classes are not
// learned.
func TestKnownAnswers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ka knownAnswers
	ka.learn(ptrAnswer(120, "00000000000000a1"), "ffffffffffffffff", peerAddr, t0)
	ka.learn(ptrAnswer(10, "00000000000000a2"), "ffffffffffffffff", peerAddr, t0)
	other := ptrAnswer(120, "00000000000000a3")
	other.Answer[0].(*dns.PTR).Hdr.Name = "_other._tcp.local."
	ka.learn(other, "ffffffffffffffff", peerAddr, t0)
	q := ptrAnswer(120, "00000000000000a4")
	q.Response = false
	ka.learn(q, "ffffffffffffffff", peerAddr, t0)
	chaos := ptrAnswer(120, "00000000000000a5")
	chaos.Answer[0].Header().Class = dns.ClassCHAOS
	ka.learn(chaos, "ffffffffffffffff", peerAddr, t0)
	// A flushed class bit is still IN; upper case is the same name.
	flushed := ptrAnswer(120, "00000000000000A6")
	flushed.Answer[0].Header().Class |= cacheFlush
	ka.learn(flushed, "ffffffffffffffff", peerAddr, t0)

	type want struct {
		name string
		ttl  uint32
	}
	tests := []struct {
		at   time.Duration
		want []want
	}{
		{0, []want{{"00000000000000a1", 120}, {"00000000000000a6", 120}, {"00000000000000a2", 10}}},
		{4 * time.Second, []want{{"00000000000000a1", 116}, {"00000000000000a6", 116}, {"00000000000000a2", 6}}},
		{5 * time.Second, []want{{"00000000000000a1", 115}, {"00000000000000a6", 115}}}, // a2: exactly half left
		{59 * time.Second, []want{{"00000000000000a1", 61}, {"00000000000000a6", 61}}},
		{60 * time.Second, nil},
		{200 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.at), func(t *testing.T) {
			var k2 knownAnswers // list expires entries: work on a copy
			k2.m = map[string]knownPTR{}
			for n, v := range ka.m {
				k2.m[n] = v
			}
			got := k2.list(t0.Add(tt.at), maxKnownInQuery)
			if len(got) != len(tt.want) {
				t.Fatalf("list = %v, want %v", got, tt.want)
			}
			for i, rr := range got {
				p := rr.(*dns.PTR)
				if p.Ptr != tt.want[i].name+"."+serviceName || p.Hdr.Ttl != tt.want[i].ttl || p.Hdr.Name != serviceName || p.Hdr.Class != dns.ClassINET {
					t.Errorf("list[%d] = %v, want %s with TTL %d", i, p, tt.want[i].name, tt.want[i].ttl)
				}
			}
		})
	}
	// Our own records, heard back, are not known answers.
	ka.learn(ptrAnswer(120, "ffffffffffffffff"), "ffffffffffffffff", peerAddr, t0)
	if _, ok := ka.m["ffffffffffffffff."+serviceName]; ok {
		t.Error("our own PTR was learned")
	}
	// A goodbye forgets.
	ka.learn(ptrAnswer(0, "00000000000000a1"), "ffffffffffffffff", peerAddr, t0.Add(time.Second))
	if got := ka.list(t0.Add(time.Second), maxKnownInQuery); len(got) != 2 {
		t.Errorf("after a goodbye: %v, want a6 and a2 only", got)
	}
}

// TestKnownAnswersBounded: a flood of made-up answers is held to maxKnown
// per interface, and a query carries at most maxKnownInQuery of them, in
// one datagram of at most maxQuerySize bytes.
func TestKnownAnswersBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ka knownAnswers
	for i := range 5000 {
		ka.learn(ptrAnswer(120, fmt.Sprintf("%016x", i)), "ffffffffffffffff", peerAddr, t0)
	}
	if len(ka.m) != maxKnown {
		t.Errorf("%d answers remembered, want %d", len(ka.m), maxKnown)
	}
	// Expired ones make room.
	ka.learn(ptrAnswer(120, "fffffffffffffffe"), "ffffffffffffffff", peerAddr, t0.Add(121*time.Second))
	if len(ka.m) != 1 {
		t.Errorf("after expiry: %d answers, want 1", len(ka.m))
	}
	for i := range 100 {
		ka.learn(ptrAnswer(120, fmt.Sprintf("%016x", i)), "ffffffffffffffff", peerAddr, t0.Add(121*time.Second))
	}
	known := ka.list(t0.Add(122*time.Second), maxKnownInQuery)
	if len(known) != maxKnownInQuery {
		t.Fatalf("%d known answers in a query, want %d", len(known), maxKnownInQuery)
	}
	b, err := queryMsg(known).Pack()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxQuerySize {
		t.Errorf("query with %d known answers is %d bytes, more than %d", len(known), len(b), maxQuerySize)
	}
}

// TestQueryKnownAnswerSuppression: our query, built from what we heard,
// makes a responder that knows its answer is listed stay quiet, for the
// multicast (TTL 120) and the legacy (TTL 10) answers it gave; an answer
// with half its TTL gone is listed no more and is given again.
func TestQueryKnownAnswerSuppression(t *testing.T) {
	zone := testZone(t)
	self := node(1, "小明")
	from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 40000} // our querier: legacy
	t0 := time.Unix(1000, 0)
	for _, tt := range []struct {
		name  string
		heard func() *dns.Msg // what the responder sent us at t0
		quiet time.Duration   // until when it stays quiet
	}{
		{"announcement", func() *dns.Msg { return announcement(zone, false) }, 60 * time.Second},
		{"legacy answer", func() *dns.Msg {
			resp, _ := answer(zone, queryMsg(nil), from, true, mdnsGroup4)
			return resp
		}, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Through the wire, as heard.
			b, err := tt.heard().Pack()
			if err != nil {
				t.Fatal(err)
			}
			var heard dns.Msg
			if err := heard.Unpack(b); err != nil {
				t.Fatal(err)
			}
			var ka knownAnswers
			ka.learn(&heard, "ffffffffffffffff", netip.MustParseAddr("10.0.0.1"), t0)
			for _, at := range []time.Duration{0, time.Second, tt.quiet - time.Second, tt.quiet, tt.quiet + time.Second} {
				b, err := queryMsg(ka.list(t0.Add(at), maxKnownInQuery)).Pack()
				if err != nil {
					t.Fatal(err)
				}
				var q dns.Msg
				if err := q.Unpack(b); err != nil {
					t.Fatal(err)
				}
				resp, _ := answer(zone, &q, from, true, mdnsGroup4)
				if wantQuiet := at < tt.quiet; (resp == nil) != wantQuiet {
					t.Errorf("at %v: answer %v, want quiet %v (query's known answers %v)", at, resp, wantQuiet, q.Answer)
				}
				if resp != nil && len(entries(resp)) != 1 || resp != nil && entries(resp)[0].Name != self.ID+"."+serviceName {
					t.Errorf("at %v: answer %v does not describe %s", at, resp, self.ID)
				}
			}
		})
	}
}
