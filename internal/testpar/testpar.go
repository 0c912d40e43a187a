// Package testpar sets how many parallel tests a test binary runs at once,
// for the packages whose parallel tests mostly wait (on real sockets, real
// clocks, helper processes): -test.parallel defaults to GOMAXPROCS, and a
// test that only waits holds one of those slots as long as it waits.
// Only tests use it.
package testpar

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

// Raise sets -test.parallel to n unless the command line gave one. Call it
// from TestMain, before m.Run.
func Raise(n int) {
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

// Main is a TestMain that only raises -test.parallel: Raise(n), then the
// tests, then exit with their status.
func Main(m *testing.M, n int) {
	Raise(n)
	os.Exit(m.Run())
}
