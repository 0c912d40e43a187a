package e2e

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// rekeyConversation is how long TestRekeyDuringConversation's two peers
// chat: past two of the sessions' 2-minute lifetimes (peer/session.go's
// rekeyAfter) from their first handshake, with margin for the responder's
// grace.
const rekeyConversation = 4*time.Minute + 40*time.Second

// TestRekeyDuringConversation: alice and bob (two p2pchat processes, one
// laptop each) chat for about 5 minutes, each sending the other one
// message a second. Their sessions are replaced every 2 minutes while the
// messages flow: at exit each one's stats line counts at least 3
// handshakes (the first one and 2 rekeys). Nothing is lost or shown twice
// across the rekeys: each side shows every text of the other once, in
// order, and hears every one of its message ids delivered exactly once.
// It runs next to every other test, from the start (background: it
// spends its time waiting, two processes at a message a second).
// Checked: a build whose sessions live 20 minutes counts 1 handshake each
// and fails; the version-1 binary (P2PCHAT_BIN) has no counter and fails.
func TestRekeyDuringConversation(t *testing.T) {
	background(t)
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	began := time.Now()

	n := int(rekeyConversation / time.Second)
	type side struct {
		from, to *Proc
		texts    []string
	}
	sides := []side{
		{alice, bob, relNumbered("alice says ", n)},
		{bob, alice, relNumbered("bob says ", n)},
	}
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Go(func() {
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for _, text := range s.texts {
				<-tk.C
				s.from.Send("/to " + s.to.Name + " " + text)
			}
		})
	}
	wg.Wait()
	t.Logf("%d messages each way, one a second, in %v", n, time.Since(began).Round(time.Second))

	for _, s := range sides {
		last := s.texts[len(s.texts)-1]
		s.to.Wait(t, msgTimeout, IsMessage(s.from.Name, s.to.Name, last))
		if got := relMessages(s.to.Events(), s.from.Name, s.to.Name); !slices.Equal(got, s.texts) {
			t.Errorf("%s was shown %s's messages: %s", s.to.Name, s.from.Name, seqDiff(got, s.texts))
		}
		ids := relSentIDs(s.from.Events(), s.to.Name)
		if len(ids) != n {
			t.Errorf("%s: %d message ids in its \"sent\" events to %s, want %d", s.from.Name, len(ids), s.to.Name, n)
		}
		relWaitDelivered(t, s.from, 0, time.Now().Add(msgTimeout), ids)
		delivered := map[Flex]int{}
		for _, e := range s.from.Events() {
			if e.Event == "delivered" {
				delivered[e.ID]++
			}
		}
		for _, id := range ids {
			if delivered[id] != 1 {
				t.Errorf("%s: message id %s to %s delivered %d times, want once", s.from.Name, id, s.to.Name, delivered[id])
			}
		}
	}

	for _, p := range []*Proc{alice, bob} {
		m := p.Mark()
		p.Send("/quit")
		e := p.WaitFrom(t, m, exitTimeout, IsKind("stats"))
		var st struct {
			Handshakes *uint64 `json:"handshakes"`
		}
		if err := e.Decode(&st); err != nil || st.Handshakes == nil {
			t.Fatalf("%s: no handshakes counter in the stats line %s (%v)", p.Name, e.Raw, err)
		}
		t.Logf("%s: %d handshakes in %v (%s)", p.Name, *st.Handshakes, time.Since(began).Round(time.Second), e.Raw)
		if *st.Handshakes < 3 {
			t.Errorf("%s: %d handshakes in a %v conversation, want at least 3 (the first and a rekey every 2 minutes)",
				p.Name, *st.Handshakes, rekeyConversation)
		}
		if code := p.ExitCode(t, exitTimeout); code != 0 {
			t.Errorf("%s exited with %d after /quit", p, code)
		}
	}
}
