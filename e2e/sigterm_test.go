package e2e

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestSIGTERMInFlight: SIGTERM while messages to an unreachable peer are in
// flight makes p2pchat exit within 3 s, reporting each as queued on disk
// (exit 4), or with -store=false as failed (exit 0), never delivered; SIGTERM with everything delivered makes a healthy peer see
// the node leave with reason quit.
func TestSIGTERMInFlight(t *testing.T) {
	alone(t)
	// Kept on disk (the default): each is reported queued, exit 4. In
	// memory only (-store=false): each is reported failed, exit 0.
	for _, c := range []struct {
		name  string
		args  []string
		event string
		code  string
		exit  int
	}{
		{"pending-messages-queued", nil, "pending", "queued", 4},
		{"pending-messages-fail-in-memory", []string{"-store=false"}, "failed", "stopped", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			lab := testnet.New(t, 2)
			alice := StartNode(t, lab.Hosts[0], "alice", c.args...)
			bob := StartNode(t, lab.Hosts[1], "bob")
			alice.WaitJoined(t, "bob")
			bob.WaitJoined(t, "alice")
			// bob's laptop stops answering: UDP and TCP to it are dropped.
			lab.Hosts[1].DropUDP(t, 100, port)
			relBlockTCP(t, lab.Hosts[1], true)
			var ids []Flex
			for i := 1; i <= 3; i++ {
				ids = append(ids, alice.SendTo(t, "bob", fmt.Sprintf("in flight %d", i))...)
			}
			// Wait until alice gives up on UDP: a TCP connection attempt to the
			// unreachable bob is then under way when the signal comes.
			alice.Wait(t, 5*time.Second, func(e Event) bool { return e.Event == "info" && strings.Contains(e.Text, "TCP") })
			m := alice.Mark()
			start := time.Now()
			alice.Signal(syscall.SIGTERM)
			code := alice.ExitCode(t, 10*time.Second)
			took := time.Since(start)
			t.Logf("alice exited with %d %v after SIGTERM", code, took.Round(time.Millisecond))
			if code != c.exit {
				t.Errorf("alice exited with %d after SIGTERM, want %d", code, c.exit)
			}
			if took > 3*time.Second {
				t.Errorf("alice took %v to exit after SIGTERM, want < 3 s", took)
			}
			after := alice.Events()[m:]
			for _, id := range ids {
				i := slices.IndexFunc(after, func(e Event) bool { return e.Event == c.event && e.Code == c.code && e.To == "bob" && e.ID == id })
				if i < 0 {
					t.Errorf("alice: no %q event with code %q for pending message %s after SIGTERM\n%s", c.event, c.code, id, alice.Report())
				} else {
					t.Logf("alice: %s", after[i].Raw)
				}
			}
			for _, e := range alice.Events() {
				if e.Event == "delivered" && slices.Contains(ids, e.ID) {
					t.Errorf("alice: message to an unreachable bob reported delivered: %s", e)
				}
			}
			relNoJunk(t, alice)
			if got := relMessages(bob.Events(), "alice", "bob"); len(got) != 0 {
				t.Errorf("bob, unreachable, shows messages %q", got)
			}
		})
	}

	t.Run("healthy-peer-sees-quit", func(t *testing.T) {
		lab := testnet.New(t, 2)
		alice := StartNode(t, lab.Hosts[0], "alice")
		bob := StartNode(t, lab.Hosts[1], "bob")
		alice.WaitJoined(t, "bob")
		bob.WaitJoined(t, "alice")
		ids := alice.SendTo(t, "bob", "bye soon")
		bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "bye soon"))
		alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
		start := time.Now()
		alice.Signal(syscall.SIGTERM)
		left := bob.Wait(t, 5*time.Second, func(e Event) bool { return e.Event == "left" && e.Name == "alice" })
		if left.Reason != "quit" {
			t.Errorf("bob: alice left with reason %q after her SIGTERM, want \"quit\"", left.Reason)
		}
		code := alice.ExitCode(t, 10*time.Second)
		t.Logf("bob saw alice leave (%s) %v after SIGTERM; alice exited with %d after %v",
			left.Reason, left.At.Sub(start).Round(time.Millisecond), code, time.Since(start).Round(time.Millisecond))
		if code != 0 {
			t.Errorf("alice exited with %d after SIGTERM, want 0", code)
		}
		for _, e := range alice.Events() {
			if e.Event == "failed" {
				t.Errorf("alice: %s (everything was delivered)", e)
			}
		}
	})
}
