package discovery

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// The mDNS messages of this package, as pure functions of their inputs: the
// answers of the responder (RFC 6762 section 6), the announcements and
// goodbyes (section 8.3, 10.1), the query (section 5.1, 6.7) and what is
// read out of the responses of others.

// mdnsPort is the mDNS port.
const mdnsPort = 5353

// legacyTTL caps the TTLs in answers to legacy queries (RFC 6762 section 6.7).
const legacyTTL = 10

// cacheFlush is the top bit of the rrclass of a unique record in an mDNS
// answer (RFC 6762 section 10.2); the top bit of a question's qclass is the
// QU bit (section 5.4).
const cacheFlush = 1 << 15

// maxEntries bounds what one received message is read for, and maxAddrs
// the addresses (A and AAAA) read for one entry.
const (
	maxEntries = 64
	maxAddrs   = 16
)

// maxQuestions and maxKnownAnswers bound the questions and the known
// answers of a query the responder reads, and maxOtherRecords its
// authority and additional records (probes, EDNS): a query over any of
// them is dropped unread (parseMsg), so that the work one query makes is
// bounded (finding 2 of the attack review: 745 questions and 372 known
// answers in 9 KB cost 40-78 ms). Our own queries carry one question and
// at most maxKnownInQuery known answers; avahi and Bonjour split theirs at
// the MTU.
const (
	maxQuestions    = 16
	maxKnownAnswers = 64
	maxOtherRecords = 16
)

// maxResponseRecords bounds the records of a response read: p2pchat's own
// hold about 5 (PTR, SRV, TXT and the addresses of one interface), and
// only p2pchat's responders answer for Service. A larger one is dropped
// unread (a 9 KB response of 550 records took 63x the allocations of an
// announcement to read).
const maxResponseRecords = 64

// errOverCap marks a message dropped unread for its record counts.
var errOverCap = errors.New("query over the record caps")

// headerSize is the size of a DNS message header (RFC 1035 section 4.1.1).
const headerSize = 12

// isQuery reports whether the datagram b is a DNS query (QR bit clear); a
// datagram too short to be a message is not.
func isQuery(b []byte) bool { return len(b) >= headerSize && b[2]&0x80 == 0 }

// overCap reports whether the datagram b is a DNS message whose header
// counts more records than the caps allow: for a query maxQuestions,
// maxKnownAnswers and maxOtherRecords, for a response maxResponseRecords.
func overCap(b []byte) bool {
	if len(b) < headerSize {
		return false
	}
	qd, an := int(binary.BigEndian.Uint16(b[4:])), int(binary.BigEndian.Uint16(b[6:]))
	other := int(binary.BigEndian.Uint16(b[8:])) + int(binary.BigEndian.Uint16(b[10:]))
	if !isQuery(b) {
		return qd+an+other > maxResponseRecords
	}
	return qd > maxQuestions || an > maxKnownAnswers || other > maxOtherRecords
}

// parseMsg reads the DNS message b. A message over the caps (overCap) is
// refused from its header alone (errOverCap), before any of it is
// unpacked.
func parseMsg(b []byte) (*dns.Msg, error) {
	if overCap(b) {
		return nil, errOverCap
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return nil, err
	}
	return m, nil
}

// serviceName is the fully qualified name of Service, whose PTR records
// list the instances.
const serviceName = Service + "." + domain

