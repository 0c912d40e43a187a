package transfer

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestLiveUntilEventsOut: once Live says no outgoing transfer runs, the
// events about how they ended can be read at once. A script's p2pchat
// (stdin a pipe) returns when Live turns false, reading only what is in
// Events by then: before, the rejection's event could still be on its
// way (behind a state file's removal), and the script exited without
// saying that bob rejected the file (TestTransferScript/rejected, 1 run
// in 3 on the merged branches).
func TestLiveUntilEventsOut(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		a := newSideRaw(t, "alice", func(*Config) {})
		b := newSide(t, "bob")
		_, _, bobID := link(t, a, b)
		src := filepath.Join(t.TempDir(), "f")
		writeRandom(t, src, 1000)
		if _, err := a.m.Send(bobID, []string{src}); err != nil {
			t.Fatal(err)
		}
		off := b.await(t, "offer", kind(EvOffer))
		if err := b.m.Reject(off.ID); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for a.m.Live() {
			if time.Now().After(deadline) {
				t.Fatal("the transfer still live 20 s after the reject")
			}
			runtime.Gosched()
		}
		if !rejectionWaiting(a.m) {
			t.Fatalf("round %d: Live is false, but the rejection is not in Events yet", round)
		}
	}
}

// rejectionWaiting reads what m's Events holds now, without waiting, and
// reports whether a rejection is among it.
func rejectionWaiting(m *Manager) bool {
	for {
		select {
		case e := <-m.Events():
			if e.Kind == EvFailed && e.Code == CodeRejected {
				return true
			}
		default:
			return false
		}
	}
}
