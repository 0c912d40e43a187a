package e2e

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testpar"
)

// binPath is the p2pchat binary under test; buildErr says why there is none.
var (
	binPath  string
	buildErr error
)

func TestMain(m *testing.M) {
	testpar.Raise(e2eParallel)
	code := func() int {
		defer removeDirs()
		if p := os.Getenv("P2PCHAT_BIN"); p != "" {
			binPath = p
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "p2pchat-e2e-")
		if err != nil {
			buildErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		binPath, buildErr = proctest.Build("..", dir) // the module root
		return m.Run()
	}()
	os.Exit(code)
}

// atExit holds directories that outlive one test (removeAtExit) and that
// TestMain removes after the last.
var atExit struct {
	mu   sync.Mutex
	dirs []string // mu
}

func removeAtExit(dir string) {
	atExit.mu.Lock()
	defer atExit.mu.Unlock()
	atExit.dirs = append(atExit.dirs, dir)
}

func removeDirs() {
	atExit.mu.Lock()
	defer atExit.mu.Unlock()
	for _, d := range atExit.dirs {
		os.RemoveAll(d)
	}
}

// helperMain makes this test binary, re-executed by a test with the
// environment variable env set, act as the helper that run is (its
// argument: the variable's value) instead of running tests: it exits 0,
// or 1 with "what: error" on stderr. Called from init, before TestMain.
func helperMain(env, what string, run func(string) error) {
	v := os.Getenv(env)
	if v == "" {
		return
	}
	if err := run(v); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// needBinary fails the test if p2pchat could not be built.
func needBinary(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("no p2pchat binary to test: %v", buildErr)
	}
}