// answer returns the response to the mDNS message q that a source on the
// link (onLink) or off it sent from from, and where to send it, or nil if
// there is nothing to say:
//
//   - only on-link sources are answered (RFC 6762 section 11: an mDNS
//     responder is for its link; answering unicast queries from anywhere
//     leaks the zone, CERT VU#550620);
//   - a query from port 5353 (a full mDNS querier such as avahi, Bonjour or
//     python-zeroconf) is answered by multicast to the group, which every
//     socket in the group receives, unless every question asks for a
//     unicast answer (the QU bit), which then goes to the source;
//   - a query from any other port is a "legacy" one-shot query (section
//     6.7; p2pchat's own querier is one): it is answered by unicast to the
//     source, repeating the query ID and question, with TTLs capped at 10 s
//     and no cache-flush bits;
//   - answers the querier already knows (its known-answer list, with at
//     least half our TTL left) are left out, and so are the additional
//     records of an answer left out (section 7.1): a querier that knows us
//     gets nothing;
//   - multicast answers set the cache-flush bit on the unique records (SRV,
//     TXT, A: section 10.2);
//   - a query over the caps (maxQuestions, maxKnownAnswers,
//     maxOtherRecords) gets nothing.
//
// group is the multicast group and port to answer to. answer clears the
// cache-flush bit of q's known answers.
func answer(zone mdns.Zone, q *dns.Msg, from *net.UDPAddr, onLink bool, group *net.UDPAddr) (*dns.Msg, *net.UDPAddr) {
	// RFC 6762 section 18: ignore responses and anything that is not a
	// standard query with rcode 0.
	if q.Response || q.Opcode != dns.OpcodeQuery || q.Rcode != dns.RcodeSuccess || !onLink ||
		len(q.Question) > maxQuestions || len(q.Answer) > maxKnownAnswers || len(q.Ns)+len(q.Extra) > maxOtherRecords {
		return nil, nil
	}
	legacy := from.Port != mdnsPort
	known := indexKnown(q.Answer)
	unicast := legacy
	allQU := true
	var answers []dns.RR
	var asked []dns.Question // the questions looked up: each once
	for _, question := range q.Question {
		if question.Qclass&cacheFlush == 0 {
			allQU = false
		}
		// Names are case-insensitive; the zone compares them exactly and
		// holds only lower-case names.
		lookup := dns.Question{Name: strings.ToLower(question.Name), Qtype: question.Qtype, Qclass: question.Qclass &^ cacheFlush}
		if lookup.Qclass != dns.ClassINET && lookup.Qclass != dns.ClassANY || slices.Contains(asked, lookup) {
			continue
		}
		asked = append(asked, lookup)
		answers = appendAnswers(answers, zone.Records(lookup), lookup, known, legacy)
	}
	if len(answers) == 0 {
		return nil, nil
	}
	if len(q.Question) > 0 && allQU {
		unicast = true
	}
	resp := response(answers, !legacy, 0, false)
	if legacy {
		for _, rr := range resp.Answer {
			rr.Header().Ttl = min(rr.Header().Ttl, legacyTTL)
		}
		resp.Id = q.Id
		resp.Question = q.Question
	}
	if unicast {
		return resp, from
	}
	return resp, group
}

// appendAnswers appends to answers the records that answer question
// (those of its name and type) and their additional records, leaving out
// what answers already holds and, when every direct answer is a known
// answer, the whole group. For a legacy query the TTL a known answer is
// held against is the one the answer would carry (at most legacyTTL).
func appendAnswers(answers, recs []dns.RR, question dns.Question, known knownIndex, legacy bool) []dns.RR {
	direct := 0
	for _, rr := range recs {
		h := rr.Header()
		if strings.EqualFold(h.Name, question.Name) && (question.Qtype == dns.TypeANY || h.Rrtype == question.Qtype) && !knownAnswer(known, rr, legacy) {
			direct++
		}
	}
	if direct == 0 {
		return answers
	}
	for _, rr := range recs {
		if !contains(answers, rr) && !knownAnswer(known, rr, legacy) {
			answers = append(answers, rr)
		}
	}
	return answers
}

// response is an authoritative mDNS response holding copies of rrs; with
// flush the unique records (all but PTR) get the cache-flush bit; with
// setTTL every TTL is ttl (0 for goodbyes).
func response(rrs []dns.RR, flush bool, ttl uint32, setTTL bool) *dns.Msg {
	resp := &dns.Msg{
		MsgHdr:   dns.MsgHdr{Response: true, Opcode: dns.OpcodeQuery, Authoritative: true},
		Compress: true,
	}
	for _, rr := range rrs {
		rr = dns.Copy(rr)
		h := rr.Header()
		if flush && h.Rrtype != dns.TypePTR {
			h.Class |= cacheFlush // SRV, TXT, A, AAAA: ours alone
		}
		if setTTL {
			h.Ttl = ttl
		}
		resp.Answer = append(resp.Answer, rr)
	}
	return resp
}

// announcement returns the unsolicited response that announces zone's
// service instance (RFC 6762 section 8.3): PTR, SRV, TXT and A records,
// the unique ones with cache-flush. With goodbye every TTL is 0: the
// instance is leaving and caches drop it at once (section 10.1).
func announcement(zone mdns.Zone, goodbye bool) *dns.Msg {
	recs := zone.Records(dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	return response(recs, true, 0, goodbye)
}

// queryMsg returns the query this package browses with: one question for
// the PTR records of Service, sent from a port other than 5353 so that it
// is a legacy query answered by unicast (RFC 6762 section 6.7): a LAN
// where every node queries sees no multicast answers at all. known is its
// known-answer list (section 7.1, see knownAnswers): responders whose
// answer is in it stay quiet.
func queryMsg(known []dns.RR) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(serviceName, dns.TypePTR)
	q.RecursionDesired = false
	q.Answer = known
	q.Compress = true
	return q
}

