package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestImpostorKeepsNoName: alice knows bob (his key is pinned to "bob" on
// first sight). bob leaves; a process on another laptop with another key
// calls itself bob. alice must show it as bob@<its host>, warn, keep "bob"
// for the original, and only give it the name after /trust, which must
// survive a restart of alice.
func TestImpostorKeepsNoName(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	ha, hb, hi := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	aliceHome, bobHome := t.TempDir(), t.TempDir()

	alice := startWithHome(t, ha, "alice", aliceHome)
	bob := startWithHome(t, hb, "bob", bobHome)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	sendAndConfirm(t, bob, "alice", "hello from the real bob", alice)
	bobFP := readyFingerprint(t, bob)
	if w := whois(t, alice, "bob"); w.Fingerprint != bobFP {
		t.Fatalf("alice: /whois bob shows fingerprint %q, bob's ready event %q", w.Fingerprint, bobFP)
	}
	if b, err := os.ReadFile(filepath.Join(aliceHome, "known_peers")); err != nil || !bytes.Contains(b, []byte("bob")) {
		t.Errorf("alice's known_peers does not pin bob (%v):\n%s", err, b)
	}

	bob.Send("/quit")
	alice.Wait(t, msgTimeout, IsLeft("bob", "quit"))
	if code := bob.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("bob exited with %d after /quit", code)
	}

	// The impostor: same nickname, its own (fresh) identity, another laptop.
	am := alice.Mark()
	imp := StartNode(t, hi, "bob")
	impName := "bob@" + hi.Hostname
	impFP := readyFingerprint(t, imp)
	if impFP == bobFP {
		t.Fatalf("the impostor has bob's fingerprint %q: not a different identity", impFP)
	}
	j := alice.WaitFrom(t, am, joinTimeout, func(e Event) bool {
		return e.Event == "joined" && strings.HasPrefix(e.Name, "bob")
	})
	if j.Name != impName {
		t.Errorf("alice: the impostor joined as %q, want %q", j.Name, impName)
	}
	if j.Addr != peerAddr(hi) {
		t.Errorf("alice: the impostor joined from %q, want %q", j.Addr, peerAddr(hi))
	}
	w := alice.WaitFrom(t, am, msgTimeout, func(e Event) bool { return e.Event == "warning" && strings.Contains(e.Text, impName) })
	if !strings.Contains(strings.ToLower(w.Text), "different key") || !strings.Contains(w.Text, "/trust") {
		t.Errorf("alice: the impostor warning does not mention the different key and /trust: %q", w.Text)
	}
	imp.WaitJoined(t, "alice")

	// Its messages come from bob@<host>.
	m := alice.Mark()
	imp.SendTo(t, "alice", "it is me, bob, honest")
	if e := alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.Text == "it is me, bob, honest" }); e.From != impName {
		t.Errorf("alice: the impostor's message is from %q, want %q", e.From, impName)
	}

	// "bob" still means the original: what alice sends to bob (queued for
	// him while he is away) does not go to the impostor.
	if e := command(t, alice, "/to bob for the real bob only", "sent", "error"); e.Event != "sent" {
		t.Logf("alice: /to bob while the real bob is away: %s", e)
	}
	sendAndConfirm(t, alice, impName, "marker for the newcomer", imp)
	mk := imp.Wait(t, 0, IsMessage("alice", "bob", "marker for the newcomer"))
	noEvent(t, imp, imp.Events()[:mk.Seq], "a message alice meant for the real bob", func(e Event) bool {
		return e.Event == "message" && strings.Contains(e.Text, "for the real bob only")
	})

	// /whois tells them apart.
	wi := whois(t, alice, impName)
	if wi.Fingerprint != impFP || wi.Fingerprint == bobFP {
		t.Errorf("alice: /whois %s shows fingerprint %q; the impostor's is %q, the real bob's %q", impName, wi.Fingerprint, impFP, bobFP)
	}
	if wi.Nick != "bob" || wi.Host != hi.Hostname || wi.Name != impName {
		t.Errorf("alice: /whois %s = %+v, want name %q nick bob host %q", impName, wi, impName, hi.Hostname)
	}
	if wo := whois(t, alice, "bob"); wo.Fingerprint != bobFP {
		t.Errorf("alice: /whois bob shows %q, want the real bob's %q", wo.Fingerprint, bobFP)
	}
	noEvent(t, alice, alice.Events()[am:], "the impostor shown as plain bob", func(e Event) bool {
		return (e.Event == "joined" || e.Event == "renamed") && e.Name == "bob" || e.Event == "message" && e.From == "bob"
	})

	// alice checks the fingerprint in person and accepts the new key.
	if e := command(t, alice, "/trust "+impName, "info", "error"); e.Event != "info" {
		t.Fatalf("alice: /trust %s answered %s", impName, e)
	}
	m = alice.Mark()
	imp.SendTo(t, "alice", "now you trust me")
	if e := alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.Text == "now you trust me" }); e.From != "bob" {
		t.Errorf("alice: after /trust the message is from %q, want bob", e.From)
	}
	if w := whois(t, alice, "bob"); w.Fingerprint != impFP {
		t.Errorf("alice: after /trust, /whois bob shows %q, want the new key %q", w.Fingerprint, impFP)
	}

	// The pin is on disk: alice restarts with the same -home.
	im := imp.Mark()
	alice.Send("/quit")
	// The message for the real bob still waits for him (on disk): a script
	// that ends so exits 4.
	if code := alice.ExitCode(t, exitTimeout); code != 4 {
		t.Errorf("alice exited with %d after /quit with a message queued for the real bob, want 4", code)
	}
	alice2 := startWithHome(t, ha, "alice", aliceHome)
	if j := alice2.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "joined" && strings.HasPrefix(e.Name, "bob") }); j.Name != "bob" {
		t.Errorf("restarted alice: the trusted key joined as %q, want bob", j.Name)
	}
	imp.WaitFrom(t, im, joinTimeout, IsJoined("alice"))
	imp.SendTo(t, "alice", "after alice restarted")
	if e := alice2.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "message" && e.Text == "after alice restarted" }); e.From != "bob" {
		t.Errorf("restarted alice: the trusted key's message is from %q, want bob", e.From)
	}
	if w := whois(t, alice2, "bob"); w.Fingerprint != impFP {
		t.Errorf("restarted alice: /whois bob shows %q, want the trusted key %q", w.Fingerprint, impFP)
	}

	// And the original bob, back with his old key, is now the one set apart.
	a2 := alice2.Mark()
	bob2 := startWithHome(t, hb, "bob", bobHome)
	if fp := readyFingerprint(t, bob2); fp != bobFP {
		t.Fatalf("bob restarted with the same -home has fingerprint %q, was %q", fp, bobFP)
	}
	oldName := "bob@" + hb.Hostname
	if j := alice2.WaitFrom(t, a2, joinTimeout, func(e Event) bool { return e.Event == "joined" && strings.HasPrefix(e.Name, "bob") }); j.Name != oldName {
		t.Errorf("restarted alice: the old key joined as %q, want %q", j.Name, oldName)
	}
	alice2.WaitFrom(t, a2, msgTimeout, func(e Event) bool { return e.Event == "warning" && strings.Contains(e.Text, oldName) })
	// What alice queued for the real bob before her restart reaches him,
	// and only him.
	bob2.Wait(t, msgTimeout, IsMessage("alice", "bob", "for the real bob only"))
}
