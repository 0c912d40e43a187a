package discovery

import (
	"container/list"
	"net/netip"
	"time"

	"github.com/p2pchat/p2pchat/internal/rate"
)

// The responder's budgets. Anyone on the link can send mDNS queries, from
// any source address it likes, so the work done for them is bounded per
// source and in all, before a query is even unpacked:
//
//   - queries read: queryRate a second (queryBurst at once) from one source
//     prefix (IPv4 /24, IPv6 /64), allQueryRate (allQueryBurst) from all
//     sources together. A LAN of 50 nodes started at once sends 50 queries
//     per family in its first second, then fewer and fewer (schedule.go);
//   - unicast answers (legacy queries, QU questions): answerRate a second
//     (answerBurst) to one address, the address a spoofed query names (a
//     reflection's victim); a p2pchat node queries at most twice a second
//     per family.
//
// Each budget remembers at most maxSources sources; when full, the one
// used longest ago is forgotten (it starts again with a full budget).
const (
	queryRate     = 50
	queryBurst    = 100
	allQueryRate  = 200
	allQueryBurst = 400
	answerRate    = 10
	answerBurst   = 20
	maxSources    = 1024
)

// sourceBudgets is a token bucket per source, at most max of them, the
// one used longest ago forgotten first. Not safe for concurrent use.
type sourceBudgets struct {
	rate, burst float64
	max         int
	m           map[netip.Addr]*list.Element // of *sourceBudget
	lru         list.List                    // front: used last
	evicted     uint64                       // sources forgotten to make room
}

type sourceBudget struct {
	key netip.Addr
	b   rate.Bucket
}

func newSourceBudgets(rate, burst float64, max int) *sourceBudgets {
	return &sourceBudgets{rate: rate, burst: burst, max: max, m: map[netip.Addr]*list.Element{}}
}

// take reports whether key's bucket had a token at now, and takes it.
func (s *sourceBudgets) take(key netip.Addr, now time.Time) bool {
	e, ok := s.m[key]
	if ok {
		s.lru.MoveToFront(e)
	} else {
		if len(s.m) >= s.max {
			old := s.lru.Back()
			s.lru.Remove(old)
			delete(s.m, old.Value.(*sourceBudget).key)
			s.evicted++
		}
		e = s.lru.PushFront(&sourceBudget{key: key, b: rate.Bucket{Rate: s.rate, Burst: s.burst}})
		s.m[key] = e
	}
	return e.Value.(*sourceBudget).b.Take(now)
}

// sourcePrefix is the key of a's budget: its /24 for IPv4, its /64 for
// IPv6 (an on-link sender can pick any address in those).
func sourcePrefix(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a
	}
	return p.Addr()
}
