package shell

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

func TestPrinterPlain(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, false, nil)
	p.print("one", true)
	p.print("two\n      three", false)
	if got := b.String(); got != "" {
		t.Errorf("plain output written before flush: %q", got)
	}
	p.flush()
	if got := b.String(); got != "one\ntwo\n      three\n" {
		t.Errorf("plain output %q", got)
	}
	p.print("four", false)
	p.close()
	p.print("after close", false)
	p.flush()
	if got := b.String(); got != "one\ntwo\n      three\nfour\n" {
		t.Errorf("close did not write the rest, or printed after it: %q", got)
	}
}

func TestPrinterTerminalNoPrompt(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, true, nil)
	redraws := 0
	p.redraw = func() { redraws++ }
	p.print("a\nb", true)
	if got := b.String(); got != "a\r\nb\r\n\a" {
		t.Errorf("output %q", got)
	}
	if redraws != 0 {
		t.Errorf("redraw requested with no prompt active")
	}
}

// TestPrinterLiveRedraw is the Unix behaviour while liner prompts: erase the
// prompt line, print above it, then one redraw request per print.
func TestPrinterLiveRedraw(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, true, nil)
	p.live = true
	redraws := 0
	p.redraw = func() {
		redraws++
		b.WriteString("<redraw>")
	}
	p.beginPrompt()
	p.print("12:00 bob: hi", false)
	p.print("12:01 bob → you: x\n      y", true)
	p.endPrompt()
	p.print("after", false)
	want := "\r\x1b[2K12:00 bob: hi\r\n<redraw>" +
		"\r\x1b[2K12:01 bob → you: x\r\n      y\r\n\a<redraw>" +
		"after\r\n"
	if got := b.String(); got != want {
		t.Errorf("output\n got %q\nwant %q", got, want)
	}
	if redraws != 2 {
		t.Errorf("%d redraws, want 2", redraws)
	}
}

// TestPrinterHeld is the fallback (Windows): lines wait while the prompt is
// active, the count shows in the next prompt, Enter flushes them.
func TestPrinterHeld(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, true, nil)
	p.live = false
	p.redraw = func() { t.Error("redraw called in held mode") }
	s := &session{pr: p}
	p.beginPrompt()
	p.print("12:00 bob: one", false)
	p.print("12:00 bob: two\n      more", true)
	if got := b.String(); got != "\a" {
		t.Errorf("printed while prompting: %q", got)
	}
	if got := s.prompt(); got != "[all] (3 new)> " {
		t.Errorf("prompt %q", got)
	}
	p.endPrompt()
	if got := b.String(); got != "\a12:00 bob: one\r\n12:00 bob: two\r\n      more\r\n" {
		t.Errorf("flushed %q", got)
	}
	if got := s.prompt(); got != "[all]> " {
		t.Errorf("prompt after flush %q", got)
	}
}

func TestPrinterClose(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, true, nil)
	p.redraw = func() {}
	p.beginPrompt()
	p.close()
	p.print("late", false)
	p.endPrompt()
	if got := b.String(); got != "\r\n" {
		t.Errorf("after close: %q (want only the newline ending the prompt line)", got)
	}
}

func TestPrompt(t *testing.T) {
	tests := []struct{ name, want string }{
		{"", "[all]> "},
		{"bob", "[bob]> "},
		{"小明", "[小明]> "},
		{"evil\x1b[31m\u200e\u202e", "[evil]> "},
		{"averyveryverylongnickname", "[averyveryverylo…]> "},
	}
	for _, tt := range tests {
		n := newFakeNode(peer.PeerInfo{Name: tt.name, ID: "0123456789abcdef"})
		s := &session{node: n, pr: newPrinter(nil, true, nil)}
		if tt.name != "" {
			s.target = "0123456789abcdef"
		}
		if got := s.prompt(); got != tt.want {
			t.Errorf("target %q: prompt %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	names := []string{"bob", "bob@laptop2", "carol", "小明"}
	tests := []struct {
		line string
		pos  int
		head string
		want []string
		tail string
	}{
		{"/p", 2, "", []string{"/peers ", "/paste "}, ""},
		{"/t", 2, "", []string{"/to ", "/trust ", "/transfers "}, ""},
		{"/W", 2, "", []string{"/whois ", "/w "}, ""},
		{"/", 1, "", []string{"/to ", "/all ", "/me ", "/peers ", "/nick ", "/whois ", "/trust ", "/away ", "/history ", "/search ", "/send ", "/accept ", "/reject ", "/cancel ", "/transfers ", "/paste ", "/end ", "/notify ", "/ignore ", "/unignore ", "/help ", "/quit ", "/msg ", "/w ", "/exit "}, ""},
		{"hello", 5, "", nil, ""},
		{"/to b", 5, "/to ", []string{"bob ", "bob@laptop2 "}, ""},
		{"/to  c", 6, "/to  ", []string{"carol "}, ""},
		{"/whois 小", 8, "/whois ", []string{"小明 "}, ""},
		{"/trust C", 8, "/trust ", []string{"carol "}, ""},
		{"/msg ", 5, "/msg ", names2(names), ""},
		{"/to bo hi", 6, "/to ", []string{"bob ", "bob@laptop2 "}, " hi"},
		{"/to bob hi c", 12, "/to bob hi ", nil, ""},
		{"/nick b", 7, "/nick ", nil, ""},
		{"/all b", 6, "/all ", nil, ""},
	}
	for _, tt := range tests {
		head, got, tail := complete(tt.line, tt.pos, names)
		if head != tt.head || tail != tt.tail || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("complete(%q, %d) = %q, %q, %q; want %q, %q, %q", tt.line, tt.pos, head, got, tail, tt.head, tt.want, tt.tail)
		}
	}
}

func names2(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n+" ")
	}
	return out
}

