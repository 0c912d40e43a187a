package peer

import (
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
)

// EventKind names what happened. The string values are the "event" field of
// p2pchat's -json output, so they are part of the user-visible contract.
type EventKind string

// Event kinds, delivered on Node.Events.
const (
	EvJoined    EventKind = "joined"    // Peer, Addr: a peer appeared
	EvLeft      EventKind = "left"      // Peer, Code (why: CodeQuit or CodeNoAnswer): a peer left
	EvMessage   EventKind = "message"   // Peer (sender), To ("all" or our name), Text, Time, Idx
	EvSent      EventKind = "sent"      // Peer (recipient, or "all"), PeerID ("" for /all), IDs: messages Send queued are saved and on their way
	EvDelivered EventKind = "delivered" // Peer (recipient), ID: a message was acknowledged
	EvPending   EventKind = "pending"   // Peer (recipient), ID, Reason, Code (and its fields): not delivered yet, still trying
	EvFailed    EventKind = "failed"    // Peer (recipient), ID, Reason, Code (and its fields): given up, never delivered
	EvRenamed   EventKind = "renamed"   // OldName -> Peer: a peer changed its nickname
	EvWarning   EventKind = "warning"   // Code and its fields: something the user must know (impostor key, full queue, a damaged store)
	EvInfo      EventKind = "info"      // Code and its fields (or Text, from Notice): a quiet notice (switched to TCP, queue flushed)
	EvVersion   EventKind = "version"   // Peer (if known), PeerID (if the packet named a key), Addr, Version: a peer speaks another protocol version; nothing is exchanged with it (once per peer)
	EvApp       EventKind = "app"       // App, Key, Peer, PeerID, Text (the bytes), Time, Idx: an application payload (app.go)
)

// Event is one thing the node reports to the user interface. Every string in
// it that came from the network has been validated (UTF-8, length limits) but
// NOT stripped of terminal controls: printing is the shell's job.
type Event struct {
	Kind    EventKind
	Time    time.Time // when it happened locally (for messages: when sent, per sender clock)
	Peer    string    // display name of the peer concerned (as it was when the event happened)
	PeerID  string    // stable id of the peer concerned (PeerInfo.ID); address peers by it, not by Peer
	Addr    string    // joined: the peer's address "ip:port"
	To      string    // message: "all" for /all, else our own name
	Text    string    // message text; code delivered-late: the message's first 40 characters; warning/info without a Code: its text
	ID      uint64    // delivered/failed: the local message id returned by Send
	OldName string    // renamed: the name the peer had before
	Reason  Reason    // pending, failed: why, as a machine-readable code
	IDs     []uint64  // sent: the ids Send returned
	Idx     uint64    // message, on a node with a Store: its place in the inbox; call Node.Shown(Idx) once it is on the screen
	Version int       // version: the peer's protocol version (ours is wire.Version)
	// Code names a warning, notice, pending or failed event that the user
	// interface words from the fields (Peer, Name, Fingerprint, OldAddr,
	// Count, Left, Err); Text is empty then (but see CodeDeliveredLate).
	Code        Code
	Name        string // warning: the nickname the peer claims
	Fingerprint string // warning: the peer's key fingerprint
	OldAddr     string // moved: the address the peer had before (Addr: its new one)
	Count       int    // waiting, not-restored: how many messages
	Left        Code   // pending peer-left: why the peer left (as EvLeft's Code: CodeQuit, CodeNoAnswer)
	Err         error  // not-sent, pins-not-saved, save-failed, inbox-not-saved: what went wrong
	// Damage: store-damaged: what the message store found damaged when
	// it opened, and what it did about it (its Kind and fields).
	Damage *store.Damage
	// App is non-zero on the events of application payloads (app.go):
	// EvApp, and the sent, delivered, pending and failed of SendApp's
	// payloads. Their consumer is the application, not the user.
	App byte
	Key [32]byte // app: the sender's public key
}

// Code names a warning or notice, why a peer left, or why a message is
// pending or failed more precisely than its Reason. The user interface
// words it from the event's fields: it names the commands (/whois, /trust, /unsend) the
// user answers it with. The values are not in -json output ("code" there
// is the Reason).
type Code string

