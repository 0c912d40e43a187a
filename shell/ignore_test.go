package shell

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/transfer"
)

// fakeTransfers records what the shell asks of file transfers.
type fakeTransfers struct {
	rejected []int
	events   chan transfer.Event
}

func (f *fakeTransfers) Send(string, []string) (int, error) { return 0, nil }
func (f *fakeTransfers) Accept(int) error                   { return nil }
func (f *fakeTransfers) Reject(id int) error                { f.rejected = append(f.rejected, id); return nil }
func (f *fakeTransfers) Cancel(int) error                   { return nil }
func (f *fakeTransfers) List() []transfer.Info              { return nil }
func (f *fakeTransfers) Live() bool                         { return false }
func (f *fakeTransfers) Events() <-chan transfer.Event      { return f.events }

// TestIgnore: /ignore bob hides bob's messages (marked shown all the same,
// so they do not come back) and rejects his file offers, by his key even
// under another name; the user is told once how many were hidden; the list
// survives a restart (a new session on the same home); /unignore undoes it.
func TestIgnore(t *testing.T) {
	home := t.TempDir()
	logFile := filepath.Join(home, "conversations.log")
	start := func() (*session, *strings.Builder, *fakeNode, *fakeTransfers) {
		var out strings.Builder
		n := newFakeNode(testPeers()...)
		tr := &fakeTransfers{}
		s := newSession(Config{Node: n, Out: &out, LogFile: logFile, Transfers: tr})
		s.now = func() time.Time { return at }
		return s, &out, n, tr
	}
	msg := func(s *session, idx uint64, from, id, text string) {
		s.printEvent(peer.Event{Kind: peer.EvMessage, Peer: from, PeerID: id, To: "all", Text: text, Time: at, Idx: idx})
	}

	s, out, n, tr := start()
	s.execute("/ignore bob")
	msg(s, 1, "bob", "k1", "spam one")
	msg(s, 2, "carol", "k2", "hello")
	msg(s, 3, "bobby", "k1", "spam two under a new name")
	s.printTransfer(transfer.Event{Kind: transfer.EvOffer, ID: 7, Peer: "bob", PeerID: "k1", Files: []string{"x.exe"}, Total: 10, Time: at})
	s.printTransfer(transfer.Event{Kind: transfer.EvFailed, ID: 7, Peer: "bob", PeerID: "k1", Code: transfer.CodeRejected, Note: transfer.NoteRejected,
		First: "x.exe", NumFiles: 1, Total: 10, Time: at})
	s.flush()
	msg(s, 4, "bob", "k1", "spam three")
	s.flush()
	s.execute("/ignore")
	s.flush()
	got := out.String()
	for _, bad := range []string{"spam", "x.exe", "rejected x.exe"} {
		if strings.Contains(got, bad) {
			t.Errorf("an ignored peer's %q was shown:\n%s", bad, got)
		}
	}
	for _, want := range []string{"* ignoring bob (key k1)", "carol: hello", "* 3 messages or file offers from ignored peers hidden",
		"  bob (key k1): 4 hidden this session"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if c := strings.Count(got, "from ignored peers hidden"); c != 1 {
		t.Errorf("told %d times how many were hidden:\n%s", c, got)
	}
	if !slices.Equal(tr.rejected, []int{7}) {
		t.Errorf("rejected offers %v, want [7]", tr.rejected)
	}
	if len(n.shown) == 0 || n.shown[len(n.shown)-1] != 4 {
		t.Errorf("Shown calls %v: the hidden messages must be marked shown up to 4", n.shown)
	}
	if b, err := os.ReadFile(filepath.Join(home, "ignored")); err != nil || string(b) != "k1 bob\n" {
		t.Errorf("ignore file: %q, %v", b, err)
	}

	// Restart: bob is still ignored.
	s, out, _, _ = start()
	msg(s, 5, "bob", "k1", "spam after restart")
	msg(s, 6, "carol", "k2", "still here")
	s.execute("/unignore bobby") // not a name it was ignored under, nor a peer
	s.execute("/unignore BOB")
	msg(s, 7, "bob", "k1", "heard again")
	s.flush()
	got = out.String()
	if strings.Contains(got, "spam after restart") || !strings.Contains(got, "carol: still here") ||
		!strings.Contains(got, "! bobby is not ignored") || !strings.Contains(got, "* no longer ignoring bob") ||
		!strings.Contains(got, "bob: heard again") {
		t.Errorf("after a restart:\n%s", got)
	}
	if b, err := os.ReadFile(filepath.Join(home, "ignored")); err != nil || string(b) != "" {
		t.Errorf("ignore file after /unignore: %q, %v", b, err)
	}
}
