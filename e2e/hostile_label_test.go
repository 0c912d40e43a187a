package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestHostileLabelTakeover: alice knows two peers called bob: bob1, first,
// shown as "bob", and bob2 on laptop3, shown as "bob@laptop3". She makes
// bob2 the target of her plain lines (/to bob@laptop3). Then hostile keys
// join as bob from "laptop3" (and from hosts that label the same, or like
// bob2's id), or rename themselves into bob, trying to take bob2's label.
// alice's next plain line still goes to bob2 (the "sent" answer names
// bob2's id, bob2 shows it, no hostile key gets a message), bob2 and bob1
// keep their labels, and every label change alice showed was a "renamed"
// event of that peer.
func TestHostileLabelTakeover(t *testing.T) {
	shared(t)
	start := time.Now()
	lab := testnet.New(t, 4)
	ha, hb1, hb2, hm := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2], lab.Hosts[3]
	alice := StartNode(t, ha, "alice")
	bob1 := StartNode(t, hb1, "bob")
	id1 := string(bob1.Ready().ID)
	if j := alice.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == id1 }); j.Name != "bob" {
		t.Fatalf("alice: bob1 joined as %q, want bob", j.Name)
	}
	bob2 := StartNode(t, hb2, "bob")
	id2 := string(bob2.Ready().ID)
	label2 := "bob@" + hb2.Hostname
	if j := alice.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == id2 }); j.Name != label2 {
		t.Fatalf("alice: bob2 joined as %q, want %q", j.Name, label2)
	}
	bob1.WaitJoined(t, "alice")
	bob2.WaitJoined(t, "alice")

	if e := command(t, alice, "/to "+label2, "info", "error"); e.Event != "info" {
		t.Fatalf("alice: /to %s answered %s", label2, e)
	}
	plainLine(t, alice, "first line for bob2", id2, bob2)

	// The attack.
	hp := startHostile(t, hm, netip.AddrPortFrom(ha.IP, port))
	hp.do(hcmd{Op: "dial", Conn: "u"}, "dialed", msgTimeout)
	type attacker struct {
		peer, nick, host string
		renames          []string
	}
	attackers := []attacker{
		{"same", "bob", hb2.Hostname, nil},
		{"renamer", "carol", hb2.Hostname, []string{"bob"}},
		{"dotted", "bob", hb2.Hostname + ".evil", nil}, // labels as laptop3 too
		{"idlike", "bob", id2[:8], nil},                // bob@<bob2's id>: the label of a second clash
		{"nohost", "bob", "", nil},
		{"flipper", "dave", hb2.Hostname, []string{"bob", "dave", "bob"}},
		{"late", "bob", hb2.Hostname, []string{"eve", "bob"}},
	}
	hostileIDs := map[string]string{}
	for _, a := range attackers {
		m := alice.Mark()
		j := hp.do(hcmd{Op: "join", Conn: "u", Peer: a.peer, Nick: a.nick, Host: a.host}, "joined", msgTimeout)
		hostileIDs[j.ID] = a.peer
		alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "joined" && e.PeerID == j.ID })
		for _, nick := range a.renames {
			m := alice.Mark()
			hp.do(hcmd{Op: "hello", Peer: a.peer, Nick: nick, Host: a.host}, "said", msgTimeout)
			alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "renamed" && e.PeerID == j.ID })
		}
	}

	// alice's next plain line goes to bob2.
	plainLine(t, alice, "second line for bob2", id2, bob2)
	sendAndConfirm(t, alice, "bob", "for bob1, by name", bob1)

	// Labels: bob1 and bob2 keep theirs; no hostile key shows as either.
	labels := map[string]string{}
	for _, pe := range alice.Peers(t) {
		labels[string(pe.ID)] = pe.Name
	}
	if labels[id1] != "bob" || labels[id2] != label2 {
		t.Errorf("alice: bob1 is shown as %q, bob2 as %q; want bob and %q", labels[id1], labels[id2], label2)
	}
	for id, name := range hostileIDs {
		t.Logf("alice shows hostile key %s (%s) as %q", id, name, labels[id])
		if labels[id] == "bob" || labels[id] == label2 {
			t.Errorf("alice shows the hostile key %s as %q", name, labels[id])
		}
	}
	if got := hp.got(); len(got) > 0 {
		t.Errorf("alice sent hostile keys messages: %v", got)
	}
	for _, b := range []*Proc{bob1, bob2} {
		noEvent(t, b, b.Events(), "message from a hostile key", func(e Event) bool {
			return e.Event == "message" && e.From != "alice"
		})
	}
	noEvent(t, bob1, bob1.Events(), "line meant for bob2", func(e Event) bool {
		return e.Event == "message" && e.Text != "for bob1, by name"
	})
	checkLabelsOnlyRenamed(t, alice)
	t.Logf("%d hostile keys tried to take %q; took %v", len(attackers), label2, time.Since(start).Round(time.Millisecond))
}

// plainLine types text as a plain line (to p's current target) and checks
// that it was sent to the peer with id only, that receiver shows it and
// that p hears it delivered.
func plainLine(t *testing.T, p *Proc, text, id string, receiver *Proc) {
	t.Helper()
	m := p.Mark()
	p.Send(text)
	sent := p.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "sent" || e.Event == "error" })
	if sent.Event != "sent" || sent.PeerID != id || len(sent.IDs) != 1 {
		t.Fatalf("%s: the plain line %q was answered %s, want sent to %s", p, text, sent.Raw, id)
	}
	receiver.Wait(t, msgTimeout, IsMessage(p.Name, receiver.Name, text))
	p.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "delivered" && e.ID == sent.IDs[0] && e.PeerID == id })
}

// checkLabelsOnlyRenamed checks p's event log: the name an event shows for
// a peer (by peer_id) is the one it joined with or last was "renamed" to;
// a "renamed" event's old name is the one shown before.
func checkLabelsOnlyRenamed(t *testing.T, p *Proc) {
	t.Helper()
	cur := map[string]string{}
	for _, e := range p.Events() {
		if e.PeerID == "" {
			continue
		}
		var shown string
		switch e.Event {
		case "joined":
			if old, ok := cur[e.PeerID]; ok && old != e.Name {
				t.Errorf("%s: %s joined again as %q: its label changed without a renamed event: %s", p, old, e.Name, e.Raw)
			}
			cur[e.PeerID] = e.Name
			continue
		case "renamed":
			var r struct {
				Old string `json:"old"`
			}
			if err := e.Decode(&r); err != nil || r.Old != cur[e.PeerID] {
				t.Errorf("%s: renamed from %q, but the peer was shown as %q: %s", p, r.Old, cur[e.PeerID], e.Raw)
			}
			cur[e.PeerID] = e.Name
			continue
		case "message":
			shown = e.From
		case "sent", "delivered", "pending", "failed":
			shown = e.To
		default:
			shown = e.Name
		}
		if c, ok := cur[e.PeerID]; ok && shown != "" && shown != c {
			t.Errorf("%s: a %s event shows peer %s as %q, its label is %q (no renamed event): %s", p, e.Event, e.PeerID, shown, c, e.Raw)
		}
	}
}
