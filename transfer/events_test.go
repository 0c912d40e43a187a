package transfer

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBadOfferFloodBounded: 60,000 offers with a name the receiver
// refuses, while nobody reads the manager's events (a stalled -json
// reader), from one peer or from a new key each, leave a bounded event
// queue and a small heap; the user still hears of the refusals.
func TestBadOfferFloodBounded(t *testing.T) {
	const offers = 60000
	bad := "/" + strings.Repeat("\x01", 200)
	for _, tc := range []struct {
		name string
		keys int
	}{
		{"one peer", 1},
		{"a new key each", offers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newFakeSide(t, false, nil)
				peers := make([]*fakePeer, tc.keys)
				for i := range peers {
					peers[i] = s.n.addPeer(fmt.Sprintf("p%d", i), false)
				}
				before := heapInUse()
				start := time.Now()
				for i := range offers {
					p := peers[i%len(peers)]
					s.m.onControl(p.offer(uint64(i+1), bad, 1), time.Now())
					if i%1000 == 999 {
						time.Sleep(100 * time.Millisecond) // 10,000 offers a second
					}
				}
				time.Sleep(30 * time.Second) // refusals said later, coalesced
				synctest.Wait()
				after := heapInUse()
				s.m.mu.Lock()
				queued, text := len(s.m.evq), 0
				for _, e := range s.m.evq {
					text += len(e.File)
				}
				s.m.mu.Unlock()
				grew := int64(after) - int64(before)
				s.m.Close() // the reader comes back: what does the user see?
				refusals, offersSaid := 0, 0
				for e := range s.m.Events() {
					if e.Code == CodeBadOffer {
						refusals++
						offersSaid += max(e.Count, 1)
					}
				}
				t.Logf("%d bad offers in %v from %d keys, nobody reading: %d events queued (%d bytes of text); heap %d -> %d KiB (%+d KiB); the reader then gets %d bad-offer events for %d offers",
					offers, time.Since(start), tc.keys, queued, text, before>>10, after>>10, grew>>10, refusals, offersSaid)
				st := s.m.Stats()
				t.Logf("stats: %+v", st)
				if n := st.OffersBadName + st.OffersRateLimited; n != offers {
					t.Errorf("%d offers counted (refused for a name, dropped for rate), want %d", n, offers)
				}
				if queued > 1024 {
					t.Errorf("%d events queued, want at most 1,024", queued)
				}
				if grew > 8<<20 {
					t.Errorf("the heap grew by %d KiB, want at most 8 MiB", grew>>10)
				}
				if refusals == 0 {
					t.Error("no bad-offer event: the user never hears of the refusals")
				}
			})
		})
	}
}

// TestEventQueueBounded: whatever emits them, events waiting for a reader
// that stopped reading stay within 1,024 and 1 MiB; those a peer's offer
// causes stop at 3/4 of that, leaving room for our own transfers'; the
// rest is counted.
func TestEventQueueBounded(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		s := newFakeSide(t, false, nil)
		long := strings.Repeat("x", 2000)
		s.m.mu.Lock()
		for range 5000 {
			s.m.emitFromPeerLocked(Event{Kind: EvFailed, Code: CodeBadOffer, File: long})
		}
		fromPeers := len(s.m.evq)
		for range 5000 {
			s.m.emitLocked(Event{Kind: EvFailed, Code: CodeStopped, File: long})
		}
		queued, bytes, dropped := len(s.m.evq), s.m.evBytes, s.m.stats.EventsDropped
		s.m.mu.Unlock()
		t.Logf("10,000 events of 2 kB, nobody reading: %d queued (%d caused by peers), %d KiB; %d dropped", queued, fromPeers, bytes>>10, dropped)
		if queued > maxEvents || bytes > maxEventBytes || fromPeers > maxEvents*3/4 || fromPeers == 0 || queued == fromPeers {
			t.Errorf("queued %d events (%d from peers), %d bytes", queued, fromPeers, bytes)
		}
		if dropped != uint64(10000-queued-1) && dropped != uint64(10000-queued) { // pump may hold one
			t.Errorf("%d dropped, want the %d not queued", dropped, 10000-queued)
		}
	})
}