func TestBellOnDirectMessagesAndMentions(t *testing.T) {
	tests := []struct {
		interactive, bell bool
		to, text          string
		want              bool
	}{
		{true, true, "alice", "hi", true},
		{true, true, "all", "hi", false},
		{true, false, "alice", "hi", false},
		{false, true, "alice", "hi", false},
		{true, true, "all", "hey ALICE, look", true},
		{true, true, "all", "alice", true},
		{true, true, "all", "/me waves at Alice!", true},
		{true, true, "all", "malice and alice_2 and alices", false},
	}
	for _, tt := range tests {
		var b strings.Builder
		s := &session{cfg: Config{Interactive: tt.interactive, Bell: tt.bell}, node: newFakeNode(), pr: newPrinter(&b, tt.interactive, nil), now: func() time.Time { return at }}
		s.printEvent(peer.Event{Kind: peer.EvMessage, Peer: "bob", To: tt.to, Text: tt.text, Time: at})
		if got := strings.Contains(b.String(), "\a"); got != tt.want {
			t.Errorf("%+v: bell %v in %q", tt, got, b.String())
		}
	}
}

func TestHighlight(t *testing.T) {
	for _, tc := range []struct{ text, name, want string }{
		{"hi alice", "alice", "hi \x1b[7malice\x1b[27m"},
		{"Alice alice, ALICE", "alice", "\x1b[7mAlice\x1b[27m \x1b[7malice\x1b[27m, \x1b[7mALICE\x1b[27m"},
		{"malice", "alice", "malice"},
		{"张伟你好 张伟", "张伟", "张伟你好 \x1b[7m张伟\x1b[27m"},
	} {
		if got := highlight(tc.text, tc.name); got != tc.want {
			t.Errorf("highlight(%q, %q) = %q, want %q", tc.text, tc.name, got, tc.want)
		}
	}
}

// TestPrinterStatus: a status line (transfer progress) replaces itself in
// place above the prompt, gives way to a normal line, and without a prompt
// stays on the current line until something else is printed.
func TestPrinterStatus(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, true, nil)
	p.live = true
	p.redraw = func() { b.WriteString("<redraw>") }
	p.beginPrompt()
	p.status("10%")
	p.status("20%")
	p.print("12:00 bob: hi", false)
	p.status("30%")
	p.endPrompt()
	p.status("40%")
	p.print("after", false)
	want := "\r\x1b[2K10%\r\n<redraw>" +
		"\r\x1b[2K\x1b[1A\r\x1b[2K20%\r\n<redraw>" +
		"\r\x1b[2K12:00 bob: hi\r\n<redraw>" +
		"\r\x1b[2K30%\r\n<redraw>" +
		"\r\x1b[2K40%" +
		"\r\x1b[2Kafter\r\n"
	if got := b.String(); got != want {
		t.Errorf("output\n got %q\nwant %q", got, want)
	}
	var plain strings.Builder
	q := newPrinter(&plain, false, nil)
	q.status("50%")
	q.flush()
	if plain.Len() != 0 {
		t.Errorf("plain output got a status line: %q", plain.String())
	}
}

// TestPrinterMarksWhatIsOut: the inbox index of a message line is reported
// (Node.Shown) only once the line is out: in plain output at the flush
// that writes it, on a terminal at once; never for a line still buffered
// or held, and never twice.
func TestPrinterMarksWhatIsOut(t *testing.T) {
	var marks []uint64
	mark := func(idx uint64) { marks = append(marks, idx) }

	var plain strings.Builder
	p := newPrinter(&plain, false, mark)
	p.printMsg("bob: one", false, 7)
	p.print("* notice", false)
	p.printMsg("bob: two", false, 8)
	if len(marks) != 0 || plain.Len() != 0 {
		t.Fatalf("before the flush: marks %v, output %q; want none", marks, plain.String())
	}
	p.flush()
	if !slices.Equal(marks, []uint64{8}) || plain.String() != "bob: one\n* notice\nbob: two\n" {
		t.Fatalf("after the flush: marks %v, output %q", marks, plain.String())
	}
	p.flush()
	p.print("* another notice", false)
	p.flush()
	if !slices.Equal(marks, []uint64{8}) {
		t.Fatalf("flushes with no new message line marked again: %v", marks)
	}

	marks = nil
	var term strings.Builder
	q := newPrinter(&term, true, mark)
	q.printMsg("bob: three", false, 9)
	if !slices.Equal(marks, []uint64{9}) {
		t.Fatalf("terminal: marks %v after the line was written, want [9]", marks)
	}
	q.live = false // a system where lines wait while the user types
	q.beginPrompt()
	q.printMsg("bob: four", false, 10)
	if !slices.Equal(marks, []uint64{9}) {
		t.Fatalf("terminal, held line: marked %v before it was shown", marks)
	}
	q.endPrompt()
	if !slices.Equal(marks, []uint64{9, 10}) {
		t.Fatalf("terminal, held line shown at Enter: marks %v, want [9 10]", marks)
	}
}
