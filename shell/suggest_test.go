package shell

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"alice", "bob", "bob@laptop2", "carol", "小明"}
	tests := []struct {
		word string
		want string // "" = no suggestion
	}{
		{"bobb", "bob"},
		{"bo", "bob"},
		{"Bob", "bob"},
		{"BOB", "bob"},
		{"alcie", "alice"}, // swapped neighbours count once
		{"alise", "alice"},
		{"carl", "carol"},
		{"bob@laptop3", "bob@laptop2"},
		{"bob@lpatop", "bob@laptop2"}, // two edits, long word
		{"小名", "小明"},
		{"dave", ""},
		{"bobby", "bob"},
		{"al", ""},
		{"x", ""}, // one edit away from "bob"? no: a complete rewrite is not a typo
		{"zed", ""},
		{"", ""},
		{"bob", ""}, // exact match is not a suggestion
	}
	for _, tt := range tests {
		got, ok := closest(tt.word, names)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("closest(%q) = %q, %v; want %q", tt.word, got, ok, tt.want)
		}
	}
}

func TestClosestTieTakesFirst(t *testing.T) {
	if got, _ := closest("bxb", []string{"bab", "bcb"}); got != "bab" {
		t.Errorf("tie: got %q, want the first candidate", got)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"ab", "ba", 1},
		{"peer", "peers", 1},
		{"你好", "你们好", 1},
		{"ca", "abc", 3}, // optimal string alignment, not full Damerau
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
