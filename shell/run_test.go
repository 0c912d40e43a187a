package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

func testPeers() []peer.PeerInfo {
	return []peer.PeerInfo{
		{Name: "bob", Nick: "bob", ID: "k1", Addr: "10.0.0.5:7117", Transport: "udp", Via: "mdns", Online: true, Fingerprint: "FP-BOB"},
		{Name: "carol", Nick: "carol", ID: "k2", Addr: "10.0.0.6:7117", Transport: "tcp", Via: "traffic", Online: true},
	}
}

// run runs the shell on a script and returns what it printed.
func run(t *testing.T, n *fakeNode, cfg Config, script string) string {
	t.Helper()
	var out strings.Builder
	cfg.Node, cfg.In, cfg.Out = n, strings.NewReader(script), &out
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String()
}

func TestRunPlainText(t *testing.T) {
	n := newFakeNode(testPeers()...)
	script := strings.Join([]string{
		"hello everyone", // to the current target: all
		"/to bob hi bob", // direct
		"/to bobb hi",    // typo: nothing sent
		"/to bob",        // target bob
		"just for bob",   //
		"/all",           // target everyone
		"/all 大家好",       //
		"//slash",        //
		"/frobnicate",    //
		"/peer",          //
		"   ",            // ignored
		"/nick bad name", // refused
		"/nick robert",   //
		"/to dave hi",    // far from every name
		"/trust carol",   //
		"/trust zed",     //
		"/to bob " + strings.Repeat("x", peer.MaxTextBytes+1),
		"/quit",
		"after quit is not read",
	}, "\n")
	got := run(t, n, Config{}, script)
	want := strings.Join([]string{
		"! no peer named bobb (did you mean bob?)",
		"* messages now go to bob",
		"* messages now go to everyone",
		"! unknown command /frobnicate (try /help)",
		"! unknown command /peer (did you mean /peers?)",
		`! bad nickname, unchanged: "bad name" contains a space or control character`,
		"* you are now robert",
		"! no peer named dave (/peers lists them)",
		"* trusted the current key of carol",
		"! no peer named zed (/peers lists them)",
		fmt.Sprintf("! message too long: %d bytes, at most %d; nothing sent", peer.MaxTextBytes+1, peer.MaxTextBytes),
	}, "\n") + "\n"
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	wantSent := []sendCall{
		{"", "hello everyone"},
		{"k1", "hi bob"},
		{"k1", "just for bob"},
		{"", "大家好"},
		{"", "/slash"},
	}
	if s := n.sends(); !reflect.DeepEqual(s, wantSent) {
		t.Errorf("sent %q, want %q", s, wantSent)
	}
	if !reflect.DeepEqual(n.trusted, []string{"k2"}) {
		t.Errorf("trusted %q", n.trusted)
	}
	if n.Name() != "robert" {
		t.Errorf("name = %q", n.Name())
	}
}

