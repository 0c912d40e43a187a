package discovery

import (
	"testing"
	"time"
)

// TestSchedule: announce at once and a second later, then never again
// unless re-announced; query at once, then 1, 2, 4, ... s apart up to a
// minute.
func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := newSchedule(t0)
	type step struct {
		at              time.Duration
		query, announce bool
		next            time.Duration
	}
	steps := []step{
		{0, true, true, time.Second},
		{500 * time.Millisecond, false, false, time.Second},
		{time.Second, true, true, 3 * time.Second},
		{2 * time.Second, false, false, 3 * time.Second},
		{3 * time.Second, true, false, 7 * time.Second},
		{7 * time.Second, true, false, 15 * time.Second},
	}
	for _, st := range steps {
		q, a := s.due(at(st.at))
		if q != st.query || a != st.announce {
			t.Fatalf("at %v: query %v announce %v, want %v %v", st.at, q, a, st.query, st.announce)
		}
		if got := s.next(); got != at(st.next) {
			t.Fatalf("after %v: next at %v, want %v", st.at, got.Sub(t0), st.next)
		}
	}
	// The interval stops doubling at a minute.
	now := at(15 * time.Second)
	for range 20 {
		s.due(now)
		now = s.next()
	}
	if s.interval != maxInterval {
		t.Errorf("interval %v after many queries, want %v", s.interval, maxInterval)
	}
	// Re-announcing (new records) sends two announcements again, a second apart.
	s.reannounce(now)
	if s.next() != now {
		t.Errorf("next %v after reannounce, want now", s.next().Sub(now))
	}
	if _, a := s.due(now); !a {
		t.Error("no announcement right after reannounce")
	}
	if _, a := s.due(now.Add(time.Second)); !a {
		t.Error("no second announcement a second after reannounce")
	}
	if _, a := s.due(now.Add(5 * time.Second)); a {
		t.Error("a third announcement")
	}
}
