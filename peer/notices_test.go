package peer

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
)

// TestNoticeQueueBounded: notices about peers (joined, renamed, warnings
// naming them) wait for a reader that does not read up to a count and a
// byte bound; past either they are dropped and counted. Events about our
// own messages are never dropped.
func TestNoticeQueueBounded(t *testing.T) {
	// The largest notice a peer can cause: a warning naming it several
	// times, with the longest nickname and host label.
	nick := strings.Repeat("名", MaxNameRunes)
	label := nick + "@" + strings.Repeat("h", 64)
	big := fmt.Sprintf("a peer with a DIFFERENT KEY claims the name %s: it is shown as %s, not as %s. "+
		"It may be an impostor, or %s reinstalled p2pchat. Compare '/whois %s' with %s in person, then '/trust %s' to accept the new key.",
		nick, label, nick, nick, label, nick, label)
	for _, tc := range []struct {
		name string
		text string
	}{
		{"small notices", "bob is offline"},
		{"the largest notices", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mn := NewMemNet(61)
				n, err := New(Config{Name: "alice", Host: "h", Timing: DefaultTiming()}, mn.Listen()) // nobody reads its events
				if err != nil {
					t.Fatal(err)
				}
				defer func() { // nobody read: Events closes once what waits in it is taken
					n.Close()
					for range n.Events() {
					}
				}()
				const tries = 2 * maxEvents
				n.mu.Lock()
				for i := range tries {
					n.emitLocked(Event{Kind: EvWarning, Peer: label, Text: tc.text})
					if i%100 == 0 {
						n.emitLocked(Event{Kind: EvDelivered, Peer: label, ID: uint64(i)})
					}
				}
				notices, held, delivered := 0, 0, 0
				for _, q := range n.evq {
					if q.e.Kind == EvDelivered {
						delivered++
						continue
					}
					notices++
					held += len(q.e.Text) + len(q.e.Peer) + len(q.e.OldName) + len(q.e.Addr)
				}
				dropped := n.stats.EventsDropped
				n.mu.Unlock()
				if notices > maxEvents || held > maxNoticeBytes {
					t.Errorf("%d notices (%d KiB) wait; at most %d, %d KiB", notices, held>>10, maxEvents, maxNoticeBytes>>10)
				}
				inChannel := cap(n.events)
				if want := uint64(tries - notices - inChannel); dropped < want || dropped == 0 {
					t.Errorf("%d notices dropped and counted, want %d", dropped, want)
				}
				if want := tries / 100; delivered+inChannel < want {
					t.Errorf("%d delivery events kept, want %d", delivered, want)
				}
			})
		})
	}
}