func TestRunPlainSendErrors(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("peer: %w", peer.ErrNoPeers), "! no peers yet, nothing sent (peers appear by themselves when someone on this network starts p2pchat)"},
		{fmt.Errorf("peer: %w", peer.ErrQueueFull), "! not sent: too many messages waiting for everyone; try again when they are delivered"},
		{fmt.Errorf("peer: %w", peer.ErrEmpty), "! empty message, nothing sent"},
		{fmt.Errorf("peer: %w (it has 40000)", peer.ErrTooLong), "! message too long: 2 bytes, at most 32768; nothing sent"},
		{fmt.Errorf("peer: %w", peer.ErrClosed), "! not sent: p2pchat is shutting down"},
		{errors.New("disk on fire\x1b[2J"), "! not sent to everyone: an unknown error"},
	}
	for _, tt := range tests {
		n := newFakeNode(testPeers()...)
		n.sendErr = tt.err
		if got := run(t, n, Config{}, "hi\n"); got != tt.want+"\n" {
			t.Errorf("Send error %v: printed %q, want %q", tt.err, got, tt.want)
		}
	}
	// No peers at all: the real error path of the fake node, and no
	// suggestion for an unknown name.
	n := newFakeNode()
	got := run(t, n, Config{}, "hi\n/to bob hi\n")
	want := "! no peers yet, nothing sent (peers appear by themselves when someone on this network starts p2pchat)\n" +
		"! no peer named bob (no peers yet)\n"
	if got != want {
		t.Errorf("no peers:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunPlainPeersWhoisHelp(t *testing.T) {
	n := newFakeNode(testPeers()...)
	got := run(t, n, Config{}, "/peers\n/whois carol\n/whois\n/whois bobby\n/help\n")
	for _, want := range []string{
		"name   address        transport  last seen\n",
		"bob    10.0.0.5:7117  udp        never\n",
		"carol\n  id           k2\n",
		"  learned via  traffic\n",
		"you are alice\n  fingerprint  AAAA-BBBB-CCCC\n",
		"! no peer named bobby (did you mean bob?)\n",
		"/to NAME TEXT   send TEXT to NAME only (also /msg, /w)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") || strings.Contains(got, "\r") {
		t.Errorf("plain output has escape codes or CR: %q", got)
	}
}

func TestRunPlainLastLineWithoutNewlineAndCRLF(t *testing.T) {
	n := newFakeNode(testPeers()...)
	run(t, n, Config{}, "first\r\n/to bob second")
	want := []sendCall{{"", "first"}, {"k1", "second"}}
	if s := n.sends(); !reflect.DeepEqual(s, want) {
		t.Errorf("sent %q, want %q", s, want)
	}
}

func TestRunPlainOverlongLineIsSkipped(t *testing.T) {
	n := newFakeNode(testPeers()...)
	huge := strings.Repeat("x", maxLine+10)
	got := run(t, n, Config{}, huge+"\nafter\n")
	if want := fmt.Sprintf("! line too long: %d bytes, at most %d, ignored\n", maxLine+11, maxLine); got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
	if s := n.sends(); !reflect.DeepEqual(s, []sendCall{{"", "after"}}) {
		t.Errorf("sent %q", s)
	}
}

func TestRunJSON(t *testing.T) {
	n := newFakeNode(testPeers()...)
	got := run(t, n, Config{JSON: true, Interactive: true, Color: true}, strings.Join([]string{
		"/all hi",
		"/to bob 你好",
		"/to bobb x",
		"/nope",
		"/to carol",
		"/nick robert",
		"/whois",
		"/peers",
		"/help",
	}, "\n"))
	// "sent" comes from the node as an event: its place among the command
	// results is not fixed.
	var lines, sent []string
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if strings.HasPrefix(l, `{"event":"sent"`) {
			sent = append(sent, l)
		} else {
			lines = append(lines, l)
		}
	}
	slices.Sort(sent)
	if want := []string{`{"event":"sent","to":"all","ids":[1,2]}`, `{"event":"sent","to":"bob","peer_id":"k1","ids":[3]}`}; !slices.Equal(sent, want) {
		t.Errorf("sent events %q, want %q", sent, want)
	}
	want := []string{
		`{"event":"error","text":"no peer named bobb (did you mean bob?)"}`,
		`{"event":"error","text":"unknown command /nope (try /help)"}`,
		`{"event":"info","text":"messages now go to carol"}`,
		`{"event":"info","text":"you are now robert"}`,
		`{"event":"whois","name":"robert","self":true,"fingerprint":"AAAA-BBBB-CCCC"}`,
		`{"event":"peers","peers":[{"name":"bob","nick":"bob","id":"k1","addr":"10.0.0.5:7117","transport":"udp","via":"mdns","last_seen":"","online":true,"pending":0,"fingerprint":"FP-BOB","host":"","away":""},{"name":"carol","nick":"carol","id":"k2","addr":"10.0.0.6:7117","transport":"tcp","via":"traffic","last_seen":"","online":true,"pending":0,"fingerprint":"","host":"","away":""}]}`,
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want)+1, got)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	if !strings.HasPrefix(lines[len(want)], `{"event":"help","text":"/to NAME TEXT`) {
		t.Errorf("help line: %s", lines[len(want)])
	}
}

// pipeShell runs Run on an io.Pipe so the test can interleave input and
// events. Lines come from Out through a channel.
type pipeShell struct {
	in     *io.PipeWriter
	lines  chan string
	done   chan error
	cancel context.CancelFunc
}

func startPipeShell(t *testing.T, n *fakeNode, cfg Config) *pipeShell {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pipeShell{in: inW, lines: make(chan string, 100), done: make(chan error, 1), cancel: cancel}
	cfg.Node, cfg.In, cfg.Out = n, inR, outW
	go func() {
		p.done <- Run(ctx, cfg)
		outW.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		<-p.done
	})
	return p
}

func (p *pipeShell) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatal("output ended")
		}
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no output line within 5s")
	}
	return ""
}

func TestRunPlainEventsWhileWaitingForInput(t *testing.T) {
	n := newFakeNode(testPeers()...)
	p := startPipeShell(t, n, Config{Color: true, Bell: true})
	ts := time.Date(2026, 3, 4, 9, 7, 0, 0, time.Local)
	n.events <- peer.Event{Kind: peer.EvJoined, Peer: "dave", Addr: "10.0.0.9:7117", Time: ts}
	if got := p.next(t); got != "09:07 * dave joined (10.0.0.9:7117)" {
		t.Errorf("got %q", got)
	}
	n.events <- peer.Event{Kind: peer.EvDelivered, Peer: "bob", ID: 1, Time: ts}
	n.events <- peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "alice", Text: "psst\x1b[8m", Time: ts}
	// Not interactive: no colour, no bell, delivered not shown.
	if got := p.next(t); got != "09:07 bob → you: psst" {
		t.Errorf("got %q", got)
	}
	io.WriteString(p.in, "/to carol\n")
	if got := p.next(t); got != "* messages now go to carol" {
		t.Errorf("got %q", got)
	}
	n.events <- peer.Event{Kind: peer.EvRenamed, OldName: "carol", Peer: "caroline", PeerID: "k2", Time: ts}
	if got := p.next(t); got != "09:07 * carol is now caroline" {
		t.Errorf("got %q", got)
	}
	n.mu.Lock()
	n.peers[1].Name = "caroline"
	n.mu.Unlock()
	io.WriteString(p.in, "still to her\n")
	io.WriteString(p.in, "/help\n") // the output of /help proves the line before was done
	p.next(t)
	if s := n.sends(); !reflect.DeepEqual(s, []sendCall{{"k2", "still to her"}}) {
		t.Errorf("after rename the target should follow: sent %q", s)
	}
}

