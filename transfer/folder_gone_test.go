package transfer

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPartialFolderRemovedWhileRunning: a user who deletes the hidden
// folder of partial files (tidying the downloads folder) while p2pchat
// runs does not stop later transfers: the folder is made again, with the
// checks New makes. Before, every later accepted transfer paused with
// "openat .p2pchat-partial/...: no such file or directory", for ever (the
// bench's attack phase, which empties the downloads folder between its
// windows, saw no file get through).
func TestPartialFolderRemovedWhileRunning(t *testing.T) {
	t.Parallel()
	a, b, bobID := pair(t)
	src := filepath.Join(t.TempDir(), "f")
	writeRandom(t, src, 100_000)
	for round := range 2 {
		if _, err := a.m.Send(bobID, []string{src}); err != nil {
			t.Fatal(err)
		}
		off := b.await(t, "offer", kind(EvOffer))
		if err := b.m.Accept(off.ID); err != nil {
			t.Fatal(err)
		}
		e := b.await(t, "done or paused", func(e Event) bool { return e.Kind == EvDone || e.Kind == EvFailed })
		if e.Kind != EvDone {
			t.Fatalf("round %d: %+v", round, e)
		}
		if err := os.RemoveAll(filepath.Join(b.dl, partialDir)); err != nil {
			t.Fatal(err)
		}
	}
}
