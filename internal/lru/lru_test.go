package lru

import "testing"

// TestLRU: a full Cache drops its oldest entry (put longest ago) for a new
// key, never more; putting a key again makes it the newest.
func TestLRU(t *testing.T) {
	for _, tc := range []struct {
		name string
		puts []int
		want []int // keys present afterwards
		gone []int
	}{
		{"under the bound", []int{1, 2, 3}, []int{1, 2, 3}, nil},
		{"one over drops the oldest", []int{1, 2, 3, 4}, []int{2, 3, 4}, []int{1}},
		{"a put again is a use", []int{1, 2, 3, 1, 4}, []int{1, 3, 4}, []int{2}},
		{"a flood keeps the newest", []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{7, 8, 9}, []int{1, 2, 3, 4, 5, 6}},
	} {
		c := New[int, int](3)
		for _, k := range tc.puts {
			c.Put(k, k*10)
		}
		for _, k := range tc.want {
			if v, ok := c.Get(k); !ok || v != k*10 {
				t.Errorf("%s: key %d: %d, %v; want %d", tc.name, k, v, ok, k*10)
			}
		}
		for _, k := range tc.gone {
			if _, ok := c.Get(k); ok {
				t.Errorf("%s: key %d still there", tc.name, k)
			}
		}
		if c.Len() != len(tc.want) {
			t.Errorf("%s: %d entries, want %d", tc.name, c.Len(), len(tc.want))
		}
	}
	c := New[int, int](2)
	c.Put(1, 1)
	c.Remove(1)
	c.Remove(7)
	if c.Len() != 0 {
		t.Errorf("after remove: %d entries", c.Len())
	}
}
