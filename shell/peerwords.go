package shell

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// peerErrors words the sentinel errors of peer's commands (Send, SetAway,
// Trust, SetName, Unsend); queueWords, nameWords and diskWords word the
// ones with fields. The Error text of peer's errors is for logs: it never
// reaches the screen.
var peerErrors = []struct {
	err   error
	words string
}{
	{peer.ErrUnknownPeer, "no such peer"},
	{peer.ErrNoPeers, "no peers yet"},
	{peer.ErrEmpty, "empty message"},
	{peer.ErrTooLong, fmt.Sprintf("message longer than %d bytes", peer.MaxTextBytes)},
	{peer.ErrNotUTF8, "the message is not valid UTF-8"},
	{peer.ErrClosed, "p2pchat is shutting down"},
	{peer.ErrAwayTooLong, fmt.Sprintf("away text longer than %d bytes", peer.MaxAwayBytes)},
	{peer.ErrAwayNotUTF8, "away text is not valid UTF-8"},
	{peer.ErrOwnName, "that peer uses your own name: it cannot have it"},
	{peer.ErrQueueFull, "too many messages waiting"},
	{peer.ErrBadName, "invalid name"},
}

// peerErrWords words err, an error of a peer command or the Err of a
// peer event: by its type and fields, or by the sentinel it wraps; the
// text of any other error is not shown (but an operating system's error,
// which is said in its own words).
func peerErrWords(err error) string {
	var qf *peer.QueueFullError
	var ne *wire.NameError
	switch {
	case errors.As(err, &qf):
		return queueWords(qf)
	case errors.As(err, &ne):
		return nameWords(ne)
	}
	for _, w := range peerErrors {
		if errors.Is(err, w.err) {
			return w.words
		}
	}
	return diskWords(err)
}

// queueWords says which bound of the outbox a message did not fit in.
func queueWords(e *peer.QueueFullError) string {
	switch e.Queue {
	case peer.QueuePeerCount:
		return fmt.Sprintf("%d messages for %s are not yet acknowledged (at most %d)", e.Have, e.Peer, e.Max)
	case peer.QueuePeerBytes:
		return fmt.Sprintf("%d KiB of messages for %s are not yet acknowledged (at most %d KiB)", e.Have>>10, e.Peer, e.Max>>10)
	case peer.QueueAllBytes:
		return fmt.Sprintf("%d MiB of messages wait for their recipients (at most %d MiB)", e.Have>>20, e.Max>>20)
	case peer.QueueEvery:
		return "every queue is full"
	case peer.QueueBook:
		return "the address book is full"
	}
	return "too many messages waiting"
}

// nameWords says what is wrong with a nickname.
func nameWords(e *wire.NameError) string {
	switch e.Cause {
	case wire.NameEmpty:
		return "empty"
	case wire.NameNotUTF8:
		return "not UTF-8"
	case wire.NameTooLong:
		return fmt.Sprintf("%d characters, at most %d", e.Runes, wire.MaxNameRunes)
	case wire.NameAtSlash:
		return fmt.Sprintf("%q may not contain '@' or '/'", e.Name)
	case wire.NameSpace:
		return fmt.Sprintf("%q contains a space or control character", e.Name)
	}
	return "invalid name"
}

// diskWords words an error of the message store or of a file: the
// store's sentinels in words, plus the operating system's own error text
// (": no space left on device") where there is one; the text of any other
// error is not shown.
func diskWords(err error) string {
	var pe *fs.PathError
	sys, _ := osText(err)
	words := ""
	switch {
	case errors.Is(err, store.ErrFull):
		return "the message store is full"
	case errors.Is(err, store.ErrClosed):
		return "the message store is closed"
	case errors.Is(err, store.ErrLocked):
		return "another p2pchat is using this home directory"
	case errors.Is(err, store.ErrNoSpace):
		words = "the disk holding the home directory is full"
	case sys != "" && errors.As(err, &pe):
		words = "a disk error on " + pe.Path
	case sys != "":
		words = "a disk error"
	default:
		return "an unknown error"
	}
	if sys != "" {
		words += ": " + sys
	}
	return words
}

// leftReasons words why a peer left (a left event's Code, a pending
// event's Left): in the terminal, and as the -json "reason" value, which
// scripts match ("quit", "no answer"): keep those values.
var leftReasons = map[peer.Code]struct{ words, json string }{
	peer.CodeQuit:     {"quit", "quit"},
	peer.CodeNoAnswer: {"no answer", "no answer"},
}

// leftWords is why a peer left, in words ("" if the code is unknown).
func leftWords(c peer.Code) string { return leftReasons[c].words }

// leftJSON is the -json "reason" of a left event.
func leftJSON(c peer.Code) string {
	if r, ok := leftReasons[c]; ok {
		return r.json
	}
	return string(c)
}

// bucketWords names the message store's buckets.
var bucketWords = map[string]string{
	store.BucketOut:  "outbox",
	store.BucketIn:   "inbox",
	store.BucketPos:  "sender positions",
	store.BucketMeta: "counters",
}

// damageWords says what the message store found damaged when it opened
// and what it did about it. What was wrong with a rebuilt file (d.Why,
// the checker's words) goes to the log, not here.
func damageWords(d *store.Damage) string {
	if d == nil {
		return "the message store is damaged"
	}
	switch d.Kind {
	case store.DamageShownMark:
		return fmt.Sprintf("message store: the shown mark (HOME/%s) is damaged: messages received since the last good mark may be shown again", d.File)
	case store.DamageMetaFixed:
		return fmt.Sprintf("message store: a flipped bit in a meta page of %s was found and set right", d.File)
	case store.DamageMetaTorn:
		return fmt.Sprintf("message store: one of the two meta pages of %s is damaged (a write torn by a crash?): the last change before it may be lost", d.File)
	case store.DamageRebuilt:
		return fmt.Sprintf("message store: %s was damaged; it was moved to %s and %d records were recovered from it (messages already delivered may be sent again, already shown may show again)",
			d.File, d.Aside, d.Count)
	case store.DamageRecord:
		where := bucketWords[d.Bucket]
		if where == "" {
			where = "an unknown bucket"
		}
		switch {
		case d.Bucket == store.BucketIn && d.HasEntry:
			return fmt.Sprintf("message store: damaged record in %s (entry %d), skipped", where, d.Entry)
		case d.Key != "" && d.HasEntry:
			return fmt.Sprintf("message store: damaged record in %s for key %s… (message %d), skipped", where, d.Key, d.Entry)
		case d.Key != "":
			return fmt.Sprintf("message store: damaged record in %s for key %s…, skipped", where, d.Key)
		}
		return fmt.Sprintf("message store: damaged record in %s, skipped", where)
	}
	return "the message store is damaged"
}
