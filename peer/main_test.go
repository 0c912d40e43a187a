package peer

import (
	"runtime"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testpar"
)

// TestMain runs one parallel test more at a time than there are
// processors (-test.parallel, unless the command line gives one). Most
// parallel tests here are CPU-bound on virtual time, but
// TestTCPUnauthenticatedClosed waits 4.5 s on real sockets and a real
// clock: with -test.parallel at GOMAXPROCS it held one of a 2-core
// machine's two slots while the CPU-bound tests queued for the other.
func TestMain(m *testing.M) {
	testpar.Main(m, runtime.GOMAXPROCS(0)+1)
}
