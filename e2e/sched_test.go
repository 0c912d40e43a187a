package e2e

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// How the tests share the machine (see "Which tests run at once" in
// doc.go). Every test begins with one of:
//
//   - alone(t): it measures something the rest of the machine would
//     disturb (memory, CPU, throughput, latency, or a deadline of a few
//     seconds): it runs with no shared or other alone test;
//   - shared(t): it spends its time waiting (on real clocks, mDNS, the
//     network namespaces): it runs next to up to sharedLimit-1 others;
//   - sharedThenAlone(t): shared while it sets up or waits on an expiry
//     with a loose bound, then alone (from the call of the function it
//     returns) for the part that measures;
//   - background(t): long and nearly idle (TestRekeyDuringConversation,
//     two processes exchanging a message a second for about 4 minutes): it
//     runs from the start, next to everything, so that its minutes are
//     not added to the others'.
//
// Each calls t.Parallel first, so that the background test overlaps the
// rest; the gate below, not the testing package's -parallel, then says who
// runs. Shared tests go first (sharedFirst ones, then sharedThenAlone
// set-ups, then the rest): alone tests wait while any shared test runs
// or waits, so the alone ones run one after the other at the end (one may
// begin before the shared ones have called shared, and they then wait for
// it). TestMain raises -test.parallel (whose default is GOMAXPROCS, 2 here)
// unless it was given, so that the testing package does not hold back
// tests the gate would let run.

// sharedLimit is how many shared tests run at once: $P2PCHAT_E2E_SHARED,
// or defaultShared.
var sharedLimit = func() int {
	if n, err := strconv.Atoi(os.Getenv("P2PCHAT_E2E_SHARED")); err == nil && n > 0 {
		return n
	}
	return defaultShared
}()

// defaultShared: on the 2-core test machine, more than this many shared
// tests at once (each a few processes and namespaces) made waits that
// take seconds alone take tens of seconds.
const defaultShared = 6

// testGate admits shared tests, up to limit at once, or one alone test.
type testGate struct {
	limit int

	mu            sync.Mutex
	cond          *sync.Cond          // signalled (Broadcast) on every leave; uses mu
	shared        int                 // shared tests running; mu
	sharedWaiting int                 // shared tests waiting to run; mu
	rankWaiting   [rankShared + 1]int // of which, by rank; mu
	alone         bool                // an alone test runs; mu
}

// rank orders the shared tests waiting for a place: a lower rank first.
type rank int

const (
	rankFirst  rank = iota // sharedFirst: the longest
	rankSetUp              // sharedThenAlone's shared part: done before the shared phase ends
	rankShared             // shared
)

var gate = newTestGate(sharedLimit)

func newTestGate(limit int) *testGate {
	g := &testGate{limit: limit}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enterShared waits for a place among the shared tests; none is let in
// while one of a lower rank waits.
func (g *testGate) enterShared(r rank) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sharedWaiting++
	g.rankWaiting[r]++
	for !g.mayEnterLocked(r) {
		g.cond.Wait()
	}
	g.sharedWaiting--
	g.rankWaiting[r]--
	g.shared++
}

// mayEnterLocked reports whether a shared test of rank r (counted in
// rankWaiting) may run now: no alone test runs, there is a place, and no
// shared test of a lower rank waits.
func (g *testGate) mayEnterLocked(r rank) bool {
	if g.alone || g.shared >= g.limit {
		return false
	}
	for k := range r {
		if g.rankWaiting[k] > 0 {
			return false
		}
	}
	return true
}

func (g *testGate) leaveShared() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shared--
	g.cond.Broadcast()
}

func (g *testGate) enterAlone() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.alone || g.shared > 0 || g.sharedWaiting > 0 {
		g.cond.Wait()
	}
	g.alone = true
}

func (g *testGate) leaveAlone() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.alone = false
	g.cond.Broadcast()
}

// shared marks t as a test that waits more than it works: it runs next to
// other shared tests and the background one.
func shared(t *testing.T) {
	t.Helper()
	t.Parallel()
	waited := time.Now()
	gate.enterShared(rankShared)
	logGate(t, "shared", waited)
	t.Cleanup(gate.leaveShared)
}

// sharedFirst is shared for the longest shared tests (a minute or so): they
// start before the others, so that the shared ones do not end with one of
// them running alone.
func sharedFirst(t *testing.T) {
	t.Helper()
	t.Parallel()
	waited := time.Now()
	gate.enterShared(rankFirst)
	logGate(t, "sharedFirst", waited)
	t.Cleanup(gate.leaveShared)
}

// sharedThenAlone marks t as a test that first waits (set-up, or an expiry
// with a loose bound) and then measures: it runs as a shared test, let in
// after the sharedFirst ones and before the plain shared ones (so that
// its shared part is done long before the shared phase is), until it
// calls the function returned, which leaves the
// shared tests, waits until t may run alone (after the last shared test),
// and holds that until t ends. Call it from t's own goroutine, once.
func sharedThenAlone(t *testing.T) (aloneNow func()) {
	t.Helper()
	t.Parallel()
	waited := time.Now()
	gate.enterShared(rankSetUp)
	logGate(t, "sharedThenAlone", waited)
	var isAlone atomic.Bool
	t.Cleanup(func() {
		if isAlone.Load() {
			gate.leaveAlone()
		} else {
			gate.leaveShared()
		}
	})
	return func() {
		t.Helper()
		if isAlone.Load() {
			t.Fatal("sharedThenAlone: already alone")
		}
		waited := time.Now()
		gate.leaveShared()
		gate.enterAlone()
		isAlone.Store(true)
		logGate(t, "alone", waited)
	}
}

// alone marks t as a test that measures: nothing but the background test
// runs while it does.
func alone(t *testing.T) {
	t.Helper()
	t.Parallel()
	waited := time.Now()
	gate.enterAlone()
	logGate(t, "alone", waited)
	t.Cleanup(gate.leaveAlone)
}

// logGate logs how long t waited for the gate (its Elapsed includes the
// wait; subtract it for the test's own time).
func logGate(t *testing.T, class string, since time.Time) {
	t.Helper()
	t.Logf("%s: waited %v for the gate", class, time.Since(since).Round(10*time.Millisecond))
}

// background marks t as long and nearly idle: it runs from the start,
// next to every other test.
func background(t *testing.T) {
	t.Helper()
	t.Parallel()
}

// e2eParallel is the -test.parallel TestMain sets when none is given: more
// than there are tests, so that the gate alone decides.
const e2eParallel = 256
