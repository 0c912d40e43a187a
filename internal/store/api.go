// Package store keeps a node's messages on disk in its home directory, so
// that nothing typed is lost across a quit, a crash or a power cut: the
// outbox (our messages not yet acknowledged, per recipient key), the inbox
// (messages received and acknowledged but maybe not shown yet) and each
// sender's stream position (what we have taken from it, so a message sent
// again after any restart is recognised).
//
// It is a bbolt database (HOME/messages.db) written by one goroutine that
// commits every write waiting at that moment in one transaction (group
// commit: a burst costs one sync). Every record carries a CRC-32C, so a
// damaged record is reported and skipped while the rest is kept. A file
// bbolt could not open safely (a torn or truncated file, a damaged page)
// is checked before bbolt reads it, moved aside as
// messages.db.damaged-<unix time>, and the records whose CRC still holds
// are salvaged into a fresh one. So is a file whose buckets do not hold
// the number of records and the XOR of their CRCs that the last commit
// wrote beside them (a flipped bit in a page header can hide part of a
// tree from bbolt). The home is locked (HOME/shown and
// messages.db are flocked): a second process on the same home gets
// ErrLocked. What has been shown is marked in that small file
// (HOME/shown), written with one pwrite right after the output it marks.
package store

import "errors"

// Key is a peer's public key.
type Key = [32]byte

// OutMsg is one of our messages waiting for its recipient's acknowledgement.
type OutMsg struct {
	ID   uint64 // the node's id of the message (in events), unique in this home
	Seq  uint64 // its place in the stream to that recipient
	Time int64  // when the user sent it, Unix ms
	All  bool   // sent with /all
	Text string
	App  byte // an application payload's kind (wire.KindApp; Text its bytes), 0 for a chat message
}

// OutStream is our stream to one recipient: its wire id, the next seq to
// give, and what still waits.
type OutStream struct {
	Key    Key
	Nick   string // the recipient's label ("bob", "bob@laptop2") when we last queued for it
	Stream uint64
	Next   uint64
	Msgs   []OutMsg // seq order
}

// InPos is where a sender's stream to us stands: every seq below Next of
// stream Stream has been taken (and is in the inbox or was shown).
type InPos struct {
	Stream, Next uint64
}

// InMsg is a received message in the inbox.
type InMsg struct {
	Idx    uint64 // its place in the inbox: increasing, never reused in this home (a Write whose Idx is not above every earlier one fails)
	Key    Key    // the sender
	Nick   string // the sender's label when it arrived
	Stream uint64
	Seq    uint64
	Time   int64 // sender's clock, Unix ms
	All    bool
	Text   string
	App    byte // an application payload's kind (wire.KindApp; Text its bytes), 0 for a chat message
}

// Snapshot is what Open found.
type Snapshot struct {
	Out     []OutStream   // in key order: the streams with messages waiting (a stream emptied by acks or Unsend is dropped; Msgs empty only after salvage)
	In      map[Key]InPos // every sender's position
	Unshown []InMsg       // inbox entries above the shown mark, in Idx order
	LastIdx uint64        // highest Idx ever given (0: none); never below the shown mark
	LastID  uint64        // highest OutMsg.ID ever given (0: none)
	Damaged []Damage      // what was found damaged and what was done about it, one per record skipped
}

// Queued is a message to add to the outbox, with its stream's head.
type Queued struct {
	Key    Key
	Nick   string
	Stream uint64
	Next   uint64 // the stream's next seq after this message
	Msg    OutMsg
}

// MsgRef names one outbox message.
type MsgRef struct {
	Key Key
	Seq uint64
}

// KeyPos is a sender's new position.
type KeyPos struct {
	Key Key
	Pos InPos
}

// Write is one batch of changes, applied atomically and in order with the
// batches before it. Within one Write, Acked and Unsend are applied first,
// then Queue, Inbox and InPos. A Write that would pass a bound fails whole
// with ErrFull. Its slices must not change after Store.Write.
type Write struct {
	Queue  []Queued // new outbox messages (durable before done is called)
	Acked  []MsgRef // acknowledged: removed from the outbox
	Unsend []Key    // every waiting message to these keys removed (and the stream with them)
	Inbox  []InMsg  // received messages (durable before done is called)
	InPos  []KeyPos // senders' new positions, in the same transaction as Inbox
}

// Bounds; Open's defaults are the README's figures.
type Limits struct {
	PeerBytes  int // outbox text bytes for one recipient
	TotalBytes int // outbox text bytes for all recipients
	InboxBytes int // inbox text bytes not yet shown
	Senders    int // sender positions kept (the least recently used go first)
}

// The defaults of Limits' zero fields.
const (
	DefaultPeerBytes  = 4 << 20
	DefaultTotalBytes = 64 << 20
	DefaultInboxBytes = 16 << 20
	DefaultSenders    = 4096
)

// Errors; test with errors.Is.
var (
	ErrLocked  = errors.New("another p2pchat is using this home directory")
	ErrFull    = errors.New("message store is full")
	ErrClosed  = errors.New("message store closed")
	ErrNoSpace = errors.New("no space left on the disk holding the home directory")
)

// The functions the package provides (Open in store.go, Write and Close
// in writer.go, MarkShown in shown.go):
//
//	func Open(dir string, lim Limits, lockWait time.Duration) (*Store, Snapshot, error)
//	func (s *Store) Write(w Write, done func(error)) // queued for the writer; done (may be nil) runs on the writer goroutine, in order, and must not block
//	func (s *Store) MarkShown(idx uint64) error       // synchronous: one pwrite of HOME/shown, no sync
//	func (s *Store) Close() error                     // commits what waits, then closes; a second Close returns ErrClosed
