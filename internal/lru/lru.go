// Package lru is a map with a bound: putting a new key into a full one
// first drops the entry put (or used) longest ago. It never clears itself,
// so a flood of new keys from the network costs the oldest entries only.
// Peer, discovery and transfer keep what strangers make them remember in
// it (docs/security.md, table of bounds).
package lru

import "container/list"

// Cache holds at most its max entries. Not safe for concurrent use: its
// owner's lock guards it.
type Cache[K comparable, V any] struct {
	max   int
	m     map[K]*list.Element // values are *entry[K, V]
	order list.List           // front: put longest ago
}

type entry[K comparable, V any] struct {
	k K
	v V
}

// New returns an empty Cache of at most n entries (at least 1).
func New[K comparable, V any](n int) *Cache[K, V] {
	return &Cache[K, V]{max: max(n, 1), m: map[K]*list.Element{}}
}

// Get returns the value of k, if any. It does not count as a use.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if e, ok := c.m[k]; ok {
		return e.Value.(*entry[K, V]).v, true
	}
	var zero V
	return zero, false
}

// Put sets k to v and makes it the newest entry, dropping the oldest if k
// is new and the cache is full. It reports whether an entry was dropped.
func (c *Cache[K, V]) Put(k K, v V) (evicted bool) {
	if e, ok := c.m[k]; ok {
		e.Value.(*entry[K, V]).v = v
		c.order.MoveToBack(e)
		return false
	}
	if len(c.m) >= c.max {
		if old := c.order.Front(); old != nil {
			delete(c.m, old.Value.(*entry[K, V]).k)
			c.order.Remove(old)
			evicted = true
		}
	}
	c.m[k] = c.order.PushBack(&entry[K, V]{k, v})
	return evicted
}

// Remove drops k, if present.
func (c *Cache[K, V]) Remove(k K) {
	if e, ok := c.m[k]; ok {
		delete(c.m, k)
		c.order.Remove(e)
	}
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int { return len(c.m) }

// Oldest returns the value put (or used) longest ago, if any.
func (c *Cache[K, V]) Oldest() (V, bool) {
	if e := c.order.Front(); e != nil {
		return e.Value.(*entry[K, V]).v, true
	}
	var zero V
	return zero, false
}

// Each calls f for every entry, oldest first; f must not change c.
func (c *Cache[K, V]) Each(f func(K, V)) {
	for e := c.order.Front(); e != nil; e = e.Next() {
		en := e.Value.(*entry[K, V])
		f(en.k, en.v)
	}
}
