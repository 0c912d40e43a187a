package transfer

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// Stats counts what the manager refused or dropped, since it started.
type Stats struct {
	// StreamsBadHello: data connections closed because their hello was
	// late (handshakeTimeout), malformed, of another version, or named no
	// accepted transfer from the sender's key.
	StreamsBadHello uint64
	// StreamsUnauthenticated: data connections whose hello named a
	// transfer but that did not prove its key (a replayed hello): closed,
	// nothing changed.
	StreamsUnauthenticated uint64
	// StreamsRefusedSource: data connections closed at once because
	// their source (an IPv4 address, an IPv6 /64) had
	// maxHandshakesPerSource connections still in their handshake.
	StreamsRefusedSource uint64
	// StreamsRefusedBusy: data connections closed at once because
	// maxHandshakes connections, from all sources, were in their
	// handshake.
	StreamsRefusedBusy uint64
	// StreamsNoSlot: data connections that proved their key but found
	// maxStreams others running: closed (their sender tries again).
	StreamsNoSlot uint64
}

// streamStats are the counters behind Stats (atomics: no lock).
type streamStats struct {
	badHello        atomic.Uint64
	unauthenticated atomic.Uint64
	refusedSource   atomic.Uint64
	refusedBusy     atomic.Uint64
	noSlot          atomic.Uint64
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	return Stats{
		StreamsBadHello:        m.stats.badHello.Load(),
		StreamsUnauthenticated: m.stats.unauthenticated.Load(),
		StreamsRefusedSource:   m.stats.refusedSource.Load(),
		StreamsRefusedBusy:     m.stats.refusedBusy.Load(),
		StreamsNoSlot:          m.stats.noSlot.Load(),
	}
}

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
	per map[netip.Prefix]int
}

// sourceOf is the budget a connection from a counts against.
func sourceOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// take counts a connection from a, if the budgets allow; release gives
// it back (once).
func (h *handshakes) take(a netip.Addr, st *streamStats) (release func(), ok bool) {
	src := sourceOf(a)
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
