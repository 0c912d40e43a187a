package discovery

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
	"github.com/p2pchat/p2pchat/internal/rate"
)

// craftedQuery is the attack query of finding 2: questions copies of the
// PTR question of Service, which every p2pchat answers, and known NULL
// "known answers" (compressed, 12 bytes each).
func craftedQuery(t *testing.T, questions, known int) []byte {
	t.Helper()
	q := new(dns.Msg)
	for range questions {
		q.Question = append(q.Question, dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	}
	for range known {
		q.Answer = append(q.Answer, &dns.NULL{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypeNULL, Class: dns.ClassINET, Ttl: 120}})
	}
	q.Compress = true
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// respond is what the responder does with the datagram b from an on-link
// source, budgets aside: read it and build the answer.
func respond(zone mdns.Zone, b []byte, from *net.UDPAddr) *dns.Msg {
	m, err := parseMsg(b)
	if err != nil {
		return nil
	}
	resp, _ := answer(zone, m, from, true, mdnsGroup4)
	return resp
}

// cost measures respond on b: allocations per call, and the least time
// one call took over runs (the machine is loaded: the least is the least
// disturbed).
func cost(zone mdns.Zone, b []byte, from *net.UDPAddr, runs int) (allocs float64, least time.Duration) {
	allocs = testing.AllocsPerRun(runs, func() { respond(zone, b, from) })
	least = time.Hour
	for range runs {
		start := time.Now()
		respond(zone, b, from)
		least = min(least, time.Since(start))
	}
	return allocs, least
}

// TestCraftedQueryCost (finding 2): a 9 KB query of 745 questions and 372
// known answers from an on-link stranger costs the responder no more than
// an ordinary query within a small factor, counted in allocations (which
// do not depend on the machine's load) and in time; so does the costliest
// query still read, against the largest query p2pchat itself sends.
func TestCraftedQueryCost(t *testing.T) {
	zone := testZone(t)
	ptr := zone.Records(dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassINET})[0]
	ours := func(known int) []byte { // our own query, knowing other nodes
		var rrs []dns.RR
		for i := range known {
			other := dns.Copy(ptr).(*dns.PTR)
			other.Ptr = fmt.Sprintf("%016x.%s", 0xf000+i, serviceName)
			rrs = append(rrs, other)
		}
		b, err := queryMsg(rrs).Pack()
		if err != nil {
			t.Fatal(err)
		}
		if resp := respond(zone, b, avahiAddr); resp == nil {
			t.Fatalf("our query knowing %d nodes is not answered", known)
		}
		return b
	}
	type base struct {
		allocs float64
		least  time.Duration
	}
	bases := map[string]base{}
	for name, b := range map[string][]byte{"ordinary": ours(1), "ours, full": ours(maxKnownInQuery)} {
		allocs, least := cost(zone, b, avahiAddr, 50)
		bases[name] = base{allocs, least}
		t.Logf("%s query of %d bytes: %.0f allocations, %v", name, len(b), allocs, least)
	}
	costliest := costliestQuery(t, ptr.(*dns.PTR))
	if resp := respond(zone, costliest, avahiAddr); resp == nil || len(resp.Answer) < 4 {
		t.Fatalf("the costliest query is answered with %v, want the whole zone", resp)
	}
	for _, tc := range []struct {
		name      string
		query     []byte
		against   string  // the query compared with
		maxFactor float64 // the most, in allocations and in time, as a multiple of its cost
	}{
		{"finding 2: 9 KB, 745 questions, 372 known answers", craftedQuery(t, 745, 372), "ordinary", 10},
		{"1.5 KB, 124 questions, 62 known answers", craftedQuery(t, 124, 62), "ordinary", 10},
		{"the most read: 16 questions, 64 known answers", craftedQuery(t, maxQuestions, maxKnownAnswers), "ours, full", 10},
		{"the costliest read: 16 questions all answered, 64 known PTRs", costliest, "ours, full", 10},
	} {
		allocs, least := cost(zone, tc.query, avahiAddr, 20)
		base := bases[tc.against]
		t.Logf("%s: %d bytes: %.0f allocations (%.1fx), %v (%.1fx) against %s",
			tc.name, len(tc.query), allocs, allocs/base.allocs, least, float64(least)/float64(base.least), tc.against)
		if allocs > tc.maxFactor*base.allocs {
			t.Errorf("%s: %.0f allocations, more than %.0fx the %s query's %.0f", tc.name, allocs, tc.maxFactor, tc.against, base.allocs)
		}
		if float64(least) > tc.maxFactor*float64(base.least) {
			t.Errorf("%s: %v, more than %.0fx the %s query's %v", tc.name, least, tc.maxFactor, tc.against, base.least)
		}
	}
}

