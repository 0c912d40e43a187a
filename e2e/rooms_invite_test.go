package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestRoomsInviteOffline: alice and bob meet once (no message between
// them) and both quit. Alice, started again while bob stays away,
// makes the private #secret and invites bob by name: he is a member at
// once. Bob, started again, is told of the invitation and gets what
// alice said meanwhile and after, each once.
func TestRoomsInviteOffline(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	homeA, homeB := t.TempDir(), t.TempDir()
	argsA := []string{"-peer", peerAddr(lab.Hosts[1])}
	argsB := []string{"-peer", peerAddr(lab.Hosts[0])}
	alice := startWithHome(t, lab.Hosts[0], "alice", homeA, argsA...)
	bob := startWithHome(t, lab.Hosts[1], "bob", homeB, argsB...)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	// Bob's signing key comes when they meet; alice writes it down at her
	// next tick.
	bindings := filepath.Join(homeA, "rooms", "bindings")
	deadline := time.Now().Add(joinTimeout)
	for {
		if st, err := os.Stat(bindings); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice never wrote %s", bindings)
		}
		time.Sleep(100 * time.Millisecond)
	}
	quit(t, bob)
	quit(t, alice)

	alice = startWithHome(t, lab.Hosts[0], "alice", homeA, argsA...)
	alice.Send("/join #secret private")
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == "alice" })
	mk := alice.Mark()
	alice.Send("/invite bob #secret")
	e := alice.WaitFrom(t, mk, msgTimeout, func(e Event) bool { return e.Event == "error" || e.Event == "info" })
	if e.Event != "info" || e.Text != "bob is now a member of #secret" {
		t.Fatalf("alice's /invite of bob, offline: %s", e.Raw)
	}
	alice.Send("/to #secret while you were away")

	bob = startWithHome(t, lab.Hosts[1], "bob", homeB, argsB...)
	bob.Wait(t, joinTimeout, func(e Event) bool {
		return e.Event == "invited" && e.Name == "alice" && decodeRoomMsg(t, e).Room == "#secret"
	})
	bob.Wait(t, msgTimeout, isRoomMsg("#secret", "alice", "while you were away"))
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == "bob" })
	alice.Send("/to #secret welcome")
	bob.Wait(t, msgTimeout, isRoomMsg("#secret", "alice", "welcome"))
	time.Sleep(time.Second) // (a second copy would come in this time)
	if got := roomMsgs(t, bob.Events(), "#secret"); len(got) != 2 {
		t.Errorf("bob got %q, want each of alice's two messages once", got)
	}
}
