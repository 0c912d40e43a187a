// Package bubble tells tests whether they run inside a testing/synctest
// bubble: helpers that start nodes on production timings refuse to run
// on a real clock (a 16 s expiry would take 16 s).
package bubble

import "testing/synctest"

// In reports whether the calling goroutine is in a synctest bubble. It
// waits, as synctest.Wait does, until every other goroutine of the
// bubble is blocked.
func In() (in bool) {
	defer func() { in = recover() == nil }()
	synctest.Wait()
	return true
}
