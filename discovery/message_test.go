package discovery

import (
	"fmt"
	"net"
	"net/netip"
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
	resp, to := answer(zone, query("_p2pchat._udp.local.", dns.TypePTR, false), avahiAddr, true, mdnsGroup4)
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
	resp, to := answer(testZone(t), query("_P2PCHAT._udp.local.", dns.TypePTR, true), avahiAddr, true, mdnsGroup4)
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
	resp, to := answer(testZone(t), q, legacyAddr, true, mdnsGroup4)
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
		resp, _ := answer(zone, q, avahiAddr, true, mdnsGroup4)
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
		if r, _ := answer(zone, q, avahiAddr, true, mdnsGroup4); r != nil {
			t.Errorf("%s: answered %v", name, r)
		}
	}
}

// TestAnswerKnownAnswerSilences: a querier that lists our PTR as known gets
// no answer at all, not even the SRV, TXT and A records that would come
// with the PTR (they are its additional records); one that knows only
// another instance gets everything.
func TestAnswerKnownAnswerSilences(t *testing.T) {
	zone := testZone(t)
	ptr := zone.Records(dns.Question{Name: "_p2pchat._udp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})[0]
	for _, from := range []*net.UDPAddr{avahiAddr, legacyAddr} {
		q := query("_p2pchat._udp.local.", dns.TypePTR, false)
		q.Answer = []dns.RR{dns.Copy(ptr)}
		if resp, _ := answer(zone, q, from, true, mdnsGroup4); resp != nil {
			t.Errorf("from %v: known answer still answered with %v", from, resp.Answer)
		}
		other := dns.Copy(ptr).(*dns.PTR)
		other.Ptr = "ffffffffffffffff._p2pchat._udp.local."
		q.Answer = []dns.RR{other}
		if resp, _ := answer(zone, q, from, true, mdnsGroup4); resp == nil || len(resp.Answer) != 4 {
			t.Errorf("from %v: another instance known: answer %v, want 4 records", from, resp)
		}
	}
}

// TestAnswerOffLink: RFC 6762 section 11: a source off the link gets no
// answer, whatever it asks and from whichever port.
func TestAnswerOffLink(t *testing.T) {
	zone := testZone(t)
	for _, from := range []*net.UDPAddr{avahiAddr, legacyAddr} {
		for _, qu := range []bool{false, true} {
			if resp, to := answer(zone, query("_p2pchat._udp.local.", dns.TypePTR, qu), from, false, mdnsGroup4); resp != nil {
				t.Errorf("off-link %v (QU %v): answered to %v", from, qu, to)
			}
		}
	}
}

// TestAnnouncement: an announcement carries PTR, SRV, TXT and A with the
// zone's TTL, cache-flush on all but the PTR, no question, ID 0; a
// goodbye is the same with TTL 0; and entries reads both back.
func TestAnnouncement(t *testing.T) {
	zone := testZone(t)
	for _, goodbye := range []bool{false, true} {
		m := announcement(zone, goodbye)
		if !m.Response || !m.Authoritative || m.Id != 0 || len(m.Question) != 0 {
			t.Errorf("goodbye %v: header %+v, questions %v", goodbye, m.MsgHdr, m.Question)
		}
		types := map[uint16]int{}
		for _, rr := range m.Answer {
			h := rr.Header()
			types[h.Rrtype]++
			wantTTL := uint32(120)
			if goodbye {
				wantTTL = 0
			}
			if h.Ttl != wantTTL {
				t.Errorf("goodbye %v: %v TTL %d, want %d", goodbye, rr, h.Ttl, wantTTL)
			}
			if got := h.Class&cacheFlush != 0; got != (h.Rrtype != dns.TypePTR) {
				t.Errorf("goodbye %v: %v cache-flush %v", goodbye, rr, got)
			}
		}
		for _, typ := range []uint16{dns.TypePTR, dns.TypeSRV, dns.TypeTXT, dns.TypeA} {
			if types[typ] != 1 {
				t.Errorf("goodbye %v: %d %s records, want 1", goodbye, types[typ], dns.TypeToString[typ])
			}
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		var back dns.Msg
		if err := back.Unpack(b); err != nil {
			t.Fatal(err)
		}
		es := entries(&back)
		self := node(1, "小明")
		if len(es) != 1 || es[0].Goodbye != goodbye || es[0].Port != self.Port ||
			len(es[0].Addrs) != 1 || es[0].Addrs[0] != netip.MustParseAddr("10.0.0.1") {
			t.Fatalf("goodbye %v: entries = %+v", goodbye, es)
		}
		eth := candidate{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.9/24")}}
		f, err := toFound(es[0], "ffffffffffffffff", eth)
		if goodbye != (err != nil) {
			t.Errorf("goodbye %v: toFound = %+v, %v", goodbye, f, err)
		}
		if !goodbye && (f.Name != "小明" || f.ID != self.ID) {
			t.Errorf("announcement read as %+v", f)
		}
	}
}

// TestEntries: what is read out of responses, wherever the records are.
func TestEntries(t *testing.T) {
	zone := testZone(t)
	recs := zone.Records(dns.Question{Name: "_p2pchat._udp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	byType := map[uint16]dns.RR{}
	for _, rr := range recs {
		byType[rr.Header().Rrtype] = rr
	}
	ptr, srv, txt, a := byType[dns.TypePTR], byType[dns.TypeSRV], byType[dns.TypeTXT], byType[dns.TypeA]
	foreign := &dns.PTR{Hdr: dns.RR_Header{Name: "_http._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: "x._http._tcp.local."}
	resp := func(answer, extra []dns.RR) *dns.Msg {
		return &dns.Msg{MsgHdr: dns.MsgHdr{Response: true}, Answer: answer, Extra: extra}
	}
	tests := []struct {
		name      string
		m         *dns.Msg
		n         int
		wantAddrs int
	}{
		{"all in answers", resp([]dns.RR{ptr, srv, txt, a}, nil), 1, 1},
		{"additional section", resp([]dns.RR{ptr}, []dns.RR{srv, txt, a}), 1, 1},
		{"A before SRV", resp([]dns.RR{a, txt, srv, ptr}, nil), 1, 1},
		{"SRV without PTR (cache-flush update)", resp([]dns.RR{srv, txt, a}, nil), 1, 1},
		{"no A", resp([]dns.RR{ptr, srv, txt}, nil), 1, 0},
		{"foreign service", resp([]dns.RR{foreign}, nil), 0, 0},
		{"a query", &dns.Msg{Answer: []dns.RR{ptr, srv, txt, a}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries(tt.m)
			if len(es) != tt.n {
				t.Fatalf("%d entries, want %d: %+v", len(es), tt.n, es)
			}
			if tt.n == 1 && (len(es[0].Addrs) != tt.wantAddrs || es[0].Port != 7001 || es[0].TXT == nil) {
				t.Errorf("entry %+v", es[0])
			}
		})
	}
	// A flood of instances in one message is cut at maxEntries.
	var many []dns.RR
	for i := range 500 {
		p := dns.Copy(ptr).(*dns.PTR)
		p.Ptr = fmt.Sprintf("%016x._p2pchat._udp.local.", i)
		many = append(many, p)
	}
	if n := len(entries(resp(many, nil))); n != maxEntries {
		t.Errorf("%d entries from 500 PTRs, want %d", n, maxEntries)
	}
}

// TestQueryMsg: the query asks for the PTRs of the service, one question,
// no recursion, and fits one small datagram.
func TestQueryMsg(t *testing.T) {
	q := queryMsg(nil)
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Question) != 1 || q.Question[0].Name != "_p2pchat._udp.local." || q.Question[0].Qtype != dns.TypePTR ||
		q.Question[0].Qclass != dns.ClassINET || q.RecursionDesired || q.Response || len(b) > 64 {
		t.Errorf("query %v (%d bytes)", q, len(b))
	}
}
