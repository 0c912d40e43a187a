package rooms

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"#lunch", "#lunch", nil},
		{"#Lunch", "#lunch", nil},
		{"#LUNCH", "#lunch", nil},
		{"#午饭", "#午饭", nil},
		{"#team-3_b", "#team-3_b", nil},
		{"#ΣΟΦΙΑ", "#σοφια", nil},
		{"#σοφιας", "#σοφιασ", nil},      // final sigma folds with sigma
		{"#\u212Aelvin", "#kelvin", nil}, // Kelvin sign
		{"#Straße", "#straße", nil},
		{"#" + strings.Repeat("a", 32), "#" + strings.Repeat("a", 32), nil},
		{"#" + strings.Repeat("午", 32), "#" + strings.Repeat("午", 32), nil},
		{"", "", ErrNameEmpty},
		{"#", "", ErrNameEmpty},
		{"lunch", "", ErrNameNoHash},
		{"#" + strings.Repeat("a", 33), "", ErrNameLong},
		{"#lunch time", "", ErrNameChar},
		{"#lunch!", "", ErrNameChar},
		{"##lunch", "", ErrNameChar},
		{"#e\u0301", "", ErrNameChar}, // combining mark: two spellings of é
		{"#a\x00", "", ErrNameChar},
		{"#\xff", "", ErrNameNotUTF8},
		{"#a@b", "", ErrNameChar},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseName(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
		var code Code
		if tt.err != nil && !errors.As(err, &code) {
			t.Errorf("ParseName(%q): error %v carries no Code", tt.in, err)
		}
	}
}

// TestFoldCanonical: every letter folds to a letter whose fold is itself,
// and every member of a fold orbit folds alike, so names equal under
// strings.EqualFold have one id.
func TestFoldCanonical(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) {
			continue
		}
		f := fold(r)
		if !unicode.IsLetter(f) || fold(f) != f {
			t.Fatalf("fold(%U) = %U, not a fixed letter (fold again %U)", r, f, fold(f))
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if unicode.IsLetter(o) && fold(o) != f {
				t.Fatalf("fold(%U) = %U but fold(%U) = %U", r, f, o, fold(o))
			}
		}
	}
	a, _ := ParseName("#LunchΣ")
	b, _ := ParseName("#lUNCHς")
	if a != b || OpenID(a) != OpenID(b) {
		t.Fatalf("%q and %q: different rooms", a, b)
	}
}
