package transfer

import "sync"

// flowGate tells Config.Flowing when data starts and stops flowing on any
// data connection of a manager (the first begins, the last ends).
type flowGate struct {
	mu sync.Mutex
	n  int
}

// flowing counts a data connection in (+1) or out (-1) and calls f on the
// edges. f runs under the gate's lock, so calls never cross.
func (g *flowGate) flowing(delta int, f func(bool)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.n > 0
	g.n += delta
	if now := g.n > 0; now != was && f != nil {
		f(now)
	}
}
