package discovery

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Known-answer suppression in our own queries (RFC 6762 section 7.1): a
// query lists the PTR answers of Service the querier already holds with
// more than half their TTL left, and a responder whose answer is listed
// stays quiet. knownAnswers is what one interface heard: the answers to
// our queries (legacy unicast answers, TTL at most 10 s), the multicast
// answers others got and the announcements (TTL 120 s). It is pure: callers
// pass the time.
//
// A known answer keeps its responder quiet to us, so a forged one could
// hide a node (finding 13 of the attack review: a stranger's PTR with TTL
// 2^32-1 s hid it for 136 years). Only answers tied to their sender are
// taken: the response must carry the instance's SRV and an A or AAAA
// record of its target holding the address the response came from, as
// p2pchat's announcements and answers do. And a TTL is held for at most
// maxKnownTTL, the TTL p2pchat sends: a sender forging the source address
// of the node it hides keeps it quiet for a minute per forgery, not more.

const (
	// maxKnown bounds the answers remembered per interface.
	maxKnown = 512
	// maxKnownInQuery is how many known answers one query carries at most:
	// 40 PTRs of "<16 hex digits>._p2pchat._udp.local." fit in a query of
	// 1,452 bytes (an Ethernet MTU less the IPv6 and UDP headers), which a
	// test checks. The rest are left out (the RFC's truncated queries with
	// follow-up packets are not sent): their responders answer, as they
	// would to a query without known answers.
	maxKnownInQuery = 40
	// maxQuerySize is the largest query we send.
	maxQuerySize = 1452
	// maxKnownTTL caps the TTL of a known answer: the TTL of p2pchat's own
	// records (github.com/hashicorp/mdns's).
	maxKnownTTL = 120
)

// knownAnswers holds the PTR answers of Service heard on one interface.
// It is not safe for concurrent use: a link's is guarded by Discovery.mu.
type knownAnswers struct {
	m map[string]knownPTR // by instance name, lower case
}

type knownPTR struct {
	rr  *dns.PTR
	ttl uint32    // TTL it came with
	at  time.Time // when it came
}

// expires is when k's TTL runs out.
func (k knownPTR) expires() time.Time { return k.at.Add(time.Duration(k.ttl) * time.Second) }

// learn remembers the PTR answers of Service in m, a response heard from
// src at now, but for the instance selfID (our own records, heard back
// through multicast loopback: no responder but us would stay quiet for
// them) and but for those not tied to src (see above); TTLs are capped at
// maxKnownTTL. A PTR with TTL 0 (a goodbye) forgets its instance. It
// returns how many PTRs it did not remember: untied, or the table full.
func (ka *knownAnswers) learn(m *dns.Msg, selfID string, src netip.Addr, now time.Time) (refused int) {
	if !m.Response {
		return 0
	}
	src = src.Unmap().WithZone("")
	var tied map[string]bool // instances whose SRV target has an address src
	for _, rr := range m.Answer {
		p, ok := rr.(*dns.PTR)
		if !ok || !strings.EqualFold(p.Hdr.Name, serviceName) || p.Hdr.Class&^cacheFlush != dns.ClassINET {
			continue
		}
		name := strings.ToLower(p.Ptr)
		if !strings.HasSuffix(name, "."+serviceName) || name == selfID+"."+serviceName {
			continue
		}
		if p.Hdr.Ttl == 0 {
			delete(ka.m, name)
			continue
		}
		if tied == nil {
			tied = map[string]bool{}
			for _, e := range entries(m) {
				if slices.Contains(e.Addrs, src) {
					tied[e.Name] = true
				}
			}
		}
		if !tied[name] {
			refused++
			continue
		}
		if ka.m == nil {
			ka.m = map[string]knownPTR{}
		}
		if _, ok := ka.m[name]; !ok && len(ka.m) >= maxKnown {
			ka.expire(now)
			if len(ka.m) >= maxKnown {
				refused++
				continue
			}
		}
		c := &dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET}, Ptr: name}
		ka.m[name] = knownPTR{rr: c, ttl: min(p.Hdr.Ttl, maxKnownTTL), at: now}
	}
	return refused
}

// expire forgets the answers whose TTL has run out at now.
func (ka *knownAnswers) expire(now time.Time) {
	for name, k := range ka.m {
		if !now.Before(k.expires()) {
			delete(ka.m, name)
		}
	}
}

// list returns the known-answer list of a query sent at now: the answers
// with more than half their TTL left, each with the TTL it has left (whole
// seconds), at most max of them, those with the most time left first (ties
// by name).
func (ka *knownAnswers) list(now time.Time, max int) []dns.RR {
	ka.expire(now)
	type cand struct {
		name string
		left time.Duration
		k    knownPTR
	}
	var cs []cand
	for name, k := range ka.m {
		left := k.expires().Sub(now)
		if 2*left > time.Duration(k.ttl)*time.Second {
			cs = append(cs, cand{name, left, k})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(b.left, a.left); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	if len(cs) > max {
		cs = cs[:max]
	}
	out := make([]dns.RR, 0, len(cs))
	for _, c := range cs {
		rr := dns.Copy(c.k.rr).(*dns.PTR)
		rr.Hdr.Ttl = uint32(c.left / time.Second)
		out = append(out, rr)
	}
	return out
}
