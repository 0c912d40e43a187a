package e2e

import (
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestGateRanks: with one place, taken, shared tests waiting in the order
// plain, sharedThenAlone's set-up, sharedFirst are let in the other way
// round; an alone test, waiting too, is let in after all of them.
func TestGateRanks(t *testing.T) {
	shared(t)
	g := newTestGate(1)
	g.enterShared(rankShared)

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	// waiting waits until n tests wait in g.
	waiting := func(n int) {
		for {
			g.mu.Lock()
			w := g.sharedWaiting
			if g.alone {
				w = -1
			}
			g.mu.Unlock()
			if w == n {
				return
			}
			runtime.Gosched()
		}
	}
	for i, c := range []struct {
		name string
		r    rank
	}{{"shared", rankShared}, {"set-up", rankSetUp}, {"first", rankFirst}} {
		wg.Go(func() {
			g.enterShared(c.r)
			mu.Lock()
			order = append(order, c.name)
			mu.Unlock()
			g.leaveShared()
		})
		waiting(i + 1)
	}
	alone := make(chan struct{})
	wg.Go(func() {
		g.enterAlone()
		mu.Lock()
		order = append(order, "alone")
		mu.Unlock()
		close(alone)
		g.leaveAlone()
	})
	g.leaveShared()
	<-alone
	wg.Wait()
	if want := []string{"first", "set-up", "shared", "alone"}; !slices.Equal(order, want) {
		t.Errorf("let in in the order %v, want %v", order, want)
	}
}

// TestGateMayEnter: which rank of waiting shared test the gate lets in.
func TestGateMayEnter(t *testing.T) {
	shared(t)
	for _, c := range []struct {
		name    string
		shared  int // running
		alone   bool
		waiting [rankShared + 1]int
		want    [rankShared + 1]bool // may enter, by rank
	}{
		{"all three ranks wait", 0, false, [3]int{1, 1, 1}, [3]bool{true, false, false}},
		{"set-up and shared wait", 2, false, [3]int{0, 2, 1}, [3]bool{true, true, false}},
		{"shared waits", 5, false, [3]int{0, 0, 3}, [3]bool{true, true, true}},
		{"no place", 6, false, [3]int{0, 0, 1}, [3]bool{false, false, false}},
		{"an alone test runs", 0, true, [3]int{0, 0, 1}, [3]bool{false, false, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newTestGate(6)
			g.shared, g.alone, g.rankWaiting = c.shared, c.alone, c.waiting
			for r := range rankShared + 1 {
				if got := g.mayEnterLocked(r); got != c.want[r] {
					t.Errorf("rank %d may enter: %v, want %v", r, got, c.want[r])
				}
			}
		})
	}
}
