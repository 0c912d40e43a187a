package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
)

// TestLimits: a message of MaxTextBytes+1 bytes is refused with an error
// naming the limit and nothing is sent; one of exactly MaxTextBytes
// (Chinese, so three bytes a character) arrives whole.
func TestLimits(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	limit := fmt.Sprint(peer.MaxTextBytes)

	tooLong := strings.Repeat("x", peer.MaxTextBytes-1) + "é" // MaxTextBytes+1 bytes
	if len(tooLong) != peer.MaxTextBytes+1 {
		t.Fatalf("test bug: %d bytes", len(tooLong))
	}
	for _, line := range []string{"/to bob " + tooLong, "/all " + tooLong} {
		m := alice.Mark()
		e := command(t, alice, line, "sent", "error")
		if e.Event != "error" || !strings.Contains(e.Text, limit) {
			t.Errorf("alice: %s... of %d bytes answered %s; want an error naming the limit %s", line[:6], len(tooLong), e, limit)
		}
		noEvent(t, alice, alice.Events()[m:], "a sent answer for a refused message", IsKind("sent"))
	}

	// Exactly the limit: 10,922 Chinese characters (all different runs of
	// them, so reordered chunks would show) and two ASCII letters.
	var b strings.Builder
	for i := 0; b.Len()+3 <= peer.MaxTextBytes-2; i++ {
		b.WriteRune(rune(0x4e00 + i%2000))
	}
	b.WriteString("ok")
	full := b.String()
	if len(full) != peer.MaxTextBytes {
		t.Fatalf("test bug: %d bytes", len(full))
	}
	ids := alice.SendTo(t, "bob", full)
	got := bob.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "alice" })
	if got.Text != full {
		t.Fatalf("the %d-byte message arrived altered: %d bytes, first difference at byte %d", len(full), len(got.Text), firstDiff(got.Text, full))
	}
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	// The refused ones never arrived: bob's first message is the full one
	// (alice's messages are shown in order), and it is the only one.
	sendAndConfirm(t, alice, "bob", "end of limits", bob)
	if n := countEvents(bob, IsKind("message")); n != 2 {
		t.Errorf("bob got %d messages, want 2 (the full one and the end marker)", n)
	}
}
