package peer

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestMain runs one parallel test more at a time than there are
// processors (-test.parallel, unless the command line gives one). Most
// parallel tests here are CPU-bound on virtual time, but
// TestTCPUnauthenticatedClosed waits 4.5 s on real sockets and a real
// clock: with -test.parallel at GOMAXPROCS it held one of a 2-core
// machine's two slots while the CPU-bound tests queued for the other.
func TestMain(m *testing.M) {
	raiseParallel(runtime.GOMAXPROCS(0) + 1)
	os.Exit(m.Run())
}

// raiseParallel sets -test.parallel to n unless the command line gave one.
func raiseParallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	given := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			given = true
		}
	})
	if !given {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}
