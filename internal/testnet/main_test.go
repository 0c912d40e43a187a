package testnet

import (
	"runtime"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testpar"
)

// TestMain runs twice as many parallel tests at a time as there are
// processors (-test.parallel, unless the command line gives one): the
// parallel tests build labs and wait on ip, nft and their helper
// processes. Two at a time the package took 5.9-6.0 s on a 2-core
// machine, four at a time 5.0 s.
func TestMain(m *testing.M) {
	testpar.Main(m, 2*runtime.GOMAXPROCS(0))
}
