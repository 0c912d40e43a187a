package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferBigFile: a 256 MiB file offered by alice arrives whole at
// bob after /accept, verified, while a chat message sent during the
// transfer arrives within a second. Nothing is written before the accept.
func TestTransferBigFile(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	lab := testnet.New(t, 2)
	dl := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob", "-downloads", dl)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "big file.bin")
	const size = 256 << 20
	sum := randomFile(t, src, size)
	aloneNow() // the set-up above next to the shared tests; the transfer alone

	bm := bob.Mark()
	alice.Send(fmt.Sprintf("/send bob %q", src))
	off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
	if off.Bytes != size || len(off.Files) != 1 || off.Files[0] != "big file.bin" {
		t.Fatalf("offer: %+v", off)
	}
	if ents, _ := os.ReadDir(dl); len(ents) != 1 { // the partial folder only
		t.Fatalf("written before the accept: %v", ents)
	}
	am := alice.Mark()
	start := time.Now()
	bob.Send(fmt.Sprintf("/accept %d", off.ID))

	// Chat during the transfer.
	alice.WaitFrom(t, am, transferTimeout, IsKind("progress"))
	sentAt := time.Now()
	ids := alice.SendTo(t, "bob", "during the transfer")
	got := bob.Wait(t, transferTimeout, IsMessage("alice", "bob", "during the transfer"))
	lat := got.At.Sub(sentAt)
	t.Logf("a chat message during the transfer arrived after %v", lat.Round(time.Millisecond))
	if lat > time.Second {
		t.Errorf("chat took %v during the transfer, want under 1 s", lat)
	}
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))

	done := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
	took := time.Since(start)
	sdone := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
	t.Logf("256 MiB in %v: %.0f MB/s (accept to verified at the receiver, hashing included)", took.Round(time.Millisecond), float64(size)/took.Seconds()/1e6)
	if done.Path != filepath.Join(dl, "big file.bin") || done.SHA256 != sum || sdone.SHA256 != sum {
		t.Fatalf("done: %+v / %+v, want sha %s", done, sdone, sum)
	}
	if got := fileSHA(t, done.Path); got != sum {
		t.Fatalf("the file that arrived has SHA-256 %s, want %s", got, sum)
	}
	if parts, _ := os.ReadDir(filepath.Join(dl, ".p2pchat-partial")); len(parts) != 0 {
		t.Errorf("partial folder not empty: %v", parts)
	}
}

// TestTransferFolderRejectCancel: a folder with nested folders and Chinese
// names arrives with its layout (and, a second time, next to the first
// copy, never over it); a rejected offer and a cancelled one fail on the
// sender with their codes.
func TestTransferFolderRejectCancel(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	dl := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob", "-downloads", dl)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	root := filepath.Join(t.TempDir(), "照片")
	want := map[string]string{
		"照片/2024/海边 日落.jpg": randomFile(t, filepath.Join(root, "2024", "海边 日落.jpg"), 300_000),
		"照片/2024/冬/雪.png":   randomFile(t, filepath.Join(root, "2024", "冬", "雪.png"), 1_000_001),
		"照片/说明.txt":         randomFile(t, filepath.Join(root, "说明.txt"), 10),
	}
	for round := range 2 {
		bm, am := bob.Mark(), alice.Mark()
		alice.Send("/send bob " + root)
		off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
		if len(off.Files) != len(want) {
			t.Fatalf("offer: %+v", off)
		}
		bob.Send(fmt.Sprintf("/accept %d", off.ID))
		alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
		bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
		for name, sum := range want {
			if round == 1 {
				ext := filepath.Ext(name)
				name = name[:len(name)-len(ext)] + " (1)" + ext
			}
			if got := fileSHA(t, filepath.Join(dl, name)); got != sum {
				t.Errorf("round %d: %s has SHA-256 %s, want %s", round, name, got, sum)
			}
		}
	}

	// Rejected.
	bm, am := bob.Mark(), alice.Mark()
	alice.Send("/send bob " + root)
	off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
	bob.Send(fmt.Sprintf("/reject %d", off.ID))
	if f := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, IsKind("transfer-failed"))); f.Code != "rejected" || f.Resumable {
		t.Errorf("rejected: %+v", f)
	}

	// Cancelled by the receiver while it runs (a big file, so it is still running).
	big := filepath.Join(t.TempDir(), "big.bin")
	randomFile(t, big, 512<<20)
	bm, am = bob.Mark(), alice.Mark()
	alice.Send("/send bob " + big)
	off = decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
	bob.Send(fmt.Sprintf("/accept %d", off.ID))
	bob.WaitFrom(t, bm, transferTimeout, IsKind("progress"))
	bob.Send(fmt.Sprintf("/cancel %d", off.ID))
	if f := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, IsKind("transfer-failed"))); f.Code != "peer-cancelled" {
		t.Errorf("cancelled by bob: %+v", f)
	}
	// Bob's own event comes once his partial files are gone (alice's can
	// come first: bob tells her at once, his saver removes the files).
	if f := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("transfer-failed"))); f.Code != "cancelled" {
		t.Errorf("bob's cancel: %+v", f)
	}
	if parts, _ := os.ReadDir(filepath.Join(dl, ".p2pchat-partial")); len(parts) != 0 {
		t.Errorf("partial folder not empty after the cancel: %v", parts)
	}
	if _, err := os.Stat(filepath.Join(dl, "big.bin")); err == nil {
		t.Error("the cancelled file got its final name")
	}
}
