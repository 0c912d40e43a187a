package peer

import "container/list"

// lru is a map that never holds more than max entries: putting a new key
// into a full one first drops the entry put longest ago (each put counts as
// a use). It never clears itself, so a flood of new keys costs the oldest
// entries only. Not safe for concurrent use: its owner's lock guards it.
type lru[K comparable, V any] struct {
	max   int
	m     map[K]*list.Element // values are *lruEntry[K, V]
	order list.List           // front: put longest ago
}

type lruEntry[K comparable, V any] struct {
	k K
	v V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, m: map[K]*list.Element{}}
}

// get returns the value of k, if any. It does not count as a use.
func (c *lru[K, V]) get(k K) (V, bool) {
	if e, ok := c.m[k]; ok {
		return e.Value.(*lruEntry[K, V]).v, true
	}
	var zero V
	return zero, false
}

// put sets k to v and makes it the newest entry, dropping the oldest if k
// is new and the map is full. It reports whether an entry was dropped.
func (c *lru[K, V]) put(k K, v V) (evicted bool) {
	if e, ok := c.m[k]; ok {
		e.Value.(*lruEntry[K, V]).v = v
		c.order.MoveToBack(e)
		return false
	}
	if len(c.m) >= c.max {
		if old := c.order.Front(); old != nil {
			delete(c.m, old.Value.(*lruEntry[K, V]).k)
			c.order.Remove(old)
			evicted = true
		}
	}
	c.m[k] = c.order.PushBack(&lruEntry[K, V]{k, v})
	return evicted
}

// remove drops k, if present.
func (c *lru[K, V]) remove(k K) {
	if e, ok := c.m[k]; ok {
		delete(c.m, k)
		c.order.Remove(e)
	}
}

// len is the number of entries.
func (c *lru[K, V]) len() int { return len(c.m) }

// oldest returns the value put longest ago, if any.
func (c *lru[K, V]) oldest() (V, bool) {
	if e := c.order.Front(); e != nil {
		return e.Value.(*lruEntry[K, V]).v, true
	}
	var zero V
	return zero, false
}

// each calls f for every entry, oldest first; f must not change c.
func (c *lru[K, V]) each(f func(K, V)) {
	for e := c.order.Front(); e != nil; e = e.Next() {
		en := e.Value.(*lruEntry[K, V])
		f(en.k, en.v)
	}
}
