package peer

import (
	"errors"
	"testing"
	"testing/synctest"
)

// TestSameNicknameTwice: two people called bob are both listed and both
// reachable, under unambiguous names; neither overwrites the other.
func TestSameNicknameTwice(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(2)
		a := startNode(t, mn, "alice")
		b1 := startNode(t, mn, "bob", func(c *Config) { c.Host = "laptop1" })
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Host = "laptop2.local" })
		introduce(a, b1)
		a.waitJoined("bob")
		introduce(a, b2)
		a.waitJoined("bob@laptop2")
		w := a.wait("warning", func(e Event) bool { return e.Kind == EvWarning })
		if w.Code != CodeNameTaken || w.Name != "bob" || w.Peer != "bob@laptop2" || w.Fingerprint != b2.Fingerprint() {
			t.Errorf("warning does not give what the shell words into how to accept the key (/trust bob@laptop2): %+v", w)
		}
		peers := a.Peers()
		if len(peers) != 2 || peers[0].Name != "bob" || peers[1].Name != "bob@laptop2" || peers[0].ID == peers[1].ID {
			t.Fatalf("peers: %+v", peers)
		}
		if _, err := a.Send("bob", "to the first"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Send("bob@laptop2", "to the second"); err != nil {
			t.Fatal(err)
		}
		b1.waitMessage("alice", "to the first")
		b2.waitMessage("alice", "to the second")
		// Messages from the second bob are shown as from bob@laptop2, never bob.
		b2.Send("alice", "it is me")
		if e := a.waitMessage("bob@laptop2", "it is me"); e.Peer == "bob" {
			t.Fatal("impostor shown as bob")
		}
	})
}

// TestPinSurvivesRestart: the pin is kept in the home directory, so a new
// key for a known name is not believed in the next session either, until
// the user trusts it.
func TestPinSurvivesRestart(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		home := t.TempDir()
		mn := NewMemNet(3)
		a := startNode(t, mn, "alice", func(c *Config) { c.Home = home })
		bob := startNode(t, mn, "bob")
		introduce(a, bob)
		a.waitJoined("bob")
		bob.waitJoined("alice")
		bob.Send("alice", "hi") // a name is pinned once a message went under it
		a.waitMessage("bob", "hi")
		a.Close()
		bob.Close()

		a2 := startNode(t, mn, "alice", func(c *Config) { c.Home = home })
		newBob := startNode(t, mn, "bob", func(c *Config) { c.Host = "evil" })
		introduce(a2, newBob)
		a2.waitJoined("bob@evil")
		if err := a2.Trust("bob@evil"); err != nil {
			t.Fatal(err)
		}
		if p, err := a2.Whois("bob"); err != nil || p.Fingerprint != Fingerprint(&newBob.id.Public) {
			t.Fatalf("after /trust, bob is %+v %v", p, err)
		}
		if err := a2.Trust("nobody"); !errors.Is(err, ErrUnknownPeer) {
			t.Fatalf("trust unknown: %v", err)
		}
	})
}

func TestHostLabel(t *testing.T) {
	for in, want := range map[string]string{"laptop2.local": "laptop2", "my pc": "my-pc", "": "host", "主机": "--"} {
		if got := hostLabel(in); got != want {
			t.Errorf("hostLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
