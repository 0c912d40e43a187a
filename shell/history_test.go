package shell

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

func TestHistoryCommand(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "conversations.log")
	at := time.Date(2026, 11, 22, 10, 3, 0, 0, time.Local)
	// Incoming messages are recorded as they are printed.
	s := &session{cfg: Config{JSON: true}, node: newFakeNode(), pr: newPrinter(io.Discard, false, nil), now: time.Now, conv: newConvLog(logFile)}
	s.printEvent(peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "alice", Text: "line one\nline two", Time: at})
	s.printEvent(peer.Event{Kind: peer.EvMessage, Peer: "carol", To: "all", Text: "hi all", Time: at})
	s.flush() // as the shell does when it has nothing else to do

	node := newFakeNode(testPeers()...)
	out := run(t, node, Config{JSON: true, LogFile: logFile},
		"/to bob 你好 bob\n/history bob\n/history 1\n/history\n/history carol 5 x\n")
	var answers []jsonHistory
	var errs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var h jsonHistory
		if json.Unmarshal([]byte(line), &h) == nil && h.Event == "history" {
			answers = append(answers, h)
		}
		if strings.Contains(line, `"event":"error"`) {
			errs = append(errs, line)
		}
	}
	if len(answers) != 3 {
		t.Fatalf("history answers: %d\n%s", len(answers), out)
	}
	texts := func(h jsonHistory) (s []string) {
		for _, l := range h.Lines {
			s = append(s, l.From+">"+l.To+":"+l.Text)
		}
		return s
	}
	want := [][]string{
		{"bob>alice:line one\nline two", "alice>bob:你好 bob"},
		{"alice>bob:你好 bob"},
		{"bob>alice:line one\nline two", "carol>all:hi all", "alice>bob:你好 bob"},
	}
	for i := range want {
		if got := texts(answers[i]); strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("history %d = %q, want %q", i, got, want[i])
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "/history [NAME] [N]") {
		t.Errorf("bad /history usage not reported: %v", errs)
	}
	data, _ := os.ReadFile(logFile)
	if !strings.Contains(string(data), "\tbob\talice\tline one\\nline two\n") {
		t.Errorf("log file is not readable text:\n%s", data)
	}
	// Text mode: one readable, sanitised line per message.
	text := run(t, newFakeNode(testPeers()...), Config{LogFile: logFile}, "/history carol\n")
	if want := "2026-11-22 10:03:00 carol → all: hi all\n"; text != want {
		t.Errorf("text /history = %q, want %q", text, want)
	}
}

func TestHistoryBounded(t *testing.T) {
	l := newConvLog(filepath.Join(t.TempDir(), "log"))
	text := strings.Repeat("x", 1000)
	for i := 0; i < 3000; i++ {
		if err := l.add(time.Now(), "a", "b", text); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(l.path)
	if st.Size() > maxHistoryBytes+2000 {
		t.Fatalf("history grew to %d bytes", st.Size())
	}
	last, err := l.last("", 5)
	if err != nil || len(last) != 5 {
		t.Fatalf("last: %d %v", len(last), err)
	}
}
