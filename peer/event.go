package peer

import "time"

// EventKind names what happened. The string values are the "event" field of
// p2pchat's -json output, so they are part of the user-visible contract.
type EventKind string

// Event kinds, delivered on Node.Events.
const (
	EvJoined    EventKind = "joined"    // Peer, Addr: a peer appeared
	EvLeft      EventKind = "left"      // Peer, Text (reason: "quit" or "no answer"): a peer left
	EvMessage   EventKind = "message"   // Peer (sender), To ("all" or our name), Text, Time, Idx
	EvSent      EventKind = "sent"      // Peer (recipient, or "all"), PeerID ("" for /all), IDs: messages Send queued are saved and on their way
	EvDelivered EventKind = "delivered" // Peer (recipient), ID: a message was acknowledged
	EvPending   EventKind = "pending"   // Peer (recipient), ID, Reason, Text: not delivered yet, still trying
	EvFailed    EventKind = "failed"    // Peer (recipient), ID, Reason, Text: given up, never delivered
	EvRenamed   EventKind = "renamed"   // OldName -> Peer: a peer changed its nickname
	EvWarning   EventKind = "warning"   // Text: something the user must know (impostor key, bad version, full queue)
	EvInfo      EventKind = "info"      // Text: a quiet notice (switched to TCP, queue flushed)
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
	Text    string    // message text; warning/info text; failed or left reason
	ID      uint64    // delivered/failed: the local message id returned by Send
	OldName string    // renamed: the name the peer had before
	Reason  Reason    // pending, failed: why, as a machine-readable code
	IDs     []uint64  // sent: the ids Send returned
	Idx     uint64    // message, on a node with a Store: its place in the inbox; call Node.Shown(Idx) once it is on the screen
	Version int       // version: the peer's protocol version (ours is wire.Version)
	// Code names a warning the user interface words from the fields
	// (Peer, Name, Fingerprint); Text is empty then.
	Code        Code
	Name        string // warning: the nickname the peer claims
	Fingerprint string // warning: the peer's key fingerprint
	// App is non-zero on the events of application payloads (app.go):
	// EvApp, and the sent, delivered, pending and failed of SendApp's
	// payloads. Their consumer is the application, not the user.
	App byte
	Key [32]byte // app: the sender's public key
}

// Code names a warning about a peer's name. The user interface words it:
// it names the commands (/whois, /trust) the user answers it with.
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
