package rate

import (
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
