package rooms

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseName checks a room name as typed ("#Lunch", "#午饭") and returns
// its folded form ("#lunch"), the one used on the wire, in ids and for
// comparison: '#' then 1 to MaxNameRunes letters (any script), decimal
// digits, '-' or '_'. Folding is Unicode simple case folding, each
// letter replaced by the lower case of the smallest letter of its
// fold orbit, so names equal under strings.EqualFold fold alike ('K',
// 'k' and the Kelvin sign all become 'k'). Combining marks are refused:
// without normalisation (NFC) "é" could be spelt two ways, and two rooms
// would look like one.
func ParseName(s string) (string, error) {
	if s == "" || s == "#" {
		return "", ErrNameEmpty
	}
	if !utf8.ValidString(s) {
		return "", ErrNameNotUTF8
	}
	if s[0] != '#' {
		return "", ErrNameNoHash
	}
	body := s[1:]
	if n := utf8.RuneCountInString(body); n > MaxNameRunes {
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrNameLong, n, MaxNameRunes)
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteByte('#')
	for _, r := range body {
		switch {
		case r == '-' || r == '_' || unicode.IsDigit(r):
			b.WriteRune(r)
		case unicode.IsLetter(r):
			b.WriteRune(fold(r))
		default:
			return "", fmt.Errorf("%w: %U", ErrNameChar, r)
		}
	}
	return b.String(), nil
}

// fold is letter r's canonical case: the lower case of the smallest
// letter of its simple fold orbit (the same for every letter of the
// orbit; U+0345, a combining mark, shares the orbit of iota).
func fold(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m && unicode.IsLetter(f) {
			m = f
		}
	}
	return unicode.ToLower(m)
}

// canonicalName reports whether s is a valid name already folded.
func canonicalName(s string) bool {
	c, err := ParseName(s)
	return err == nil && c == s
}
