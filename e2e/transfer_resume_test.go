package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferLinkCutResumes: bob's link goes down at about a third of a
// 512 MiB transfer; both sides say it paused; when the link is back it
// resumes from what bob has on disk (not from 0) and the file arrives
// whole and verified.
func TestTransferLinkCutResumes(t *testing.T) {
	lab := testnet.New(t, 2)
	hb := lab.Hosts[1]
	dl := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, hb, "bob", "-downloads", dl, "-accept-from", "alice")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "cut.bin")
	const size = 512 << 20
	sum := randomFile(t, src, size)
	am, bm := alice.Mark(), bob.Mark()
	exchangeMessage(t, alice, "bob")
	alice.Send("/send bob " + src)
	bob.WaitFrom(t, bm, transferTimeout, isTF("progress", func(e tfEvent) bool { return e.Bytes >= size/3 }))
	hb.SetLink(t, false)
	cut := time.Now()
	p := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, isTF("transfer-failed", nil)))
	if !p.Resumable || p.Code != "link-lost" {
		t.Fatalf("alice: %+v, want a resumable link-lost", p)
	}
	t.Logf("alice paused %v after the cut: %s", time.Since(cut).Round(100*time.Millisecond), p.Reason)
	bp := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-failed", nil)))
	if !bp.Resumable {
		t.Fatalf("bob: %+v, want resumable", bp)
	}
	hb.SetLink(t, true)
	back := time.Now()
	r := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("transfer-resumed")))
	t.Logf("resumed %v after the link came back, at %d of %d bytes", time.Since(back).Round(100*time.Millisecond), r.Bytes, size)
	if r.Bytes < size/4 {
		t.Errorf("resumed at %d bytes: what arrived before the cut was sent again", r.Bytes)
	}
	done := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
	alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
	if got := fileSHA(t, done.Path); got != sum || done.SHA256 != sum {
		t.Fatalf("after the resume the file has SHA-256 %s, want %s", got, sum)
	}
}
