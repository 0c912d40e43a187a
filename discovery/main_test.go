package discovery

import (
	"runtime"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testpar"
)

// TestMain runs twice as many parallel tests at a time as there are
// processors (-test.parallel, unless the command line gives one): the
// parallel tests here are the real-mDNS ones, which mostly wait on their
// namespaces, helper processes and probes (one waits a second to see that
// no answer comes); two at a time, they took 8 s on a 2-core machine, four
// at a time 5 s.
func TestMain(m *testing.M) {
	testpar.Main(m, 2*runtime.GOMAXPROCS(0))
}
