package rate

import (
	"net/netip"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name  string
		b     Bucket
		takes []time.Duration // offsets from t0
		want  int             // tokens granted
	}{
		{"starts full, burst only", Bucket{Rate: 10, Burst: 5}, []time.Duration{0, 0, 0, 0, 0, 0, 0}, 5},
		{"refills at rate", Bucket{Rate: 10, Burst: 1}, []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}, 3},
		{"never more than burst saved", Bucket{Rate: 1000, Burst: 2}, []time.Duration{0, time.Hour, time.Hour, time.Hour}, 3},
		{"zero allows nothing", Bucket{}, []time.Duration{0, time.Second}, 0},
	} {
		got := 0
		for _, d := range tc.takes {
			if tc.b.Take(t0.Add(d)) {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%s: %d tokens, want %d", tc.name, got, tc.want)
		}
	}
}

// TestKeyed: each key has its own bucket; a full Keyed forgets the key
// used longest ago (which comes back with a full bucket), never all.
func TestKeyed(t *testing.T) {
	t0 := time.Unix(1000, 0)
	k := NewKeyed[int](1, 1, 3)
	for i := range 3 {
		if !k.Take(i, t0) {
			t.Fatalf("key %d: no token at first", i)
		}
	}
	if k.Has(0, t0) || k.Take(0, t0) {
		t.Error("key 0 got a second token at once")
	}
	k.Take(3, t0) // forgets 1, the one used longest ago
	if k.Len() != 3 || k.Evicted() != 1 {
		t.Fatalf("%d keys, %d forgotten; want 3, 1", k.Len(), k.Evicted())
	}
	if k.Take(2, t0) {
		t.Error("key 2, remembered, got a second token at once")
	}
	if !k.Has(1, t0) || !k.Take(1, t0) {
		t.Error("key 1, forgotten, did not start again with a full bucket")
	}
	if !k.Take(0, t0.Add(time.Second)) {
		t.Error("key 0 not refilled after a second")
	}
}

func TestPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.77.0.5", "10.77.0.0/24"},
		{"::ffff:10.77.0.5", "10.77.0.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	} {
		if got := Prefix(netip.MustParseAddr(tc.in)).String(); got != tc.want {
			t.Errorf("Prefix(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.77.0.5", "10.77.0.5/32"},
		{"::ffff:10.77.0.5", "10.77.0.5/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
	} {
		if got := Host(netip.MustParseAddr(tc.in)).String(); got != tc.want {
			t.Errorf("Host(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
