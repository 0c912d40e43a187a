package tmuxtest

import (
	"strings"
	"testing"
	"time"
)

func TestParseCapture(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      Screen
		ok        bool
	}{
		{"screen", "$ echo hi   \nhi\n$ \n\n\n3 2\n", Screen{Lines: []string{"$ echo hi", "hi", "$"}, CursorX: 3, CursorY: 2}, true},
		{"empty", "\n\n0 0\n", Screen{CursorX: 0, CursorY: 0}, true},
		{"no cursor", "$ \n", Screen{}, false},
	} {
		got, err := parseCapture(tc.out)
		if (err == nil) != tc.ok || got.String() != tc.want.String() {
			t.Errorf("%s: %v, %v; want %v ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestShellInPane(t *testing.T) {
	p := Start(t, Config{Command: "env PS1='$ ' /bin/sh", Width: 40, Height: 10})
	s := p.WaitScreen(10*time.Second, "the prompt", func(s Screen) bool { return s.Last() == 0 && s.Lines[0] == "$" })
	if s.CursorX != 2 || s.CursorY != 0 {
		t.Errorf("cursor at %d,%d after the prompt, want 2,0", s.CursorX, s.CursorY)
	}
	p.Type("stty size; echo 'done here'")
	p.Keys("Enter")
	s = p.WaitScreen(10*time.Second, "the answer", func(s Screen) bool { return s.Find(`^done here$`) >= 0 })
	if i := s.Find(`^\d+ \d+$`); i < 0 || s.Lines[i] != "10 40" {
		t.Errorf("the pane is not 40x10:\n%s", s)
	}
	if got := strings.Join(s.Lines, "\n"); got != "$ stty size; echo 'done here'\n10 40\ndone here\n$" {
		t.Errorf("screen:\n%s", got)
	}
}
