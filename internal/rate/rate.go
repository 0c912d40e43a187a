// Package rate limits work done for others with a token bucket: Rate
// tokens a second, at most Burst saved up. It takes the time it is given,
// so tests drive it without a clock.
package rate

import "time"

// Bucket is a token bucket. The zero Bucket allows nothing; set Rate and
// Burst. It starts full. Not safe for concurrent use: its owner's lock
// guards it.
type Bucket struct {
	Rate, Burst float64
	tokens      float64
	last        time.Time
}

// Take reports whether a token was there at now, and takes it.
func (b *Bucket) Take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.Burst
	} else {
		b.tokens = min(b.Burst, b.tokens+now.Sub(b.last).Seconds()*b.Rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
