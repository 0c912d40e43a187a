package discovery

import (
	"net"
	"testing"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// testZone is the zone a node advertising node(1, "小明") serves.
func testZone(t *testing.T) *mdns.MDNSService {
	t.Helper()
	self := node(1, "小明")
	zone, err := mdns.NewMDNSService(self.ID, Service, domain, "p2pchat-"+self.ID+"."+domain, self.Port,
		[]net.IP{net.IPv4(10, 0, 0, 1)}, escapeFields(TXT(self)))
	if err != nil {
		t.Fatal(err)
	}
	return zone
}

func query(name string, qtype uint16, qu bool) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.Id = 0x1234
	q.RecursionDesired = false
	if qu {
		q.Question[0].Qclass |= cacheFlush
	}
	return q
}

var (
	avahiAddr  = &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 5353}  // a full mDNS querier
	legacyAddr = &net.UDPAddr{IP: net.IPv4(10, 0, 0, 3), Port: 41234} // hashicorp/mdns, dig
)

// TestAnswerMulticast: a standard query from port 5353, as avahi-daemon sends,
// is answered by multicast (the unicast answers of the mdns library went to
// whichever socket on port 5353 the kernel picked, rarely avahi's), with ID
// 0, no question, cache-flush on the unique records.
func TestAnswerMulticast(t *testing.T) {
	zone := testZone(t)
	resp, to := answer(zone, query("_p2pchat._udp.local.", dns.TypePTR, false), avahiAddr)
	if resp == nil {
		t.Fatal("no answer")
	}
	if to.String() != "224.0.0.251:5353" {
		t.Errorf("answer sent to %v, want 224.0.0.251:5353", to)
	}
	if resp.Id != 0 || len(resp.Question) != 0 || !resp.Response || !resp.Authoritative {
		t.Errorf("header: id %d, %d questions, response %v, authoritative %v; want 0, 0, true, true",
			resp.Id, len(resp.Question), resp.Response, resp.Authoritative)
	}
	types := map[uint16]int{}
	for _, rr := range resp.Answer {
		h := rr.Header()
		types[h.Rrtype]++
		wantFlush := h.Rrtype != dns.TypePTR
		if got := h.Class&cacheFlush != 0; got != wantFlush {
			t.Errorf("%v: cache-flush %v, want %v", rr, got, wantFlush)
		}
		if h.Ttl != 120 {
			t.Errorf("%v: TTL %d, want 120", rr, h.Ttl)
		}
	}
	for _, typ := range []uint16{dns.TypePTR, dns.TypeSRV, dns.TypeTXT, dns.TypeA} {
		if types[typ] != 1 {
			t.Errorf("%d %s records, want 1 (answer %v)", types[typ], dns.TypeToString[typ], resp.Answer)
		}
	}
	// The answer survives the wire, TXT escaping included.
	b, err := resp.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var back dns.Msg
	if err := back.Unpack(b); err != nil {
		t.Fatal(err)
	}
	for _, rr := range back.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			fields, err := unescapeFields(txt.Txt)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseTXT(fields)
			if err != nil || info.Name != "小明" {
				t.Errorf("TXT %q parses to %+v, %v", txt.Txt, info, err)
			}
		}
	}
	// The zone's own records are untouched (no cache-flush bit leaks into
	// the next answer to a legacy query).
	for _, rr := range zone.Records(dns.Question{Name: "_p2pchat._udp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET}) {
		if rr.Header().Class != dns.ClassINET {
			t.Errorf("zone record changed: %v", rr)
		}
	}
}

// TestAnswerQU: a query from port 5353 whose questions all ask for unicast
// (QU) is answered to its source.
func TestAnswerQU(t *testing.T) {
	resp, to := answer(testZone(t), query("_P2PCHAT._udp.local.", dns.TypePTR, true), avahiAddr)
	if resp == nil {
		t.Fatal("no answer (QU bit or upper case not understood)")
	}
	if to != avahiAddr {
		t.Errorf("answer sent to %v, want %v", to, avahiAddr)
	}
}

// TestAnswerLegacy: a query from a port other than 5353 (what p2pchat's own
// querier sends) gets a unicast answer repeating ID and question, TTLs at
// most 10 s and no cache-flush bits (RFC 6762 section 6.7).
func TestAnswerLegacy(t *testing.T) {
	q := query("_p2pchat._udp.local.", dns.TypePTR, false)
	resp, to := answer(testZone(t), q, legacyAddr)
	if resp == nil {
		t.Fatal("no answer")
	}
	if to != legacyAddr {
		t.Errorf("answer sent to %v, want %v", to, legacyAddr)
	}
	if resp.Id != q.Id || len(resp.Question) != 1 || resp.Question[0] != q.Question[0] {
		t.Errorf("id %#x question %v, want %#x %v", resp.Id, resp.Question, q.Id, q.Question)
	}
	if len(resp.Answer) != 4 {
		t.Errorf("%d records, want 4: %v", len(resp.Answer), resp.Answer)
	}
	for _, rr := range resp.Answer {
		if h := rr.Header(); h.Ttl > 10 || h.Class != dns.ClassINET {
			t.Errorf("%v: TTL %d class %d, want <= 10 and IN", rr, h.Ttl, h.Class)
		}
	}
	// And what the mdns library's querier makes of it.
	e := new(mdns.ServiceEntry)
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.SRV:
			e.Port = int(rr.Port)
		case *dns.A:
			e.AddrV4 = rr.A
		}
	}
	if e.Port != 7001 || !e.AddrV4.Equal(net.IPv4(10, 0, 0, 1)) {
		t.Errorf("port %d addr %v, want 7001 10.0.0.1", e.Port, e.AddrV4)
	}
}

// TestAnswerKnownAnswer: records the querier lists as known, with at least
// half their TTL left, are not repeated; with less left they are.
func TestAnswerKnownAnswer(t *testing.T) {
	zone := testZone(t)
	ptr := zone.Records(dns.Question{Name: "_p2pchat._udp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})[0]
	for _, tc := range []struct {
		ttl     uint32
		wantPTR bool
	}{{120, false}, {60, false}, {59, true}} {
		q := query("_p2pchat._udp.local.", dns.TypePTR, false)
		known := dns.Copy(ptr)
		known.Header().Ttl = tc.ttl
		q.Answer = []dns.RR{known}
		resp, _ := answer(zone, q, avahiAddr)
		gotPTR := false
		if resp != nil {
			for _, rr := range resp.Answer {
				if rr.Header().Rrtype == dns.TypePTR {
					gotPTR = true
				}
			}
		}
		if gotPTR != tc.wantPTR {
			t.Errorf("known PTR with TTL %d: PTR answered %v, want %v", tc.ttl, gotPTR, tc.wantPTR)
		}
	}
}

// TestAnswerIgnores: responses, other opcodes, other services and other
// classes get no answer.
func TestAnswerIgnores(t *testing.T) {
	zone := testZone(t)
	resp := query("_p2pchat._udp.local.", dns.TypePTR, false)
	resp.Response = true
	update := query("_p2pchat._udp.local.", dns.TypePTR, false)
	update.Opcode = dns.OpcodeUpdate
	chaos := query("_p2pchat._udp.local.", dns.TypePTR, false)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	for name, q := range map[string]*dns.Msg{
		"response":      resp,
		"update":        update,
		"other service": query("_http._tcp.local.", dns.TypePTR, false),
		"other class":   chaos,
		"no question":   new(dns.Msg),
	} {
		if r, _ := answer(zone, q, avahiAddr); r != nil {
			t.Errorf("%s: answered %v", name, r)
		}
	}
}
