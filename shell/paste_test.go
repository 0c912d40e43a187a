package shell

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTermParser: keys pass through whole, however the terminal's bytes are
// split between reads; a paste comes out as one item with its text; focus
// reports and Alt-Enter are recognised.
func TestTermParser(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string // items, rendered by render
	}{
		{"keys", "hello", "k(hello)"},
		{"arrow keys pass", "a\x1b[Db\x1bOA", "k(a\x1b[Db\x1bOA)"},
		{"alt-b passes", "\x1bb", "k(\x1bb)"},
		{"paste", "hi \x1b[200~one\ntwo\r\nthree\x1b[201~!", "k(hi )p(one\ntwo\r\nthree)k(!)"},
		{"paste with escapes inside", "\x1b[200~a\x1b[2Jb\x1b[201~", "p(a\x1b[2Jb)"},
		{"focus", "\x1b[Ia\x1b[O", "f(in)k(a)f(out)"},
		{"alt-enter", "a\x1b\rb", "k(a␤b)"},
		{"stray paste end", "a\x1b[201~b", "k(ab)"},
	} {
		for split := 1; split <= len(tc.in); split++ {
			var p termParser
			var items []termItem
			for i := 0; i < len(tc.in); i += split {
				items = append(items, p.feed([]byte(tc.in[i:min(i+split, len(tc.in))]))...)
			}
			items = append(items, p.timeout()...)
			if got := render(items); got != tc.want {
				t.Errorf("%s, read %d bytes at a time: %q, want %q", tc.name, split, got, tc.want)
			}
		}
	}
}

// render shows items compactly, adjacent keys joined.
func render(items []termItem) string {
	var b strings.Builder
	var keys []byte
	flush := func() {
		if len(keys) > 0 {
			b.WriteString("k(" + string(keys) + ")")
			keys = nil
		}
	}
	for _, it := range items {
		switch {
		case it.paste != nil:
			flush()
			b.WriteString("p(" + *it.paste + ")")
		case it.focus == 1:
			flush()
			b.WriteString("f(in)")
		case it.focus == 2:
			flush()
			b.WriteString("f(out)")
		case it.big > 0:
			flush()
			b.WriteString("big")
		default:
			keys = append(keys, it.keys...)
		}
	}
	flush()
	return b.String()
}

// TestPastedExpand: what liner is given for a paste, and what comes back
// from the line liner returns.
func TestPastedExpand(t *testing.T) {
	long := strings.Repeat("line\n", 11) + "last"
	tab := "func f() {\n\treturn\n}"
	for _, tc := range []struct {
		name, paste string
		typed       func(shown string) string // the line the user submits
		wantShown   string
		want        string
		wantPasted  bool
	}{
		{"short", "a\nb\r\nc\n", func(s string) string { return "x " + s + " y" }, "a␤b␤c", "x a\nb\nc y", false},
		{"long", long, func(s string) string { return "see: " + s }, "[pasted 12 lines]", "see: " + long, true},
		{"tabs", tab, func(s string) string { return s }, "[pasted 3 lines]", tab, true},
		{"summary deleted", long, func(string) string { return "nothing" }, "[pasted 12 lines]", "nothing", false},
	} {
		f := newInputFilter(io.Discard)
		shown := f.pasted(tc.paste)
		if shown != tc.wantShown {
			t.Errorf("%s: shown %q, want %q", tc.name, shown, tc.wantShown)
		}
		got, pasted := f.expand(tc.typed(shown))
		if got != tc.want || pasted != tc.wantPasted {
			t.Errorf("%s: expanded to %q (pasted %v), want %q (%v)", tc.name, got, pasted, tc.want, tc.wantPasted)
		}
	}
	// Two pastes with the same summary, the first deleted by hand: the
	// second is the one put back.
	f := newInputFilter(io.Discard)
	f.pasted(long)
	second := strings.Replace(long, "last", "second", 1)
	f.pasted(second)
	if got, _ := f.expand("[pasted 12 lines]"); got != second {
		t.Errorf("got %q, want the second paste", got)
	}
}

// TestFilterRun: the filter between a terminal and liner's pipe writes keys
// and pastes in order and records focus.
func TestFilterRun(t *testing.T) {
	var out bytes.Buffer
	f := newInputFilter(&out)
	var focus []bool
	f.onFocus = func(in bool) { focus = append(focus, in) }
	f.run(strings.NewReader("\x1b[Ihi \x1b[200~a\nb\x1b[201~\r\x1b[O"))
	if got := out.String(); got != "hi a␤b\r" {
		t.Errorf("liner got %q", got)
	}
	if len(focus) != 2 || !focus[0] || focus[1] || f.focused() {
		t.Errorf("focus reports %v, focused now %v", focus, f.focused())
	}
}

func TestSavePaste(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pastes")
	text := strings.Repeat("x", 40000)
	p, err := savePaste(dir, text, time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != text+"\n" || !strings.HasPrefix(filepath.Base(p), "paste-20261207-030405-") {
		t.Errorf("%s: %d bytes, %v", p, len(b), err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

// closeRecorder is a writer that records whether it was closed.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestFilterStop: stop ends the filter's reading of a pollable input (so
// keys typed as p2pchat ends are left to the next program) without
// closing liner's pipe; the input's own end closes it.
func TestFilterStop(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	out := &closeRecorder{}
	f := newInputFilter(out)
	go f.run(r)
	f.stop(r)
	<-f.readDone
	if out.closed {
		t.Errorf("stop closed liner's pipe")
	}
	w.WriteString("left for the shell")
	buf := make([]byte, 64)
	r.SetReadDeadline(time.Time{})
	n, _ := r.Read(buf)
	if string(buf[:n]) != "left for the shell" {
		t.Errorf("after stop, the input still held %q", buf[:n])
	}

	out = &closeRecorder{}
	f = newInputFilter(out)
	f.run(strings.NewReader("abc"))
	if !out.closed || out.String() != "abc" {
		t.Errorf("at the end of input: closed %v, liner got %q", out.closed, out.String())
	}
}
