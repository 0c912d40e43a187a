package shell

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// TestSearchAfterRestart: words said the day before, received and sent,
// are found after a restart by /search in any case, oldest first, with
// date, time, who and where; -json gives one search event with the lines.
func TestSearchAfterRestart(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "conversations.log")
	yesterday := time.Now().Add(-24 * time.Hour).Truncate(time.Minute)
	n := newFakeNode(testPeers()...)
	s := newSession(Config{Node: n, Out: &strings.Builder{}, LogFile: logFile})
	s.now = func() time.Time { return yesterday }
	s.printEvent(peer.Event{Kind: peer.EvMessage, Peer: "bob", PeerID: "k1", To: "all", Text: "the Deploy broke\nagain", Time: yesterday})
	s.printEvent(peer.Event{Kind: peer.EvMessage, Peer: "carol", PeerID: "k2", To: "alice", Text: "lunch?", Time: yesterday})
	s.execute("/to bob deploy fixed")
	s.execute("/me celebrates the deploy")
	s.flush()

	// The next day, a new run.
	day := yesterday.Local().Format("2006-01-02 15:04")
	out := run(t, newFakeNode(testPeers()...), Config{LogFile: logFile}, "/search DEPLOY\n/search nothing-like-it\n")
	want := day + " bob → all: the Deploy broke\n      again\n" + day + " alice → bob: deploy fixed\n" +
		day + " * alice → all celebrates the deploy\n* no saved message holds nothing-like-it\n"
	if out != want {
		t.Errorf("/search printed\n%s\nwant\n%s", out, want)
	}
	out = run(t, newFakeNode(testPeers()...), Config{LogFile: logFile, JSON: true}, "/search lunch\n")
	wantJSON := `{"event":"search","text":"lunch","lines":[{"time":"` + yesterday.Local().Format(historyTime) + `","from":"carol","to":"alice","text":"lunch?"}]}` + "\n"
	if out != wantJSON {
		t.Errorf("-json /search printed\n%s\nwant\n%s", out, wantJSON)
	}
}