func TestRunJSONEvents(t *testing.T) {
	n := newFakeNode(testPeers()...)
	p := startPipeShell(t, n, Config{JSON: true})
	ts := time.Date(2026, 3, 4, 9, 7, 0, 0, time.UTC)
	n.events <- peer.Event{Kind: peer.EvMessage, Peer: "bob", PeerID: "k1", To: "all", Text: "a\nb", Time: ts}
	n.events <- peer.Event{Kind: peer.EvDelivered, Peer: "bob", PeerID: "k1", ID: 7, Time: ts}
	n.events <- peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "k1", ID: 8, Reason: peer.ReasonNoAnswer, Text: "no answer (still trying)", Time: ts}
	for _, want := range []string{
		`{"event":"message","from":"bob","peer_id":"k1","to":"all","text":"a\nb","time":"2026-03-04T09:07:00Z"}`,
		`{"event":"delivered","to":"bob","peer_id":"k1","id":7,"time":"2026-03-04T09:07:00Z"}`,
		`{"event":"pending","to":"bob","peer_id":"k1","id":8,"code":"no-answer","reason":"no answer (still trying)","time":"2026-03-04T09:07:00Z"}`,
	} {
		if got := p.next(t); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestRunReturnsOnCancelWhileReading(t *testing.T) {
	n := newFakeNode()
	p := startPipeShell(t, n, Config{})
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
		p.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx was cancelled")
	}
}

func TestRunReturnsWhenNodeCloses(t *testing.T) {
	n := newFakeNode()
	p := startPipeShell(t, n, Config{})
	close(n.events)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		p.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the node closed")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }

func TestRunReportsReadError(t *testing.T) {
	err := Run(context.Background(), Config{Node: newFakeNode(), In: errReader{}, Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "read failed") {
		t.Errorf("Run = %v, want the read error", err)
	}
}

func TestRunQuitAliasesAndEOF(t *testing.T) {
	for _, script := range []string{"/exit\nhi\n", "/quit\nhi\n", ""} {
		n := newFakeNode(testPeers()...)
		run(t, n, Config{}, script)
		if s := n.sends(); len(s) != 0 {
			t.Errorf("%q: sent %q after quitting", script, s)
		}
	}
}

// TestRunPasteBlock: a piped script sends a message with line breaks as a
// /paste ... /end block: one message, its lines as they are (a line
// starting with a slash too); a block to an unknown name, or cut short by
// the end of input, sends nothing.
func TestRunPasteBlock(t *testing.T) {
	n := newFakeNode(testPeers()...)
	out := run(t, n, Config{}, strings.Join([]string{
		"/paste",
		"first line",
		"  indented /second",
		"/to carol not a command here",
		"/end",
		"/paste bob",
		"for bob",
		"",
		"after a blank line",
		"/end",
		"/paste nobody",
		"lost",
		"/end",
		"/to carol",
		"/paste",
		"carol's",
		"block",
		"/end",
		"/end",
		"/paste",
		"never ended",
	}, "\n"))
	want := []sendCall{
		{"", "first line\n  indented /second\n/to carol not a command here"},
		{"k1", "for bob\n\nafter a blank line"},
		{"k2", "carol's\nblock"},
	}
	if !slices.Equal(n.sent, want) {
		t.Errorf("sent %q\nwant %q", n.sent, want)
	}
	for _, w := range []string{"! no peer named nobody", "! the /paste block was not sent (no such peer)",
		"! /end without /paste", "! input ended inside a /paste block (no /end): the block was not sent"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestRunMe: /me sends an action to the current target, in the text, as
// "/me TEXT"; /me alone is a usage error.
func TestRunMe(t *testing.T) {
	n := newFakeNode(testPeers()...)
	out := run(t, n, Config{}, "/me waves\n/to bob\n/me nods\n/me\n")
	want := []sendCall{{"", "/me waves"}, {"k1", "/me nods"}}
	if !slices.Equal(n.sent, want) {
		t.Errorf("sent %q, want %q", n.sent, want)
	}
	if !strings.Contains(out, "! usage: /me TEXT") {
		t.Errorf("output:\n%s", out)
	}
}
