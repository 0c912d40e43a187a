package transfer

import (
	"fmt"
	"time"
)

// EventKind names what happened to a transfer. The values are the "event"
// field of p2pchat's -json output.
type EventKind string

// Event kinds.
const (
	EvOffer    EventKind = "offer"            // a peer offers files: the user accepts or rejects it (Hint)
	EvOffered  EventKind = "offered"          // our offer went out; waiting for the peer
	EvAccepted EventKind = "accepted"         // the offer was accepted (by the peer, by us, or automatically)
	EvProgress EventKind = "progress"         // Bytes of Total moved (at most 4 a second per transfer)
	EvResumed  EventKind = "transfer-resumed" // data flows again after a pause
	EvDone     EventKind = "transfer-done"    // one file arrived and verified (Last: the transfer is complete)
	EvFailed   EventKind = "transfer-failed"  // Code; Resumable: paused, it continues by itself when the peer is back
)

// Code says why a transfer failed or paused. The values are the "code"
// field of transfer-failed events.
type Code string

// Codes.
const (
	CodeRejected       Code = "rejected"       // the receiver rejected the offer
	CodeCancelled      Code = "cancelled"      // we cancelled it
	CodePeerCancelled  Code = "peer-cancelled" // the peer cancelled it
	CodeLinkLost       Code = "link-lost"      // the data connection broke (resumable)
	CodeHashMismatch   Code = "hash-mismatch"  // a file's SHA-256 is not the offered one: its data was discarded
	CodeSourceChanged  Code = "source-changed" // a file being sent changed or shrank
	CodeSourceError    Code = "source-error"   // a file being sent could not be read
	CodeDiskError      Code = "disk-error"     // a file could not be written (disk full?): the partial file is kept
	CodeBadOffer       Code = "bad-offer"      // the offer named a file that would land outside the downloads folder
	CodeBusy           Code = "busy"           // the receiver has too many offers waiting
	CodeUnknown        Code = "unknown"        // the peer no longer knows this transfer
	CodeProtocol       Code = "protocol"       // the peer broke the protocol
	CodeStopped        Code = "stopped"        // p2pchat stopped (resumable when restarted with the same home)
	CodePeerFailed     Code = "peer-failed"    // the peer gave up on it
	CodeNotAcceptedYet Code = "not-accepted"   // p2pchat stopped while the offer waited
	CodeTimeout        Code = "timeout"        // given up: the offer was not answered, or no progress, for Config.GiveUpAfter
	CodeOfferExpired   Code = "offer-expired"  // receiver: the sender stopped repeating its undecided offer, or went offline; it is gone
)

// Event is one thing that happened to a transfer. Names that came from the
// network (peer, files) are validated but not stripped of terminal
// controls: printing is the shell's job. Incoming file names are the
// sanitised ones.
type Event struct {
	Kind      EventKind
	Time      time.Time
	ID        int    // the local transfer id (/accept ID)
	Direction string // "send" or "receive"
	Peer      string // display name
	PeerID    string
	Files     []string // offer, offered: the files' names
	Bytes     int64    // progress, done: bytes moved so far (done: the file's size)
	Total     int64    // all files' bytes
	Path      string   // done: where the file is (receiver: its final path; sender: the source); accepted by us: the downloads folder
	Auto      bool     // accepted by us: without asking, by Config.AcceptFrom
	SHA256    string   // done: hex
	Last      bool     // done: the transfer is complete
	Code      Code     // failed
	Resumable bool     // failed: not final, it continues when possible
	// Count: failed with code bad-offer (ID 0): the offers of that peer
	// this event stands for. Refusals are reported at most once a peer
	// every 10 s: the first at once, the next ones together, with the
	// latest one's name.
	Count int
	// First and NumFiles: the transfer's first file (its display name:
	// the sanitised one when receiving) and how many files it has, for
	// the shell to name the transfer (every event with an ID).
	First    string
	NumFiles int
	File     string        // done: the file's name as offered; failed with code bad-offer: the name refused
	Note     Note          // what the shell says about the event, where its kind and code do not tell
	Err      error         // failed: what went wrong (a pause's cause, the refused name's fault): an *Error, a Cause and its fields, which the shell words
	Limit    time.Duration // failed with note unanswered or stalled: Config.GiveUpAfter
	Hint     Hint          // what the user can do next about it (the shell names the command)
}

// Note says which notice a transfer-failed event is, where its code does
// not (the codes are the "code" field of -json output, so fixed); the
// shell words it from the event's fields.
type Note string

// Notes.
const (
	NoteNone        Note = ""
	NotePaused      Note = "paused"      // failed, resumable: stopped at Bytes of Total because of Err; it resumes when the peer is back
	NoteInterrupted Note = "interrupted" // failed, resumable: found unfinished at start; it resumes when the peer is back
	NoteQuitting    Note = "quitting"    // failed: an outgoing transfer stopped because p2pchat quits
	NoteRefused     Note = "refused"     // failed with code bad-offer: Peer offered File, refused because of Err

	// Final failures.
	NoteRejected      Note = "rejected"       // we rejected the offer
	NoteCancelled     Note = "cancelled"      // we cancelled the transfer
	NoteNotSent       Note = "not-sent"       // source-error: a file could not be read (Err); source-changed: File changed while it was read
	NotePeerRejected  Note = "peer-rejected"  // the peer rejected our offer: Code rejected, busy or bad-offer
	NotePeerCancelled Note = "peer-cancelled" // the peer cancelled: Code peer-cancelled, unknown or peer-failed
	NoteUnanswered    Note = "unanswered"     // timeout: the peer did not answer the offer in Limit
	NoteStalled       Note = "stalled"        // timeout: no progress in Limit, at Bytes of Total; Err: the last connection's end (nil: there was none)
	NoteFailed        Note = "failed"         // the data connection ended it for good: Err
)

// Hint says what the user can do next about a transfer; the shell words it
// with the names of its commands and the transfer's ID.
type Hint string

// Hints.
const (
	HintNone   Hint = ""
	HintDecide Hint = "decide" // offer: accept or reject it
	HintCancel Hint = "cancel" // offered: cancel it while the peer decides
	HintDrop   Hint = "drop"   // failed, resumable: cancel it instead of waiting for the peer
)

// DecidedError is the answer of Accept and Reject for an offer that was
// decided already (accepted, or over), and of Cancel for a transfer that
// is over. Its Error text is for logs: the shell words it.
type DecidedError struct {
	ID    int
	State State
}

func (e *DecidedError) Error() string {
	return fmt.Sprintf("transfer %d is %s already", e.ID, e.State)
}

// Info is one transfer as /transfers lists it.
type Info struct {
	ID        int
	Direction string
	Peer      string
	PeerID    string
	Files     int
	Name      string // the first file's name
	Bytes     int64
	Total     int64
	Rate      float64 // bytes a second while data flowed in the current connection
	State     State
	Code      Code
}
