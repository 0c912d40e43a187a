package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestDurableDiskFull: alice's home is a small tmpfs (mounted in the test,
// unmounted in the cleanup), and a file fills it up while she chats with
// bob. The first `/to bob ...` that cannot be put on disk gives a clear
// error line naming the full disk, no "sent", and never reaches bob;
// every message that was answered "sent" does (bbolt may still have free
// pages in its file for a few). alice keeps running; once the file is
// removed, the next message is sent and delivered.
func TestDurableDiskFull(t *testing.T) {
	shared(t)
	d := newDurableLab(t)
	d.aliceHome = smallTmpfs(t, "2m")
	alice, bob := d.startAlice(), d.startBob()
	d.exchange(alice, bob)

	filler := filepath.Join(d.aliceHome, "filler")
	n := fillDisk(t, filler)
	t.Logf("alice's home (a 2 MiB tmpfs) filled up with a %d byte file", n)

	am, bm := alice.Mark(), bob.Mark()
	var claimed []string
	var refused Event
	const tries = 2000
	for i := 1; i <= tries && refused.Event == ""; i++ {
		text := fmt.Sprintf("on a full disk %03d", i)
		m := alice.Mark()
		alice.Send("/to bob " + text)
		// (The conversation log failing on the same full disk is an
		// error line of its own, once, about the log, not the answer to
		// this /to: it came before the store's refusal in one CI run.)
		e := alice.WaitFrom(t, m, msgTimeout, func(e Event) bool {
			if e.Event == "error" && strings.Contains(e.Text, "conversations are not being saved") {
				return false
			}
			return e.Event == "sent" || e.Event == "error" || (e.Event == "failed" && e.Code == "not-saved")
		})
		if e.Event == "sent" {
			claimed = append(claimed, text)
			continue
		}
		refused = e
		t.Logf("message %d on the full disk refused: %s", i, e.Raw)
		say := strings.ToLower(e.Reason + " " + e.Text)
		if !strings.Contains(say, "no space") {
			t.Errorf("alice, disk full: `/to bob %s` answered %s: it does not say the disk is full", text, e.Raw)
		}
		// Not sent after all, a moment later?
		if _, err := alice.Await(m, 0, IsKind("sent")); err == nil {
			t.Errorf("alice, disk full: `/to bob %s` was refused and yet answered \"sent\"", text)
		}
	}
	if refused.Event == "" {
		t.Fatalf("alice, disk full: %d messages in a row answered \"sent\" (on disk) on a full disk", tries)
	}
	t.Logf("%d messages answered \"sent\" on the full disk before the first refusal (room left in messages.db)", len(claimed))
	if alice.Exited() {
		t.Fatalf("alice exited on a full disk\n%s", alice.Report())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ids := alice.SendTo(t, "bob", "after the space was freed")
	end := bob.WaitFrom(t, bm, msgTimeout, IsMessage("alice", "bob", "after the space was freed"))
	alice.WaitFrom(t, am, msgTimeout, IsDelivered("bob", ids[0]))
	want := append(claimed, "after the space was freed")
	if got := relMessages(bob.Events()[bm:end.Seq+1], "alice", "bob"); !slices.Equal(got, want) {
		t.Errorf("bob, while alice's disk was full and after, was shown: %s (want every message she said sent, not the refused one)", seqDiff(got, want))
	}
}

// fillDisk writes path until the file system is full and returns its
// size; it fails the test on any other error.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	for _, chunk := range []int{64 << 10, 4 << 10, 512, 1} {
		buf := make([]byte, chunk)
		for {
			w, err := f.Write(buf)
			n += int64(w)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("filling %s: %v", path, err)
			}
		}
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	return n
}
