package rate

import (
	"net/netip"
	"time"

	"github.com/p2pchat/p2pchat/internal/lru"
)

// Keyed is a Bucket per key (a source prefix, a peer's key) for at most
// max keys: a new key in a full Keyed replaces the key used longest ago,
// which starts again with a full bucket if it comes back. It never
// clears itself. Not safe for concurrent use: its owner's lock guards it.
type Keyed[K comparable] struct {
	rate, burst float64
	c           *lru.Cache[K, *Bucket]
	evicted     uint64
}

// NewKeyed returns a Keyed of rate tokens a second and burst at once per
// key, remembering max keys.
func NewKeyed[K comparable](rate, burst float64, max int) *Keyed[K] {
	return &Keyed[K]{rate: rate, burst: burst, c: lru.New[K, *Bucket](max)}
}

// Take reports whether key's bucket had a token at now, and takes it.
func (k *Keyed[K]) Take(key K, now time.Time) bool {
	b, ok := k.c.Get(key)
	if !ok {
		b = &Bucket{Rate: k.rate, Burst: k.burst}
	}
	if k.c.Put(key, b) {
		k.evicted++
	}
	return b.Take(now)
}

// Has reports whether key's bucket holds a token at now, taking none.
func (k *Keyed[K]) Has(key K, now time.Time) bool {
	b, ok := k.c.Get(key)
	if !ok {
		return k.burst >= 1
	}
	c := *b
	return c.Take(now)
}

// Len is the number of keys remembered; Evicted how many were forgotten
// to make room.
func (k *Keyed[K]) Len() int        { return k.c.Len() }
func (k *Keyed[K]) Evicted() uint64 { return k.evicted }

// Prefix is the budget a packet from a counts against where its source
// can be spoofed, or chosen by its sender within a network: the IPv4 /24
// or the IPv6 /64 of a (zone and IPv4 mapping dropped).
func Prefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// Host is what one sender of a TCP connection counts as: its IPv4 address
// (TCP cannot come from an address its sender does not have), or the
// IPv6 /64 of it (one host may hold all of it).
func Host(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
