package peer

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what users and peers may send. Anything longer from the network
// is dropped; from the keyboard it is refused with an error.
const (
	// MaxNameRunes is the longest nickname, in characters.
	MaxNameRunes = 32
	// MaxTextBytes is the longest message, in bytes of UTF-8 (about 10,000
	// Chinese characters or 32,000 Latin ones).
	MaxTextBytes = 32 * 1024
	// DefaultPort is the UDP (chat) and TCP (fallback) port p2pchat uses
	// unless told otherwise.
	DefaultPort = 7117
)

// Errors returned by Node methods; test with errors.Is.
var (
	ErrUnknownPeer = errors.New("no such peer")
	ErrNoPeers     = errors.New("no peers yet")
	ErrEmpty       = errors.New("empty message")
	ErrTooLong     = fmt.Errorf("message longer than %d bytes", MaxTextBytes)
	ErrQueueFull   = errors.New("too many messages waiting")
	ErrBadName     = errors.New("invalid name")
	ErrClosed      = errors.New("node closed")
)

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

// ValidText reports whether text may be sent as a message.
func ValidText(text string) error {
	if strings.TrimSpace(text) == "" {
		return ErrEmpty
	}
	if len(text) > MaxTextBytes {
		return fmt.Errorf("%w (it has %d)", ErrTooLong, len(text))
	}
	if !utf8.ValidString(text) {
		return errors.New("message is not valid UTF-8")
	}
	return nil
}
