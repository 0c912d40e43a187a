package wire

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on names and texts, checked by the decoder for what arrives and by
// package peer for what the user types.
const (
	// MaxNameRunes is the longest nickname, in characters.
	MaxNameRunes = 32
	// MaxTextBytes is the longest message, in bytes of UTF-8 (about 10,000
	// Chinese characters or 32,000 Latin ones).
	MaxTextBytes = 32 * 1024
)

// ErrBadName is wrapped by ValidName's errors.
var ErrBadName = errors.New("invalid name")

// ValidName reports whether name may be used as a nickname: 1 to
// MaxNameRunes printable characters, no spaces, no '@' (used to tell two
// peers of the same name apart) and no '/'.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrBadName)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: not UTF-8", ErrBadName)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameRunes {
		return fmt.Errorf("%w: %d characters, at most %d", ErrBadName, n, MaxNameRunes)
	}
	if strings.ContainsAny(name, "@/") {
		return fmt.Errorf("%w: %q may not contain '@' or '/'", ErrBadName, name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %q contains a space or control character", ErrBadName, name)
		}
	}
	return nil
}