// costliestQuery is the costliest query the responder still reads: 16
// different questions that the zone of ptr's instance answers, and 64
// known answers of the name and type of ptr.
func costliestQuery(t *testing.T, ptr *dns.PTR) []byte {
	t.Helper()
	instance := ptr.Ptr
	host := "p2pchat-" + strings.TrimSuffix(instance, serviceSuffix) + "." + domain
	q := new(dns.Msg)
	for _, class := range []uint16{dns.ClassINET, dns.ClassANY} {
		for _, qq := range []dns.Question{
			{Name: serviceName, Qtype: dns.TypePTR}, {Name: serviceName, Qtype: dns.TypeANY},
			{Name: instance, Qtype: dns.TypeANY}, {Name: instance, Qtype: dns.TypeSRV}, {Name: instance, Qtype: dns.TypeTXT},
			{Name: host, Qtype: dns.TypeA}, {Name: host, Qtype: dns.TypeAAAA}, {Name: host, Qtype: dns.TypeANY},
		} {
			qq.Qclass = class
			q.Question = append(q.Question, qq)
		}
	}
	for i := range maxKnownAnswers {
		other := dns.Copy(ptr).(*dns.PTR)
		other.Ptr = fmt.Sprintf("%016x.%s", 0xe000+i, serviceName)
		q.Answer = append(q.Answer, other)
	}
	q.Compress = true
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zoneOf is the zone node info serves, advertising ip.
func zoneOf(t *testing.T, info Info, ip netip.Addr) *mdns.MDNSService {
	t.Helper()
	zone, err := mdns.NewMDNSService(info.ID, Service, domain, "p2pchat-"+info.ID+"."+domain, info.Port,
		[]net.IP{ip.AsSlice()}, escapeFields(TXT(info)))
	if err != nil {
		t.Fatal(err)
	}
	return zone
}

// learnFrom has ka learn m, heard from from at now.
func learnFrom(ka *knownAnswers, m *dns.Msg, from netip.Addr, now time.Time) {
	ka.learn(m, "ffffffffffffffff", from, now)
}

// TestKnownAnswerPoison (finding 13): a stranger's PTR for bob, with the
// longest TTL there is, does not keep bob quiet to our queries: a PTR not
// tied to its sender's address is not taken at all, and one sent from
// bob's own address (spoofed) is held no longer than p2pchat's own TTL.
func TestKnownAnswerPoison(t *testing.T) {
	bobAddr := netip.MustParseAddr("10.0.0.2")
	stranger := netip.MustParseAddr("10.0.0.66")
	bob := node(2, "bob")
	zone := zoneOf(t, bob, bobAddr)
	ours := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 40000} // our querier
	t0 := time.Unix(1000, 0)
	forever := func() *dns.Msg {
		m := announcement(zone, false)
		for _, rr := range m.Answer {
			rr.Header().Ttl = math.MaxUint32
		}
		return m
	}
	bare := forever()
	bare.Answer = bare.Answer[:1] // the PTR alone
	for _, tc := range []struct {
		name     string
		m        *dns.Msg
		from     netip.Addr
		answered []time.Duration // when bob must answer our query
	}{
		{"stranger's PTR", bare, stranger, []time.Duration{0, 2 * time.Minute, 24 * time.Hour}},
		{"stranger's full answer", forever(), stranger, []time.Duration{0, 2 * time.Minute, 24 * time.Hour}},
		{"spoofed from bob's address", forever(), bobAddr, []time.Duration{2 * time.Minute, 24 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ka knownAnswers
			learnFrom(&ka, tc.m, tc.from, t0)
			for _, at := range tc.answered {
				known := ka.list(t0.Add(at), maxKnownInQuery)
				if resp, _ := answer(zone, queryMsg(known), ours, true, mdnsGroup4); resp == nil {
					t.Errorf("%v after the poison: bob does not answer our query (known answers %v)", at, known)
				}
			}
		})
	}
}

