package e2e

import (
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/proctest"
)

// TestDurableHomeLocked: a second p2pchat started on the -home a running
// one uses (plain and -json, on the same laptop) exits 1 saying another
// p2pchat is using the home directory, prints no ready line, and the
// first keeps sending and receiving, also after a restart of its own
// (the second did not damage its store).
func TestDurableHomeLocked(t *testing.T) {
	shared(t)
	d := newDurableLab(t)
	alice, bob := d.startAlice(), d.startBob()
	d.exchange(alice, bob)

	for _, text := range []bool{true, false} {
		mode := "-json"
		if text {
			mode = "plain"
		}
		needBinary(t)
		second := proctest.P2PChat{Bin: binPath, Name: "alice", Home: d.aliceHome, Text: text, Args: d.aliceArgs()}.Start(t, d.aliceHost())
		code := second.ExitCode(t, exitTimeout)
		stderr := second.Stderr().String()
		t.Logf("second p2pchat (%s) on alice's home: exit %d, stderr %q", mode, code, stderr)
		if code != 1 {
			t.Errorf("a second p2pchat (%s) on the home alice's p2pchat uses exited %d, want 1", mode, code)
		}
		if !strings.Contains(stderr, "another p2pchat is using this home directory") {
			t.Errorf("a second p2pchat (%s) on alice's home: stderr %q does not say another p2pchat is using the home directory", mode, stderr)
		}
		if text && second.Stdout().Len() > 0 || !text && countKind(second.Events(), "ready") > 0 {
			t.Errorf("a second p2pchat (%s) on alice's home printed on stdout as if it ran\n%s", mode, second.Report())
		}
	}

	check := func(alice *Proc, n string) {
		t.Helper()
		am, bm := alice.Mark(), bob.Mark()
		ids := alice.SendTo(t, "bob", "still here "+n)
		bob.WaitFrom(t, bm, msgTimeout, IsMessage("alice", "bob", "still here "+n))
		alice.WaitFrom(t, am, msgTimeout, IsDelivered("bob", ids[0]))
		ids = bob.SendTo(t, "alice", "so am I "+n)
		alice.WaitFrom(t, am, msgTimeout, IsMessage("bob", "alice", "so am I "+n))
		bob.WaitFrom(t, bm, msgTimeout, IsDelivered("alice", ids[0]))
	}
	check(alice, "1")
	quit(t, alice)
	alice = d.startAlice()
	alice.WaitJoined(t, "bob")
	check(alice, "2")
}
