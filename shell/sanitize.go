package shell

import (
	"strings"
	"unicode/utf8"
)

// Sanitize makes a peer-controlled string safe to print on a terminal.
//
// It removes escape sequences (CSI "ESC [", OSC "ESC ]", DCS, SOS, PM, APC
// and the short "ESC x" forms, also when introduced by their 8-bit C1
// codes), every other C0 and C1 control character, DEL, and the Unicode
// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) that can make text display in a different order than it
// is stored. Invalid UTF-8 becomes U+FFFD. A tab becomes four spaces.
//
// Line breaks are kept but normalised: "\r\n", a lone "\r", U+0085 (NEL),
// U+2028 and U+2029 all become "\n", so no raw carriage return can ever
// overwrite what is already on the line. Callers printing a single-line
// field use oneLine; message text is split on "\n" and indented.
//
// Everything else, Chinese and emoji included, passes through untouched.
func Sanitize(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteRune(utf8.RuneError)
			i += max(size, 1)
			continue
		}
		i += size
		switch {
		case r == '\n':
			b.WriteByte('\n')
		case r == '\r':
			b.WriteByte('\n')
			if i < len(s) && s[i] == '\n' {
				i++
			}
		case r == '\t':
			b.WriteString("    ")
		case r == 0x85, r == 0x2028, r == 0x2029:
			b.WriteByte('\n')
		case r == 0x1b:
			i = skipEscape(s, i)
		case r == 0x9b: // 8-bit CSI
			i = skipCSI(s, i)
		case r == 0x90, r == 0x98, r == 0x9d, r == 0x9e, r == 0x9f: // 8-bit DCS, SOS, OSC, PM, APC
			i = skipString(s, i)
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			// other C0/C1 controls and DEL: drop
		case isBidiControl(r):
			// drop
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlain reports whether s can be printed as it is: valid UTF-8 with no
// byte below 0x20 or DEL and no C1 or bidi control. It is the fast path for
// ordinary text.
func isPlain(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r == 0x2028, r == 0x2029, isBidiControl(r):
			return false
		}
	}
	return true
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// skipEscape skips what follows an ESC at s[i-1] and returns the index of
// the first byte after the sequence.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch c := s[i]; {
	case c == '[':
		return skipCSI(s, i+1)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return skipString(s, i+1)
	case c >= 0x20 && c <= 0x2f:
		// intermediate bytes, then one final byte (ESC ( B, ESC # 8, ...)
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		return i + 1 // two-character sequence: ESC c, ESC 7, ESC M, ...
	default:
		return i // lone ESC: drop only the ESC
	}
}

// skipCSI skips the parameter, intermediate and final bytes of a control
// sequence starting at s[i]. A byte that cannot be part of a sequence ends
// it early (and is kept).
func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x20 && c <= 0x3f: // parameters and intermediates
			i++
		case c >= 0x40 && c <= 0x7e: // final byte
			return i + 1
		default:
			return i
		}
	}
	return i
}

// skipString skips a control string (OSC, DCS, SOS, PM, APC body) up to and
// including its terminator: BEL, ESC \ or the 8-bit ST (U+009C). An
// unterminated string runs to the end of s, as it would on a terminal.
func skipString(s string, i int) int {
	for i < len(s) {
		if s[i] == 0x07 {
			return i + 1
		}
		if s[i] == 0x1b {
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i + 1
		}
		if r, size := utf8.DecodeRuneInString(s[i:]); r == 0x9c {
			return i + size
		} else {
			i += size
		}
	}
	return i
}

// oneLine sanitizes a field that must stay on one line (names, addresses,
// reasons): line breaks become spaces.
func oneLine(s string) string {
	s = Sanitize(s)
	if strings.IndexByte(s, '\n') >= 0 {
		s = strings.ReplaceAll(s, "\n", " ")
	}
	return s
}