// unicastReplies feeds the responder of d the datagram b from from at
// now and returns the size of the unicast answer it sends (0: none).
func unicastReplies(t *testing.T, d *Discovery, b []byte, from *net.UDPAddr, now time.Time) int {
	out, _, to := d.reply(testFamily, b, 1, from, now)
	if out != nil && to != from {
		t.Fatalf("answer sent to %v, want %v", to, from)
	}
	return len(out)
}

// TestLegacyAnswerBudget (finding 15): legacy queries are answered by
// unicast to their source, which anyone on the link can name: a stranger
// sending 100 a second for 10 s draws at most about 10 answers a second to
// one address, while another address is still answered.
func TestLegacyAnswerBudget(t *testing.T) {
	d := testDiscovery(nil)
	d.links[1].zone = testZone(t)
	q, err := queryMsg(nil).Pack()
	if err != nil {
		t.Fatal(err)
	}
	victim := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 77), Port: 40000}
	t0 := time.Unix(1000, 0)
	answers, bytes := 0, 0
	for i := range 1000 {
		if n := unicastReplies(t, d, q, victim, t0.Add(time.Duration(i)*10*time.Millisecond)); n > 0 {
			answers++
			bytes += n
		}
	}
	t.Logf("1,000 legacy queries of %d bytes in 10 s from one address: %d answers, %d bytes (%.1fx the queries' bytes)",
		len(q), answers, bytes, float64(bytes)/float64(1000*len(q)))
	if max := 10*10 + 20; answers > max {
		t.Errorf("%d unicast answers to one address in 10 s, want at most %d", answers, max)
	}
	other := &net.UDPAddr{IP: net.IPv4(10, 0, 1, 3), Port: 40000} // another /24: its query is read
	if n := unicastReplies(t, d, q, other, t0.Add(10*time.Second)); n == 0 {
		t.Error("another address is not answered")
	}
}

// testFamily is the IPv4 family of testDiscovery, without sockets.
var testFamily = &family{group: mdnsGroup4}

// testDiscovery is a Discovery with no sockets, on one interface (index 1,
// 10.0.0.0/16, IPv4), reporting to onFound.
func testDiscovery(onFound func(Found)) *Discovery {
	c := candidate{Name: "eth0", Index: 1, Flags: net.FlagUp | net.FlagMulticast,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.9/16")}}
	d := &Discovery{
		log:     slog.New(slog.DiscardHandler),
		self:    node(1, "us"),
		links:   map[int]*link{1: {cand: c, fams: []*family{testFamily}, lastMulticast: map[*family]time.Time{}}},
		budget:  rate.Bucket{Rate: reportRate, Burst: reportBurst},
		recent:  map[string]recentReport{},
		onFound: onFound,
	}
	d.initBudgets()
	return d
}

// TestRecentReportsEvict: the memory of what was reported is bounded by
// forgetting the oldest reports, not by forgetting them all: after more
// than maxRecent nodes have been reported, at the rate the report budget
// allows, a node reported a moment ago and heard again is not reported
// a second time.
func TestRecentReportsEvict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		addr := netip.MustParseAddr("10.0.0.2")
		from := &net.UDPAddr{IP: addr.AsSlice(), Port: mdnsPort}
		reported := map[string]int{}
		d := testDiscovery(func(f Found) { reported[f.ID]++ })
		heard := func(i int) {
			d.handleResponse(announcement(zoneOf(t, node(i, "n"), addr), false), 1, from)
		}
		for i := range maxRecent - 1 { // 100 a second: within the report budget
			heard(2 + i)
			if i%100 == 99 {
				time.Sleep(time.Second)
			}
		}
		x := 2 + maxRecent
		heard(x)
		time.Sleep(100 * time.Millisecond)
		heard(x + 1) // a newcomer, with the memory full
		time.Sleep(100 * time.Millisecond)
		heard(x) // x again, 200 ms after it was reported
		if reported[node(x, "n").ID] != 1 {
			t.Errorf("a node heard twice within %v was reported %d times, want once", reportAgain, reported[node(x, "n").ID])
		}
		if len(reported) != maxRecent+1 {
			t.Errorf("%d nodes reported, want %d", len(reported), maxRecent+1)
		}
	})
}

