package roomsnet

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// TestJournalSyncedPerTick: alice says 40 lines in #lunch, one at a
// time, each shown on bob's screen before the next. Bob's journal holds
// each line (written) before it is shown, so a kill -9 at any moment
// keeps them all; but bob syncs his journal once per room and tick, not
// once per line: a member's disk is not put to work for each message
// (before: 40 fsyncs for 40 lines within a tick). The tick then syncs
// what was written.
func TestJournalSyncedPerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := inLunch(t, peer.NewMemNet(11))
		time.Sleep(tickEvery) // what the joins wrote is synced
		synctest.Wait()
		before := b.run.Stats().JournalSyncs
		start := time.Now()
		const n = 40
		var want []string
		for i := range n {
			text := fmt.Sprintf("line %d", i)
			a.post("#lunch", text)
			b.texts("#lunch", 1)
			want = append(want, text)
		}
		ticks := uint64(time.Since(start)/tickEvery) + 1
		syncs := b.run.Stats().JournalSyncs - before
		t.Logf("bob synced his journal %d times for %d lines taken over %v (virtual)", syncs, n, time.Since(start))
		if syncs > ticks {
			t.Errorf("bob synced his journal %d times for %d lines taken within %d ticks: want at most one a tick", syncs, n, ticks)
		}

		// What a kill -9 now would leave: every line shown is there.
		home := crashImage(t, b)
		b2 := start2(t, b, home)
		if got := historyTexts(t, b2, "#lunch"); !slices.Equal(got, want) {
			t.Errorf("after a crash bob's #lunch holds %q, want %q", got, want)
		}

		// The next tick syncs what was written, once.
		b.run.mu.Lock()
		pending := len(b.run.unsynced)
		b.run.mu.Unlock()
		mid := b.run.Stats().JournalSyncs
		time.Sleep(tickEvery)
		synctest.Wait()
		b.run.mu.Lock()
		left := len(b.run.unsynced)
		b.run.mu.Unlock()
		if done := b.run.Stats().JournalSyncs - mid; pending > 0 && done != 1 || left != 0 {
			t.Errorf("at the next tick bob synced %d journals (%d waited), %d left unsynced; want 1 and none", done, pending, left)
		}
	})
}

// start2 starts a second bob on home (a crash image of b's), on a network
// of his own: only what is on his disk counts.
func start2(t *testing.T, b *member, home string) *member {
	t.Helper()
	return start(t, peer.NewMemNet(12), "bob", home, b.id, b.signer)
}
