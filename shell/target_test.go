package shell

import (
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// The target of plain lines is a peer id: a newcomer that takes the
// target's display name (the label "bob" after the real bob became
// "bob@laptop1") must not receive the user's next plain lines.
func TestTargetStaysWithIDWhenANewcomerTakesTheName(t *testing.T) {
	bob := peer.PeerInfo{Name: "bob", Nick: "bob", Host: "laptop1", ID: "b0b0b0b0b0b0b0b0", Online: true}
	carol := peer.PeerInfo{Name: "carol", Nick: "carol", ID: "c0c0c0c0c0c0c0c0", Online: true}
	n := newFakeNode(bob, carol)
	p := startPipeShell(t, n, Config{})
	ts := time.Date(2026, 3, 4, 9, 7, 0, 0, time.Local)

	io.WriteString(p.in, "/to bob\n")
	if got := p.next(t); got != "* messages now go to bob" {
		t.Fatalf("got %q", got)
	}
	// A second bob appears; the first is relabelled, the newcomer is "bob".
	// The line typed before the shell has seen any event about it still
	// goes to the first bob.
	bob.Name = "bob@laptop1"
	newcomer := peer.PeerInfo{Name: "bob", Nick: "bob", Host: "laptop2", ID: "e0e0e0e0e0e0e0e0", Online: true}
	n.setPeers(bob, newcomer, carol)
	io.WriteString(p.in, "typed before the news\n")
	io.WriteString(p.in, "/xyzzy\n") // its one-line answer proves the line before was done
	if got := p.next(t); got != "! unknown command /xyzzy (try /help)" {
		t.Fatalf("got %q", got)
	}
	n.events <- peer.Event{Kind: peer.EvRenamed, OldName: "bob", Peer: "bob@laptop1", PeerID: bob.ID, Time: ts}
	n.events <- peer.Event{Kind: peer.EvJoined, Peer: "bob", PeerID: newcomer.ID, Addr: "10.0.0.66:7117", Time: ts}
	for _, want := range []string{"09:07 * bob is now bob@laptop1", "09:07 * bob joined (10.0.0.66:7117)"} {
		if got := p.next(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	io.WriteString(p.in, "for the bob I chose\n")
	io.WriteString(p.in, "/to bob to whoever is bob now\n") // resolved when typed: the newcomer
	io.WriteString(p.in, "still the first bob\n")
	// The newcomer leaves and a peer renames itself to the old label.
	n.events <- peer.Event{Kind: peer.EvRenamed, OldName: "carol", Peer: "bob@laptop1x", PeerID: carol.ID, Time: ts}
	io.WriteString(p.in, "and again\n")
	io.WriteString(p.in, "/xyzzy\n")
	for _, want := range []string{"09:07 * carol is now bob@laptop1x", "! unknown command /xyzzy (try /help)"} {
		if got := p.next(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	want := []sendCall{
		{bob.ID, "typed before the news"},
		{bob.ID, "for the bob I chose"},
		{newcomer.ID, "to whoever is bob now"},
		{bob.ID, "still the first bob"},
		{bob.ID, "and again"},
	}
	if s := n.sends(); !reflect.DeepEqual(s, want) {
		t.Errorf("sent %q,\nwant %q", s, want)
	}
}

// The prompt shows the target's current label, looked up by id; it follows
// a rename, ignores other peers taking the old label, and still shows the
// target when the node has forgotten it.
func TestPromptFollowsTheTargetsLabel(t *testing.T) {
	bob := peer.PeerInfo{Name: "bob", Nick: "bob", ID: "b0b0b0b0b0b0b0b0", Online: true}
	n := newFakeNode(bob)
	var out strings.Builder
	s := newSession(Config{Node: n, Out: &out, Interactive: true, Logger: slog.New(slog.DiscardHandler)})
	prompt := func(want string) {
		t.Helper()
		if got := s.prompt(); got != want {
			t.Errorf("prompt %q, want %q", got, want)
		}
	}
	prompt("[all]> ")
	s.execute("/to bob")
	prompt("[bob]> ")

	// bob renames himself: event and address book agree.
	bob.Name, bob.Nick = "robert", "robert"
	n.setPeers(bob)
	s.printEvent(peer.Event{Kind: peer.EvRenamed, OldName: "bob", Peer: "robert", PeerID: bob.ID})
	prompt("[robert]> ")

	// Someone else takes the name "bob", then renames to "robert2": the
	// prompt does not move to them.
	other := peer.PeerInfo{Name: "bob", Nick: "bob", ID: "e0e0e0e0e0e0e0e0", Online: true}
	n.setPeers(bob, other)
	s.printEvent(peer.Event{Kind: peer.EvJoined, Peer: "bob", PeerID: other.ID})
	s.printEvent(peer.Event{Kind: peer.EvRenamed, OldName: "robert", Peer: "robert2", PeerID: other.ID})
	prompt("[robert]> ")

	// The node forgets bob (evicted): the prompt still shows him, and a
	// line for him is refused rather than sent to anyone else.
	n.setPeers(other)
	s.printEvent(peer.Event{Kind: peer.EvLeft, Peer: "robert", PeerID: bob.ID, Code: peer.CodeQuit})
	prompt("[robert]> ")
	s.execute("are you there?")
	if sent := n.sends(); len(sent) != 0 {
		t.Errorf("sent %q to a forgotten target", sent)
	}
	if !strings.Contains(out.String(), "! not sent: robert is no longer in the address book (/peers lists who is)") {
		t.Errorf("output:\n%s", out.String())
	}

	// While it is only offline, the node keeps its label: a later rename
	// the node reports without an event of ours still shows.
	bob.Name, bob.Online = "robert@laptop1", false
	n.setPeers(bob, other)
	prompt("[robert@laptop1]> ")
}
