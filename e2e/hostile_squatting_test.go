package e2e

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
)

// TestHostileNameSquatting: a hostile key joins bob as mallory and passes
// through other people's names (hellos as alice, carol, back to mallory),
// sending no message under them. When the real alice, a p2pchat bob has
// never seen, starts on another laptop, bob shows her as plain "alice",
// with no warning about her, her messages come from "alice", and bob's
// known_peers pins neither alice nor carol to mallory's key (mallory's one
// message pins mallory, the name it used).
func TestHostileNameSquatting(t *testing.T) {
	shared(t)
	start := time.Now()
	lab := testnet.New(t, 3)
	hb, hm, ha := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	bobHome := t.TempDir()
	bob := startWithHome(t, hb, "bob", bobHome)

	hp := startHostile(t, hm, netip.AddrPortFrom(hb.IP, port))
	hp.do(hcmd{Op: "dial", Conn: "u"}, "dialed", msgTimeout)
	m := hp.do(hcmd{Op: "join", Conn: "u", Peer: "m", Nick: "mallory", Host: "evilbox"}, "joined", msgTimeout)
	j := bob.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == m.ID })
	if j.Name != "mallory" {
		t.Fatalf("bob: the hostile key joined as %q, want mallory", j.Name)
	}
	old := "mallory"
	for _, nick := range []string{"alice", "carol", "mallory"} {
		mark := bob.Mark()
		hp.do(hcmd{Op: "hello", Peer: "m", Nick: nick, Host: "evilbox"}, "said", msgTimeout)
		r := bob.WaitFrom(t, mark, msgTimeout, func(e Event) bool { return e.Event == "renamed" && e.PeerID == m.ID })
		var rn struct {
			Old string `json:"old"`
		}
		if err := r.Decode(&rn); err != nil || rn.Old != old || r.Name != nick {
			t.Fatalf("bob: renaming to %s gave %s", nick, r.Raw)
		}
		old = nick
	}
	hp.do(hcmd{Op: "say", Peer: "m", Stream: 5, Seq: 1, Base: 1, Text: "hi, I am mallory"}, "said", msgTimeout)
	bob.Wait(t, msgTimeout, IsMessage("mallory", "bob", "hi, I am mallory"))

	// The real alice comes for the first time.
	am := bob.Mark()
	alice := StartNode(t, ha, "alice")
	aliceID := string(alice.Ready().ID)
	ja := bob.WaitFrom(t, am, joinTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == aliceID })
	if ja.Name != "alice" {
		t.Errorf("bob: the real alice joined as %q, want alice", ja.Name)
	}
	alice.WaitJoined(t, "bob")
	sendAndConfirm(t, alice, "bob", "hello bob, it is alice", bob)
	sendAndConfirm(t, bob, "alice", "hello alice", alice)
	if w := whois(t, bob, "alice"); w.ID != aliceID {
		t.Errorf("bob: /whois alice is %s, the real alice is %s", w.ID, aliceID)
	}
	noEvent(t, bob, bob.Events()[am:], "warning about the real alice", func(e Event) bool {
		return e.Event == "warning" && (e.PeerID == aliceID || strings.Contains(e.Text, "alice"))
	})

	// What bob pinned, once he has written it (he quits).
	bob.Send("/quit")
	if code := bob.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("bob exited with %d", code)
	}
	b, err := os.ReadFile(filepath.Join(bobHome, "known_peers"))
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]string{} // name -> node id of the key
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		k, err := hex.DecodeString(f[1])
		if err != nil || len(k) != 32 {
			t.Errorf("known_peers line %q: bad key", line)
			continue
		}
		pinned[f[0]] = peer.KeyID((*[32]byte)(k))
	}
	t.Logf("bob's known_peers (%v after the start): %q", time.Since(start).Round(time.Millisecond), b)
	for _, name := range []string{"alice", "carol"} {
		if pinned[name] == m.ID {
			t.Errorf("known_peers pins %s to mallory's key, a name mallory only passed through", name)
		}
	}
	if pinned["mallory"] != m.ID {
		t.Errorf("known_peers pins mallory to %q, want mallory's key %s", pinned["mallory"], m.ID)
	}
	if pinned["alice"] != aliceID {
		t.Errorf("known_peers pins alice to %q, want the real alice's key %s", pinned["alice"], aliceID)
	}
	if len(hp.got()) > 0 {
		t.Errorf("bob sent the hostile key messages: %v", hp.got())
	}
}
