package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferScript: `printf '/send bob FILE\n' | p2pchat -name ci` (stdin
// a pipe, plain output) waits for the transfer and exits 0 only once bob
// accepted and the file verified; it exits non-zero with a clear message
// when bob rejects the offer, and when there is no bob.
func TestTransferScript(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	dl := t.TempDir()
	bob := StartNode(t, lab.Hosts[1], "bob", "-downloads", dl)
	src := filepath.Join(t.TempDir(), "build.tar.gz")
	const size = 8 << 20
	sum := randomFile(t, src, size)

	// runCI runs the script's p2pchat with lines on its stdin, then ends
	// its input (as printf | p2pchat does).
	runCI := func(lines ...string) *Proc {
		ci := startTextNode(t, lab.Hosts[0], "ci")
		for _, l := range lines {
			ci.Send(l)
		}
		ci.CloseStdin()
		return ci
	}
	output := func(ci *Proc) string { return ci.Stdout().String() + ci.Stderr().String() }

	t.Run("accepted", func(t *testing.T) {
		bm := bob.Mark()
		ci := runCI("/send bob " + src)
		off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
		if ci.Exited() {
			t.Fatalf("ci exited before bob decided: %v\n%s", ci.ExitErr(), output(ci))
		}
		bob.Send(fmt.Sprintf("/accept %d", off.ID))
		done := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
		if code := ci.ExitCode(t, transferTimeout); code != 0 {
			t.Fatalf("ci exited %d after bob accepted and verified the file\n%s", code, output(ci))
		}
		if got := fileSHA(t, done.Path); got != sum {
			t.Fatalf("bob's file has SHA-256 %s, want %s", got, sum)
		}
		if out := ci.Stdout().String(); !strings.Contains(out, "verified") {
			t.Errorf("ci's output does not say the file arrived verified:\n%s", out)
		}
	})

	t.Run("rejected", func(t *testing.T) {
		bm := bob.Mark()
		ci := runCI("/send bob " + src)
		off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
		bob.Send(fmt.Sprintf("/reject %d", off.ID))
		code := ci.ExitCode(t, transferTimeout)
		out := output(ci)
		t.Logf("ci exited %d:\n%s", code, out)
		if code == 0 {
			t.Fatalf("ci exited 0 although bob rejected the file\n%s", out)
		}
		if !strings.Contains(ci.Stdout().String(), "bob rejected") {
			t.Errorf("ci's output does not say that bob rejected the file:\n%s", out)
		}
		if !strings.Contains(ci.Stderr().String(), "not every file sent was accepted and verified") {
			t.Errorf("ci's stderr does not say why it failed:\n%s", ci.Stderr())
		}
	})

	t.Run("absent", func(t *testing.T) {
		ci := runCI("/send nobody " + src)
		code := ci.ExitCode(t, transferTimeout)
		out := output(ci)
		t.Logf("ci exited %d:\n%s", code, out)
		if code == 0 {
			t.Fatalf("ci exited 0 although there is no peer named nobody\n%s", out)
		}
		if !strings.Contains(ci.Stdout().String(), "no peer named nobody") {
			t.Errorf("ci's output does not say that there is no peer named nobody:\n%s", out)
		}
		if !strings.Contains(ci.Stderr().String(), "a /send could not be offered") {
			t.Errorf("ci's stderr does not say why it failed:\n%s", ci.Stderr())
		}
	})
}