// TestQueryBudgets: the responder reads a query over the record caps not
// at all, and at most its budget of queries from one /24 (queryBurst, then
// queryRate a second), while queries from another /24 are still answered;
// Stats counts what was dropped.
func TestQueryBudgets(t *testing.T) {
	d := testDiscovery(nil)
	d.links[1].zone = testZone(t)
	t0 := time.Unix(1000, 0)
	if out, _, _ := d.reply(testFamily, craftedQuery(t, 745, 372), 1, legacyAddr, t0); out != nil {
		t.Error("the crafted query of finding 2 is answered")
	}
	q, err := queryMsg(nil).Pack()
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for i := range 1000 { // 100 a second for 10 s, each from another address of 10.0.0.0/24
		from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, byte(10+i%200)), Port: 40000}
		if out, _, _ := d.reply(testFamily, q, 1, from, t0.Add(time.Duration(i)*10*time.Millisecond)); out != nil {
			answered++
		}
	}
	if max := queryBurst + 10*queryRate; answered > max {
		t.Errorf("%d of 1,000 queries from one /24 in 10 s answered, want at most %d", answered, max)
	}
	other := &net.UDPAddr{IP: net.IPv4(10, 0, 1, 5), Port: 40000}
	if out, _, _ := d.reply(testFamily, q, 1, other, t0.Add(10*time.Second)); out == nil {
		t.Error("a query from another /24 is not answered")
	}
	st := d.Stats()
	t.Logf("%d of 1,000 answered; stats %+v", answered, st)
	if st.QueriesOverCap != 1 || st.QueriesRateLimited != uint64(1000-answered) {
		t.Errorf("stats %+v, want 1 query over the caps and %d over the budget", st, 1000-answered)
	}
}

// TestCraftedResponseCost: a 9 KB response of 550 records from an
// on-link stranger costs a node no more than an announcement within a
// small factor, in allocations and in time (read it, learn its known
// answers, report its nodes); so does the largest response still read.
func TestCraftedResponseCost(t *testing.T) {
	crafted := func(records int) []byte {
		m := new(dns.Msg)
		m.Response = true
		for range records {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 120}, A: net.IPv4(10, 0, 0, 2)})
		}
		m.Compress = true
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ann, err := announcement(zoneOf(t, node(2, "bob"), netip.MustParseAddr("10.0.0.2")), false).Pack()
	if err != nil {
		t.Fatal(err)
	}
	d := testDiscovery(nil)
	from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: mdnsPort}
	heard := func(b []byte) {
		if m, err := parseMsg(b); err == nil {
			d.handleResponse(m, 1, from)
		}
	}
	measure := func(b []byte) (float64, time.Duration) {
		allocs := testing.AllocsPerRun(20, func() { heard(b) })
		least := time.Hour
		for range 20 {
			start := time.Now()
			heard(b)
			least = min(least, time.Since(start))
		}
		return allocs, least
	}
	baseAllocs, baseTime := measure(ann)
	t.Logf("announcement of %d bytes: %.0f allocations, %v", len(ann), baseAllocs, baseTime)
	for _, records := range []int{550, maxResponseRecords} {
		b := crafted(records)
		allocs, least := measure(b)
		t.Logf("response of %d records, %d bytes: %.0f allocations (%.1fx), %v (%.1fx)",
			records, len(b), allocs, allocs/baseAllocs, least, float64(least)/float64(baseTime))
		if allocs > 10*baseAllocs || least > 10*baseTime {
			t.Errorf("a response of %d records costs %.0f allocations and %v, more than 10x an announcement's %.0f and %v",
				records, allocs, least, baseAllocs, baseTime)
		}
	}
}
