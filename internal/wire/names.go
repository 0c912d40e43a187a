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

// NameCause says what is wrong with a name.
type NameCause string

// Causes of a *NameError.
const (
	NameEmpty   NameCause = "empty"    // nothing
	NameNotUTF8 NameCause = "not-utf8" // not valid UTF-8
	NameTooLong NameCause = "too-long" // Runes characters, more than MaxNameRunes
	NameAtSlash NameCause = "at-slash" // it contains '@' or '/'
	NameSpace   NameCause = "space"    // it contains a space or a control character
)

// NameError is ValidName's error: a Cause and the fields its words need
// (errors.Is(err, ErrBadName) holds). Its Error text is for logs and
// start-up messages; the shell words it from the fields.
type NameError struct {
	Cause NameCause
	Name  string // the name refused (not for NameNotUTF8)
	Runes int    // NameTooLong: its length in characters
}

func (e *NameError) Error() string {
	switch e.Cause {
	case NameEmpty:
		return ErrBadName.Error() + ": empty"
	case NameNotUTF8:
		return ErrBadName.Error() + ": not UTF-8"
	case NameTooLong:
		return fmt.Sprintf("%v: %d characters, at most %d", ErrBadName, e.Runes, MaxNameRunes)
	case NameAtSlash:
		return fmt.Sprintf("%v: %q may not contain '@' or '/'", ErrBadName, e.Name)
	}
	return fmt.Sprintf("%v: %q contains a space or control character", ErrBadName, e.Name)
}

// Is reports that a NameError is ErrBadName.
func (e *NameError) Is(target error) bool { return target == ErrBadName }

// ValidName reports whether name may be used as a nickname: 1 to
// MaxNameRunes printable characters, no spaces, no '@' (used to tell two
// peers of the same name apart) and no '/'. Its error is a *NameError.
func ValidName(name string) error {
	if name == "" {
		return &NameError{Cause: NameEmpty}
	}
	if !utf8.ValidString(name) {
		return &NameError{Cause: NameNotUTF8}
	}
	if n := utf8.RuneCountInString(name); n > MaxNameRunes {
		return &NameError{Cause: NameTooLong, Name: name, Runes: n}
	}
	if strings.ContainsAny(name, "@/") {
		return &NameError{Cause: NameAtSlash, Name: name}
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return &NameError{Cause: NameSpace, Name: name}
		}
	}
	return nil
}