// contains reports whether rrs holds rr (same name, type, class and data).
func contains(rrs []dns.RR, rr dns.RR) bool {
	for _, x := range rrs {
		if dns.IsDuplicate(x, rr) {
			return true
		}
	}
	return false
}

// knownIndex holds the known answers of one query by owner name (lower
// case) and type, with the cache-flush bit of their class cleared, so that
// a record is looked up among the few of its own name and type.
type knownIndex map[knownKey][]dns.RR

type knownKey struct {
	name   string
	rrtype uint16
}

// indexKnown indexes the known answers rrs, clearing the cache-flush bit
// of their class in place.
func indexKnown(rrs []dns.RR) knownIndex {
	if len(rrs) == 0 {
		return nil
	}
	ix := make(knownIndex, len(rrs))
	for _, rr := range rrs {
		h := rr.Header()
		h.Class &^= cacheFlush
		k := knownKey{strings.ToLower(h.Name), h.Rrtype}
		ix[k] = append(ix[k], rr)
	}
	return ix
}

// knownAnswer reports whether the querier's known answers hold rr with at
// least half its TTL left (RFC 6762 section 7.1), so rr need not be sent;
// with legacy, half the TTL it would be sent with (at most legacyTTL).
func knownAnswer(known knownIndex, rr dns.RR, legacy bool) bool {
	if len(known) == 0 {
		return false
	}
	h := rr.Header()
	ttl := h.Ttl
	if legacy {
		ttl = min(ttl, legacyTTL)
	}
	for _, k := range known[knownKey{strings.ToLower(h.Name), h.Rrtype}] {
		if 2*uint64(k.Header().Ttl) >= uint64(ttl) && dns.IsDuplicate(k, rr) {
			return true
		}
	}
	return false
}

// entry is one service instance as a received response describes it.
type entry struct {
	Name    string       // instance name, lower case: "<id>._p2pchat._udp.local."
	Port    int          // from SRV
	Target  string       // SRV target host name
	TXT     []string     // in DNS presentation format (see unescapeTXT)
	Addrs   []netip.Addr // from A and AAAA, in message order
	Goodbye bool         // its PTR or SRV came with TTL 0: it is leaving
}

// entries reads the instances of Service out of a response: each instance
// named by a PTR of Service or by an SRV record of a name under it, with
// its SRV, TXT and the A records of its SRV target, wherever they are in
// the message. At most maxEntries are returned. Queries give nothing.
func entries(m *dns.Msg) []entry {
	if !m.Response {
		return nil
	}
	rrs := append(append([]dns.RR{}, m.Answer...), m.Extra...)
	var out []entry
	index := map[string]int{}
	add := func(name string) *entry {
		name = strings.ToLower(name)
		if i, ok := index[name]; ok {
			return &out[i]
		}
		if len(out) >= maxEntries || !strings.HasSuffix(name, "."+serviceName) {
			return nil
		}
		index[name] = len(out)
		out = append(out, entry{Name: name})
		return &out[len(out)-1]
	}
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.PTR:
			if strings.EqualFold(rr.Hdr.Name, serviceName) {
				if e := add(rr.Ptr); e != nil && rr.Hdr.Ttl == 0 {
					e.Goodbye = true
				}
			}
		case *dns.SRV:
			if e := add(rr.Hdr.Name); e != nil {
				e.Port, e.Target = int(rr.Port), strings.ToLower(rr.Target)
				e.Goodbye = e.Goodbye || rr.Hdr.Ttl == 0
			}
		}
	}
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.TXT:
			if i, ok := index[strings.ToLower(rr.Hdr.Name)]; ok && out[i].TXT == nil {
				out[i].TXT = rr.Txt
			}
		case *dns.A, *dns.AAAA:
			var a netip.Addr
			var ok bool
			if r4, is4 := rr.(*dns.A); is4 {
				a, ok = netip.AddrFromSlice(r4.A.To4())
			} else {
				a, ok = netip.AddrFromSlice(rr.(*dns.AAAA).AAAA.To16())
			}
			if !ok {
				continue
			}
			a = a.Unmap()
			for i := range out {
				if out[i].Target != "" && strings.EqualFold(out[i].Target, rr.Header().Name) && len(out[i].Addrs) < maxAddrs {
					out[i].Addrs = append(out[i].Addrs, a)
				}
			}
		}
	}
	return out
}
