package peer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Limits on what users and peers may send. Anything longer from the network
// is dropped; from the keyboard it is refused with an error.
const (
	// MaxNameRunes is the longest nickname, in characters.
	MaxNameRunes = wire.MaxNameRunes
	// MaxTextBytes is the longest message, in bytes of UTF-8 (about 10,000
	// Chinese characters or 32,000 Latin ones).
	MaxTextBytes = wire.MaxTextBytes
	// DefaultPort is the UDP (chat) and TCP (fallback) port p2pchat uses
	// unless told otherwise.
	DefaultPort = 7117
)

// Bounds of the outbox: the text of our messages not yet acknowledged
// (with at most Timing.QueueLimit messages per peer). With a Store they are
// also the store's bounds.
const (
	OutboxPeerBytes = 4 << 20  // waiting for one peer
	OutboxBytes     = 64 << 20 // waiting for all peers together
	maxOutPeerBytes = OutboxPeerBytes
	maxOutBytes     = OutboxBytes
)

// Errors returned by Node methods; test with errors.Is (and errors.As
// for the fields of a *QueueFullError or a *wire.NameError). Their text is
// for logs: the shell words each one.
var (
	ErrUnknownPeer = errors.New("no such peer")
	ErrNoPeers     = errors.New("no peers yet")
	ErrEmpty       = errors.New("empty message")
	ErrTooLong     = fmt.Errorf("message longer than %d bytes", MaxTextBytes)
	ErrNotUTF8     = errors.New("peer: text not UTF-8")
	ErrQueueFull   = errors.New("too many messages waiting") // a *QueueFullError says which queue
	ErrBadName     = wire.ErrBadName                         // a *wire.NameError says why
	ErrClosed      = errors.New("node closed")
	ErrAwayTooLong = errors.New("peer: away text too long")  // SetAway: longer than MaxAwayBytes
	ErrAwayNotUTF8 = errors.New("peer: away text not UTF-8") // SetAway
	ErrOwnName     = errors.New("peer: trust: our own name") // Trust: the peer uses our own name, which it cannot have
)

// ValidName reports whether name may be used as a nickname: 1 to
// MaxNameRunes printable characters, no spaces, no '@' (used to tell two
// peers of the same name apart) and no '/'.
func ValidName(name string) error { return wire.ValidName(name) }

// ValidText reports whether text may be sent as a message.
func ValidText(text string) error {
	if strings.TrimSpace(text) == "" {
		return ErrEmpty
	}
	if len(text) > MaxTextBytes {
		return fmt.Errorf("%w (it has %d)", ErrTooLong, len(text))
	}
	if !utf8.ValidString(text) {
		return ErrNotUTF8
	}
	return nil
}

// Bounds on what peers can make a node hold (docs/security.md's table of
// resources lists them with what happens at each).
const (
	maxPeers      = 512  // address book entries; past it an offline peer owed nothing is forgotten
	maxTombstones = 4096 // forgotten peers whose stream position is kept
	strangerRate  = 200  // sealed packets from unknown keys opened per second

	maxReorderAhead     = 256      // how far past a gap a message may be (an honest window is 64)
	maxReorderPeerBytes = 2 << 20  // text one peer may have waiting behind a gap
	maxReorderBytes     = 16 << 20 // text all peers together may have waiting behind gaps

	maxPeerEventBytes = 1 << 20 // one peer's messages waiting for the user
	maxEventBytes     = 8 << 20 // all messages waiting for the user
	maxEvents         = 4096    // notices (joined, renamed, ...) waiting for the user
	maxNoticeBytes    = 2 << 20 // their text and names, with eventOverhead each

	maxAnswers         = 1024 // stranger prefixes (/24, /64) remembered for rate-limiting answers (receive.go)
	answerRate         = 10   // answers a second to one stranger prefix
	answerBurst        = 10   // answers at once to one stranger prefix
	probeAnswerRate    = 200  // answers a second (and at once) to all strangers together
	maxVersionWarnings = 256  // addresses warned about an incompatible version (the newest)
	versionWarnRate    = 1    // EvVersions a second for new addresses (one stranger can send from many keys and ports, or spoof addresses)
	versionWarnBurst   = 10
)
