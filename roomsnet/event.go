package roomsnet

import "time"

// EventKind names what happened in a room. The string values are the
// "event" field of p2pchat's -json output.
type EventKind string

// Event kinds.
const (
	EvMessage   EventKind = "message"     // Room, RoomID, Peer, PeerID, Text, Time, Seq, Earlier, Mine
	EvJoined    EventKind = "room-joined" // Room, RoomID, Peer, PeerID (ourselves too), Earlier
	EvLeft      EventKind = "room-left"   // Room, RoomID, Peer, PeerID, Text (reason), Code (CodeKicked: removed by the creator)
	EvTopic     EventKind = "topic"       // Room, RoomID, Peer, PeerID, Text (the new topic), Earlier
	EvInvited   EventKind = "invited"     // Room, RoomID, Peer (the creator): we are a member of a private room now
	EvSent      EventKind = "sent"        // Room, RoomID, Seq, Members: our message is on disk and queued for Members members
	EvDelivered EventKind = "delivered"   // Room, RoomID, Seq, Peer, PeerID: a member acknowledged our message
	EvPending   EventKind = "pending"     // Room, RoomID, Seq, Peer, PeerID, Code: not delivered to that member yet
	EvFailed    EventKind = "failed"      // Room, RoomID, Seq, Peer, PeerID, Code: never delivered to that member
	EvWarning   EventKind = "warning"     // Code and File, Err, Room, Count (see the Code constants): a room file, journal, the seqs or the bindings file was damaged, a save failed, a room not restored
)

// Event is one thing the rooms report to the user interface. Strings that
// came from the network are validated by the core (UTF-8, bounds) but not
// stripped of terminal controls: printing is the shell's job.
type Event struct {
	Kind    EventKind
	Room    string // the room's name, folded ("#lunch")
	RoomID  string // rooms.ID.String()
	Peer    string // the author's (or member's) nickname as its message carried it, or its label
	PeerID  string // its node id (peer.KeyID of its identity key)
	Text    string
	Time    time.Time
	Seq     uint64 // the author's seq of the message concerned
	Earlier bool   // arrived by catch-up or late-join history
	Mine    bool   // our own message (a copy of what we said)
	Members int    // sent: members it is queued for
	Code    Code   // pending, failed: the peer reason ("peer-left"); warning: CodeDamaged, CodeNotSaved, CodeNotRestored, CodeBindingsDamaged; left: CodeKicked
	Err     error  // warning not-restored: why the room's saved state was not taken (a rooms.Code); not-saved: why the save failed (a *SaveError, or the OS's error); damaged, bindings-damaged: the damage (a *FileError). Its text is for logs: the shell words its fields
	File    string // warning damaged, bindings-damaged, not-saved: the file's name in the rooms folder
	Count   int    // warning damaged (journal): records replayed before the damage
}
