package e2e

import (
	"os"
	"testing"

	"github.com/p2pchat/p2pchat/internal/proctest"
)

// binPath is the p2pchat binary under test; buildErr says why there is none.
var (
	binPath  string
	buildErr error
)

func TestMain(m *testing.M) {
	code := func() int {
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

// needBinary fails the test if p2pchat could not be built.
func needBinary(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("no p2pchat binary to test: %v", buildErr)
	}
}
