package transfer

import (
	"net/netip"
	"sync"

	"github.com/p2pchat/p2pchat/internal/rate"
)

// Bounds on data connections that have not proved a transfer's key yet
// (each lasts handshakeTimeout at most). Per source, an IPv4 address or
// an IPv6 /64: a TCP connection cannot come from an address its sender
// does not have, and one IPv6 host may have a whole /64 (a /24 would put
// a whole IPv4 LAN, the honest senders with the attacker, in one budget).
const (
	maxHandshakesPerSource = 4
	maxHandshakes          = 128
)

// handshakes counts the data connections in their handshake, per source
// and in all. mu guards n and per; per holds only sources with at least
// one connection (at most maxHandshakes entries: it never grows beyond).
type handshakes struct {
	mu  sync.Mutex
	n   int
	per map[netip.Prefix]int // by rate.Host
}

// take counts a connection from a, if the budgets allow; release gives
// it back (once).
func (h *handshakes) take(a netip.Addr, st *streamStats) (release func(), ok bool) {
	src := rate.Host(a)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.n >= maxHandshakes:
		st.refusedBusy.Add(1)
		return nil, false
	case h.per[src] >= maxHandshakesPerSource:
		st.refusedSource.Add(1)
		return nil, false
	}
	if h.per == nil {
		h.per = map[netip.Prefix]int{}
	}
	h.n++
	h.per[src]++
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.n--
			if h.per[src]--; h.per[src] <= 0 {
				delete(h.per, src)
			}
		})
	}, true
}
