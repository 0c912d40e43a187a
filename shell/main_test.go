package shell

import (
	"runtime"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testpar"
)

// TestMain runs twice as many parallel tests at a time as there are
// processors (-test.parallel, unless the command line gives one): the
// parallel tests here are mostly the tmux ones, which wait on tmux and
// their helper shells, polling the screen; two at a time on a 2-core
// machine, one CPU-bound test (TestStalledReaderStopsTheShell) made them
// queue for the other slot.
func TestMain(m *testing.M) {
	testpar.Main(m, 2*runtime.GOMAXPROCS(0))
}
