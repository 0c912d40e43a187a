package shell

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/peer"
)

// xtermRGB is the colour of a code of xterm's 6x6x6 cube (16-231).
func xtermRGB(n int) (r, g, b int) {
	levels := []int{0, 95, 135, 175, 215, 255}
	n -= 16
	return levels[n/36], levels[n/6%6], levels[n%6]
}

// luminance is WCAG's relative luminance.
func luminance(r, g, b int) float64 {
	lin := func(c int) float64 {
		x := float64(c) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// TestPaletteReadable: every name colour has a contrast ratio of at least
// 3.4 with a black and with a white background, and no two are the same.
func TestPaletteReadable(t *testing.T) {
	seen := map[int]bool{}
	for _, c := range palette {
		if c < 16 || c > 231 || seen[c] {
			t.Fatalf("colour %d: not in the colour cube, or twice", c)
		}
		seen[c] = true
		l := luminance(xtermRGB(c))
		onBlack, onWhite := (l+0.05)/0.05, 1.05/(l+0.05)
		if onBlack < 3.4 || onWhite < 3.4 {
			t.Errorf("colour %d: contrast %.1f on black, %.1f on white; want at least 3.4 on both", c, onBlack, onWhite)
		}
	}
}

// TestColourByID: a peer's name is coloured by its id: the same before and
// after it changes its name (the rename line shows both in it), different
// from another peer showing the very same name; no colour without -color.
func TestColourByID(t *testing.T) {
	f := formatter{color: true}
	msg := func(name, id string) string {
		s, _ := f.event(peer.Event{Kind: peer.EvMessage, Peer: name, PeerID: id, To: "all", Text: "hi", Time: at}, at)
		return s
	}
	code := func(line string) string {
		i := strings.Index(line, "\x1b[38;5;")
		if i < 0 {
			t.Fatalf("no colour in %q", line)
		}
		return line[i : i+strings.IndexByte(line[i:], 'm')+1]
	}
	before := code(msg("bob", "b0b0b0b0b0b0b0b0"))
	after := code(msg("robert", "b0b0b0b0b0b0b0b0"))
	if before != after {
		t.Errorf("bob's colour changed with his name: %q, then %q", before, after)
	}
	renamed, _ := f.event(peer.Event{Kind: peer.EvRenamed, OldName: "bob", Peer: "robert", PeerID: "b0b0b0b0b0b0b0b0", Time: at}, at)
	if want := fmt.Sprintf("14:05 * %sbob\x1b[0m is now %srobert\x1b[0m", before, before); renamed != want {
		t.Errorf("rename line %q, want %q", renamed, want)
	}
	// Another peer calling itself bob: a different colour (ids chosen to
	// differ; the palette has twelve).
	if other := code(msg("bob", "c0c0c0c0c0c0c0c0")); other == before {
		t.Errorf("two peers named bob share the colour %q", other)
	}
	plain, _ := formatter{}.event(peer.Event{Kind: peer.EvMessage, Peer: "bob", PeerID: "b0b0b0b0b0b0b0b0", To: "all", Text: "hi", Time: at}, at)
	if plain != "14:05 bob: hi" {
		t.Errorf("without colour: %q", plain)
	}
}
