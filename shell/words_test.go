package shell

import (
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/transfer"
)

// TestTransferHints: the domain package says what the user can do next
// (a Hint); the shell names the command, with the transfer's ID.
func TestTransferHints(t *testing.T) {
	tests := []struct {
		e    transfer.Event
		want string
	}{
		{transfer.Event{Kind: transfer.EvOffer, ID: 3, Text: "bob offers a.txt (5 B)", Hint: transfer.HintDecide},
			"bob offers a.txt (5 B): /accept 3 or /reject 3"},
		{transfer.Event{Kind: transfer.EvOffered, ID: 4, Text: "offered a.txt (5 B) to bob: waiting for bob to accept", Hint: transfer.HintCancel},
			"offered a.txt (5 B) to bob: waiting for bob to accept (/cancel 4)"},
		{transfer.Event{Kind: transfer.EvFailed, ID: 5, Code: transfer.CodeStopped, Resumable: true,
			Text: "a.txt (5 B) to bob was interrupted: it resumes when bob is back", Hint: transfer.HintDrop},
			"a.txt (5 B) to bob was interrupted: it resumes when bob is back (/cancel 5 drops it)"},
		{transfer.Event{Kind: transfer.EvAccepted, ID: 6, Text: "bob accepted a.txt (5 B)"}, "bob accepted a.txt (5 B)"},
		{transfer.Event{Kind: transfer.EvAccepted, ID: 7, Text: "accepted a.txt (5 B) from bob", Path: "/home/alice/Downloads"},
			"accepted a.txt (5 B) from bob; it goes to /home/alice/Downloads"},
		{transfer.Event{Kind: transfer.EvAccepted, ID: 8, Text: "accepted a.txt (5 B) from bob", Path: "/home/alice/Downloads", Auto: true},
			"accepted a.txt (5 B) from bob (-accept-from); it goes to /home/alice/Downloads"},
	}
	for _, tt := range tests {
		if got := transferText(tt.e); got != tt.want {
			t.Errorf("transferText(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// decidedTransfers answers every Reject as a transfer.Manager does for an
// offer decided already.
type decidedTransfers struct{ fakeTransfers }

func (*decidedTransfers) Reject(id int) error {
	return &transfer.DecidedError{ID: id, State: transfer.Active}
}

// TestRejectDecidedNamesCancel: /reject of a transfer under way says
// /cancel stops it.
func TestRejectDecidedNamesCancel(t *testing.T) {
	var out strings.Builder
	s := newSession(Config{Node: newFakeNode(testPeers()...), Out: &out, Transfers: &decidedTransfers{}})
	s.execute("/reject 7")
	s.flush()
	if want := "! transfer 7 is active already: /cancel 7 stops it"; !strings.Contains(out.String(), want) {
		t.Errorf("/reject 7 of a transfer under way printed %q, want %q", out.String(), want)
	}
}

// TestWarningJSONWorded: -json warnings carry the same words as the
// terminal's, for the codes the node emits without text.
func TestWarningJSONWorded(t *testing.T) {
	e := peer.Event{Kind: peer.EvWarning, Peer: "bob@laptop2", PeerID: "k2", Code: peer.CodeNameTaken, Name: "bob", Fingerprint: "ab12"}
	v, ok := eventJSON(e, at).(jsonText)
	if !ok || !strings.Contains(v.Text, "'/trust bob@laptop2' gives it the name") {
		t.Errorf("json warning = %+v, want its text to say how to give it the name", v)
	}
}
