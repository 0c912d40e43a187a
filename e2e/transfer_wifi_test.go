package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferSlowLink: over links of Wi-Fi speeds (both hosts' eth0
// shaped with tc tbf), a file that takes a minute or more arrives once,
// whole: the receiver's downloads folder holds that one file, with the
// offered SHA-256, and both sides say done. The two rates run at once.
// (A transfer longer than the data connection's 10 s handshake bound used
// to start over after its last byte, saving one more copy each time.)
func TestTransferSlowLink(t *testing.T) {
	sharedFirst(t)
	tests := []struct {
		name string
		rate int64 // bits per second, both ways
		size int64
	}{
		{"80 Mbit/s", 80_000_000, 600_000_000},
		{"20 Mbit/s", 20_000_000, 150_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab := testnet.New(t, 2)
			limitRateOrSkip(t, lab.Hosts[0], tc.rate)
			limitRateOrSkip(t, lab.Hosts[1], tc.rate)
			dl := t.TempDir()
			alice := StartNode(t, lab.Hosts[0], "alice")
			bob := StartNode(t, lab.Hosts[1], "bob", "-downloads", dl)
			alice.WaitJoined(t, "bob")
			bob.WaitJoined(t, "alice")

			src := filepath.Join(t.TempDir(), "f.bin")
			sum := randomFile(t, src, tc.size)
			linkTime := time.Duration(float64(tc.size) * 8 / float64(tc.rate) * float64(time.Second))
			bound := 2*linkTime + 30*time.Second

			bm, am := bob.Mark(), alice.Mark()
			alice.Send(fmt.Sprintf("/send bob %q", src))
			off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
			start := time.Now()
			bob.Send(fmt.Sprintf("/accept %d", off.ID))
			last := isTF("transfer-done", func(e tfEvent) bool { return e.Last })
			e, err := bob.Await(bm, bound, last)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("not done %v after the accept (the link alone needs %v): %v; the downloads folder holds %q",
					took.Round(time.Second), linkTime.Round(time.Second), err, listDownloads(t, dl))
			}
			done := decodeTF(t, e)
			rate := float64(tc.size) * 8 / took.Seconds()
			t.Logf("%d MB in %v: %.1f Mbit/s over a %d Mbit/s link (%.0f%%; accept to verified at the receiver)",
				tc.size/1e6, took.Round(100*time.Millisecond), rate/1e6, tc.rate/1e6, 100*rate/float64(tc.rate))
			if _, err := alice.Await(am, time.Minute, last); err != nil {
				t.Errorf("the sender never says done: %v", err)
			}
			if done.Path != filepath.Join(dl, "f.bin") || done.SHA256 != sum {
				t.Errorf("done: %+v, want f.bin with SHA-256 %s", done, sum)
			}
			if got := fileSHA(t, filepath.Join(dl, "f.bin")); got != sum {
				t.Errorf("f.bin has SHA-256 %s, want %s", got, sum)
			}
			if files := listDownloads(t, dl); len(files) != 1 {
				t.Errorf("the downloads folder holds %q, want f.bin only", files)
			}
			if parts, _ := os.ReadDir(filepath.Join(dl, ".p2pchat-partial")); len(parts) != 0 {
				t.Errorf("partial folder not empty: %v", parts)
			}
		})
	}
}

// limitRateOrSkip shapes what h sends to bitsPerSec, or skips the test
// where tc or the kernel's tbf is missing.
func limitRateOrSkip(t *testing.T, h *testnet.Host, bitsPerSec int64) {
	t.Helper()
	if err := tryLimitRate(t, h, bitsPerSec); err != nil {
		t.Skipf("needs tc tbf to shape the link (tc from iproute2, the kernel's sch_tbf): %v", err)
	}
}

// tryLimitRate shapes what h sends to bitsPerSec, or says why it cannot
// (tc or the kernel's tbf missing).
func tryLimitRate(t *testing.T, h *testnet.Host, bitsPerSec int64) error {
	t.Helper()
	probe := h.Command(context.Background(), "tc", "qdisc", "replace", "dev", testnet.Iface, "root", "tbf", "rate", "1gbit", "burst", "65536", "latency", "20ms")
	if out, err := probe.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	h.LimitRate(t, bitsPerSec)
	return nil
}

// listDownloads is what the downloads folder dl holds, the partial folder
// left out.
func listDownloads(t *testing.T, dl string) []string {
	t.Helper()
	ents, err := os.ReadDir(dl)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != ".p2pchat-partial" {
			out = append(out, e.Name())
		}
	}
	return out
}
