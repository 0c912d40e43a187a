package transfer

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// TestAcceptFromBounded: -accept-from accepts a pinned peer's offers only
// up to 4 live transfers per peer, 1 TiB promised per peer and 32 live
// incoming transfers in all; what is past a bound waits for the user.
func TestAcceptFromBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		peers    int    // each offers offers/peers
		offers   int    // in all
		size     uint64 // each
		accepted int    // want
	}{
		{"per peer", 1, 100, 1000, 4},
		{"bytes per peer", 1, 10, 600 << 30, 1},
		{"in all", 40, 40, 1000, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var names []string
				for i := range tc.peers {
					names = append(names, fmt.Sprintf("p%d", i))
				}
				s := newFakeSide(t, true, func(c *Config) { c.AcceptFrom = names })
				peers := make([]*fakePeer, tc.peers)
				for i := range peers {
					peers[i] = s.n.addPeer(names[i], true)
				}
				for i := range tc.offers {
					s.n.deliver(peers[i%len(peers)].offer(uint64(i+1), fmt.Sprintf("f%d.bin", i), tc.size))
					time.Sleep(250 * time.Millisecond) // 4 offers a second
				}
				synctest.Wait()
				accepted := len(s.events(func(e Event) bool { return e.Kind == EvAccepted }))
				live := len(s.listed(func(in Info) bool { return in.State == Connecting }))
				states, _ := filepath.Glob(filepath.Join(s.dl, partialDir, "*.json"))
				t.Logf("%d offers of %s from %d peers: %d accepted, %d live, %d state files", tc.offers, FormatBytes(int64(tc.size)), tc.peers, accepted, live, len(states))
				if accepted != tc.accepted || live != tc.accepted || len(states) != tc.accepted {
					t.Errorf("accepted %d, live %d, state files %d; want %d", accepted, live, len(states), tc.accepted)
				}
				// By hand, past the bound: refused, the offer keeps waiting.
				p := peers[0]
				time.Sleep(offerExpire + time.Second) // the offers left waiting, not repeated, are gone
				s.n.deliver(p.offer(9999, "more.bin", tc.size))
				synctest.Wait()
				if id := offerID(s.m, p, 9999); id == 0 {
					t.Error("an offer past the bound is not shown")
				} else if err := s.m.Accept(id); !errors.Is(err, ErrTooManyTransfers) || offerID(s.m, p, 9999) != id {
					t.Errorf("/accept past the bound: %v, want ErrTooManyTransfers and the offer waiting", err)
				}
			})
		})
	}
}
