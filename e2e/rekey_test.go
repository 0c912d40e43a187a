package e2e

import (
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// rekeyConversation bounds how long TestRekeyDuringConversation's two
// peers chat: past two of the sessions' 2-minute lifetimes (peer/session.go's
// rekeyAfter) from their first handshake, with margin for the responder's
// grace (30 s each time) and a loaded machine. The conversation ends
// sooner, rekeyTail after the second rekey was seen on the wire (about
// 4 minutes after the join).
const rekeyConversation = 5*time.Minute + 30*time.Second

// rekeyTail is how long the conversation goes on after the second rekey
// was seen, so that messages cross it; rekeyRoundGap is how far apart two
// handshakes seen on the wire must be to count as two rekeys (and how long
// after the join the first one may come, so that a retransmitted first
// handshake is not taken for a rekey): less than rekeyAfter, more than a
// handshake's retransmissions take.
const (
	rekeyTail     = 5 * time.Second
	rekeyRoundGap = 90 * time.Second
)

// TestRekeyDuringConversation: alice and bob (two p2pchat processes, one
// laptop each) chat, each sending the other one message a second, until
// two rekeys were seen on the wire and 5 s more (about 4 minutes 5 s;
// at most 5 minutes 30 s). Their sessions are replaced every 2 minutes
// while the messages flow: at exit each one's stats line counts at least 3
// handshakes (the first one and 2 rekeys). Nothing is lost or shown twice
// across the rekeys: each side shows every text of the other once, in
// order, and hears every one of its message ids delivered exactly once.
// It runs next to every other test, from the start (background: it
// spends its time waiting, two processes at a message a second).
// The rekeys are also seen on the wire: two rounds of handshake
// initiations (nftables counters on both laptops), at least
// rekeyRoundGap apart. Checked: a build whose sessions live 20 minutes
// (rekeyAfter) chatted the whole 4 minutes 40 s (the bound then), saw
// one round on the wire (at 3 minutes: rejectAfter) and fails; its
// stats lines counted 3 or 4 handshakes each (both sides may start the
// first one), which alone passed it. The version-1 binary (P2PCHAT_BIN) has
// no counter and fails.
func TestRekeyDuringConversation(t *testing.T) {
	background(t)
	lab := testnet.New(t, 2)
	for _, h := range lab.Hosts {
		countInits(t, h)
	}
	// bob finds alice by -peer, without mDNS on either side, so that he
	// alone starts the first handshake: when both started one at once
	// (both found each other by mDNS at the same moment), each side could
	// keep the session the other started, due 30 s later (responder
	// grace), and the rekeys came at 2m30s and 4m30s instead of 2m and 4m.
	alice := StartNode(t, lab.Hosts[0], "alice", "-mdns=false")
	bob := StartNode(t, lab.Hosts[1], "bob", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	began := time.Now()

	n := int(rekeyConversation / time.Second)
	type side struct {
		from, to *Proc
		texts    []string
		sent     int // texts sent; set by its sender, read after wg.Wait
	}
	sides := []*side{
		{from: alice, to: bob, texts: relNumbered("alice says ", n)},
		{from: bob, to: alice, texts: relNumbered("bob says ", n)},
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Go(func() {
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for _, text := range s.texts {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				s.from.Send("/to " + s.to.Name + " " + text)
				s.sent++
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// Every second, the initiations that arrived at either laptop: a rise
	// rekeyRoundGap after the join and after the previous one is a rekey.
	var rekeys []time.Duration
	last := began
	prev, err := initsSeen(lab.Hosts)
	if err != nil {
		t.Fatal(err)
	}
	tk := time.NewTicker(time.Second)
watch:
	for {
		select {
		case <-done:
			break watch
		case <-tk.C:
		}
		if len(rekeys) == 2 && time.Since(began) > rekeys[1]+rekeyTail {
			break
		}
		c, err := initsSeen(lab.Hosts)
		if err != nil {
			t.Error(err)
			break
		}
		if c > prev && time.Since(last) >= rekeyRoundGap && len(rekeys) < 2 {
			rekeys = append(rekeys, time.Since(began))
			last = time.Now()
		}
		prev = c
	}
	tk.Stop()
	close(stop)
	<-done
	t.Logf("%d and %d messages, one a second, in %v; rekeys seen on the wire at %v after the join",
		sides[0].sent, sides[1].sent, time.Since(began).Round(time.Second), rekeys)
	if len(rekeys) < 2 {
		t.Errorf("%d rekeys seen on the wire in a %v conversation (handshake initiations at least %v apart), want 2 (one every 2 minutes)",
			len(rekeys), time.Since(began).Round(time.Second), rekeyRoundGap)
	}

	for _, s := range sides {
		texts := s.texts[:s.sent]
		if len(texts) == 0 {
			t.Fatalf("%s sent nothing", s.from.Name)
		}
		last := texts[len(texts)-1]
		s.to.Wait(t, msgTimeout, IsMessage(s.from.Name, s.to.Name, last))
		if got := relMessages(s.to.Events(), s.from.Name, s.to.Name); !slices.Equal(got, texts) {
			t.Errorf("%s was shown %s's messages: %s", s.to.Name, s.from.Name, seqDiff(got, texts))
		}
		ids := relSentIDs(s.from.Events(), s.to.Name)
		if len(ids) != len(texts) {
			t.Errorf("%s: %d message ids in its \"sent\" events to %s, want %d", s.from.Name, len(ids), s.to.Name, len(texts))
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
				p.Name, *st.Handshakes, time.Since(began).Round(time.Second))
		}
		if code := p.ExitCode(t, exitTimeout); code != 0 {
			t.Errorf("%s exited with %d after /quit", p, code)
		}
	}
}

// initMatch is an nftables payload match for a UDP datagram that starts a
// handshake: magic, version and TypeInit, the first 6 bytes after the UDP
// header (internal/wire).
var initMatch = fmt.Sprintf("@th,64,48 0x%x%02x%02x", wire.Magic, wire.Version, byte(wire.TypeInit))

// countInits has h count, in a table of its own, the handshake initiations
// arriving at the chat port; initsSeen sums them over hosts.
func countInits(t testing.TB, h *testnet.Host) {
	t.Helper()
	h.NFT(t, fmt.Sprintf("table inet p2prekey {\n chain input {\n  type filter hook input priority -10; policy accept;\n"+
		"  udp dport %d %s counter\n }\n}\n", port, initMatch))
}

func initsSeen(hosts []*testnet.Host) (int, error) {
	sum := 0
	for _, h := range hosts {
		out, err := exec.Command("ip", "netns", "exec", h.Name, "nft", "list", "table", "inet", "p2prekey").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("handshake counter on %s: %v: %s", h.Name, err, out)
		}
		f := strings.Fields(string(out))
		i := slices.Index(f, "packets")
		if i < 0 || i+1 >= len(f) {
			return 0, fmt.Errorf("handshake counter on %s: no packets in %q", h.Name, out)
		}
		n, err := strconv.Atoi(f[i+1])
		if err != nil {
			return 0, fmt.Errorf("handshake counter on %s: %v", h.Name, err)
		}
		sum += n
	}
	return sum, nil
}