// Codes.
const (
	// CodeNameOwn: another peer calls itself Name, our own name; it is
	// shown as Peer.
	CodeNameOwn Code = "name-own"
	// CodeNameTaken: another peer is shown as Name already; this one (key
	// Fingerprint) is shown as Peer. /trust Peer gives it the name.
	CodeNameTaken Code = "name-taken"
	// CodeKeyChanged: a peer with a different key than the one pinned to
	// Name claims it; it is shown as Peer. /trust Peer accepts the new key.
	CodeKeyChanged Code = "key-changed"

	// CodeMoved (info): Peer moved from OldAddr to Addr.
	CodeMoved Code = "moved"
	// CodeWaiting (info): Peer left; Count messages wait for it.
	CodeWaiting Code = "waiting"
	// CodeOffline (info): a message to Peer was queued while it is offline.
	CodeOffline Code = "offline"
	// CodeUDPBack (info): UDP to Peer works again.
	CodeUDPBack Code = "udp-back"
	// CodeUDPSilent (info): UDP to Peer gets no answer: TCP is used.
	CodeUDPSilent Code = "udp-silent"
	// CodeDeliveredLate (info): a message reported pending reached Peer
	// after all; Text is its first 40 characters.
	CodeDeliveredLate Code = "delivered-late"
	// CodeTrusted (info): OldName is now trusted as Peer (key Fingerprint).
	CodeTrusted Code = "trusted"
	// CodeNotSent (warning): a message for all was not queued for Peer: Err.
	CodeNotSent Code = "not-sent"
	// CodePinsNotSaved (warning): the trusted peers could not be saved: Err.
	CodePinsNotSaved Code = "pins-not-saved"
	// CodeNotRestored (warning): Count saved messages for Name are not
	// restored: the address book is full.
	CodeNotRestored Code = "not-restored"
	// CodeInboxNotSaved (warning): messages from Peer cannot be saved
	// (Err); they wait at the sender until they can.
	CodeInboxNotSaved Code = "inbox-not-saved"
	// CodeStoreDamaged (warning): the message store found Damage when it
	// opened (one event for each).
	CodeStoreDamaged Code = "store-damaged"

	// Codes of left events (and of a pending event's Left).

	// CodeQuit (left): the peer said goodbye.
	CodeQuit Code = "quit"
	// CodeNoAnswer (left): the peer stopped answering. (Pending,
	// ReasonNoAnswer): no answer yet, still trying.
	CodeNoAnswer Code = "no-answer"

	// Codes of pending and failed events (and no-answer above).
	// CodePeerLeft (pending, ReasonPeerLeft): Peer left (Left); delivered
	// if it comes back.
	CodePeerLeft Code = "peer-left"
	// CodeKept (pending, ReasonQueued): kept on disk; the next run sends it.
	CodeKept Code = "kept"
	// CodeSaving (pending, ReasonQueued): the node stopped while saving it;
	// if the save completes, the next run sends it.
	CodeSaving Code = "saving"
	// CodeStoppedUnsaved (failed, ReasonStopped): the node stopped before
	// it was saved.
	CodeStoppedUnsaved Code = "stopped-unsaved"
	// CodeStoppedUnacked (failed, ReasonStopped): the node (without a
	// store) stopped before it was acknowledged.
	CodeStoppedUnacked Code = "stopped-unacked"
	// CodeSaveFailed (failed, ReasonNotSaved): it could not be saved (Err),
	// so it was not sent.
	CodeSaveFailed Code = "save-failed"
	// CodeUnsent (failed, ReasonUnsent): dropped by Unsend.
	CodeUnsent Code = "unsent"
)

// Reason says why a message is pending or failed. The string values are
// the "code" field of p2pchat's -json output.
type Reason string

// Reasons for EvPending and EvFailed.
const (
	ReasonNoAnswer Reason = "no-answer" // pending: the peer is online but has not acknowledged for a while
	ReasonPeerLeft Reason = "peer-left" // pending: the peer left; delivered if it comes back
	ReasonStopped  Reason = "stopped"   // failed: this node stopped before the peer acknowledged (no Store, or not saved yet: nothing is kept)
	ReasonQueued   Reason = "queued"    // pending: this node stops; the message is kept on disk (or its save is under way) and sent by the next run
	ReasonNotSaved Reason = "not-saved" // failed: it could not be saved (disk full, store full), so it was not sent
	ReasonUnsent   Reason = "discarded" // failed: the user dropped it with Unsend before it was acknowledged
)

// PeerInfo is a snapshot of one address-book entry, for /peers and /whois.
type PeerInfo struct {
	Name        string    // unique display name: "bob" or "bob@laptop2"
	Nick        string    // the nickname the peer claims
	Host        string    // the host name the peer reports
	ID          string    // stable node id, derived from the public key
	Addr        string    // current address "ip:port"
	Transport   string    // "udp" or "tcp": what messages to it use now
	Via         string    // how it was first learned: "mdns", "peer-flag", "traffic"
	LastSeen    time.Time // last authenticated packet from it
	Fingerprint string    // key fingerprint, for reading aloud
	Pending     int       // messages to it not yet acknowledged
	Online      bool      // false while it is gone but messages wait for it
	Away        string    // away text, if the peer set one
}

// Codes lists every Code an event of the node may carry (the user
// interface has words for each).
func Codes() []Code {
	return []Code{
		CodeNameOwn, CodeNameTaken, CodeKeyChanged,
		CodeMoved, CodeWaiting, CodeOffline, CodeUDPBack, CodeUDPSilent, CodeDeliveredLate, CodeTrusted,
		CodeNotSent, CodePinsNotSaved, CodeNotRestored, CodeInboxNotSaved, CodeStoreDamaged,
		CodeQuit, CodeNoAnswer,
		CodePeerLeft, CodeKept, CodeSaving, CodeStoppedUnsaved, CodeStoppedUnacked, CodeSaveFailed, CodeUnsent,
	}
}
