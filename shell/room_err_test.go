package shell

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// errRooms answers every command of the rooms with err.
type errRooms struct{ err error }

func (f errRooms) Join(string, bool) (string, error)     { return "", f.err }
func (f errRooms) Part(string) (string, error)           { return "", f.err }
func (f errRooms) Post(string, string, bool) error       { return f.err }
func (f errRooms) Topic(string) (string, string, error)  { return "", "", f.err }
func (f errRooms) Rooms() []rooms.Info                   { return nil }
func (f errRooms) Invite(string, string) (string, error) { return "", f.err }
func (f errRooms) Kick(string, string) (string, error)   { return "", f.err }
func (f errRooms) Known(string) (string, string, error)  { return "", "", f.err }
func (f errRooms) Events() <-chan roomsnet.Event         { return nil }
func (f errRooms) Waiting() int                          { return 0 }
func (f errRooms) History(string, int) (string, []roomsnet.Event, error) {
	return "", nil, f.err
}
func (f errRooms) Names(string) (string, []roomsnet.Member, bool, error) {
	return "", nil, false, f.err
}

// roomCmdOut is what the shell prints for a rooms command cmd when the
// rooms answer err.
func roomCmdOut(err error, cmd string, json bool) string {
	return executed(Config{Node: newFakeNode(testPeers()...), Rooms: errRooms{err}, JSON: json}, cmd)
}

// roomEventOut is what the shell prints for a room event.
func roomEventOut(e roomsnet.Event, json bool) string { return shown(e, json) }

// enospc is a write that failed on a full disk, as os returns it.
func enospc(path string) error {
	return &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
}

// roomWordsCases are the warnings of the rooms, each code and each kind of
// damage, as the user reads them (wordsCases includes them).
func roomWordsCases() []wordsCase {
	journal := "0123456789abcdef.journal"
	return []wordsCase{
		{"room not restored",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeNotRestored, Room: "#lunch", Err: fmt.Errorf("member list: %w", rooms.ErrSignature)},
			"14:05 ! rooms: room #lunch not restored: its saved member list has a signature that does not verify",
			`{"event":"warning","code":"not-restored","room":"#lunch","text":"room #lunch not restored: its saved member list has a signature that does not verify","time":"TIME"}`},
		{"room not restored, rooms full",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeNotRestored, Room: "#lunch", Err: rooms.ErrRoomsFull},
			"14:05 ! rooms: room #lunch not restored: you are in 32 rooms already, the most there can be",
			`{"event":"warning","code":"not-restored","room":"#lunch","text":"room #lunch not restored: you are in 32 rooms already, the most there can be","time":"TIME"}`},
		{"room journal damaged",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, Room: "#lunch", File: journal, Count: 29,
				Err: &roomsnet.FileError{Kind: roomsnet.FileJournal, File: journal, Damage: roomsnet.DamageChecksum, Record: 30, Offset: 4410, Rest: 300}},
			"14:05 ! rooms: 0123456789abcdef.journal: damaged journal: record 30 (at byte 4410, 300 bytes from there not read) fails its checksum (29 records replayed)",
			`{"event":"warning","code":"damaged","room":"#lunch","file":"0123456789abcdef.journal","text":"0123456789abcdef.journal: damaged journal: record 30 (at byte 4410, 300 bytes from there not read) fails its checksum (29 records replayed)","time":"TIME"}`},
		{"room journal cut short",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, Room: "#lunch", File: journal, Count: 29,
				Err: &roomsnet.FileError{Kind: roomsnet.FileJournal, File: journal, Damage: roomsnet.DamageCutShort, Record: 30, Offset: 4410, Rest: 5}},
			"14:05 ! rooms: 0123456789abcdef.journal: damaged journal: record 30 (at byte 4410, 5 bytes from there not read) is cut short (29 records replayed)",
			`{"event":"warning","code":"damaged","room":"#lunch","file":"0123456789abcdef.journal","text":"0123456789abcdef.journal: damaged journal: record 30 (at byte 4410, 5 bytes from there not read) is cut short (29 records replayed)","time":"TIME"}`},
		{"room journal unreadable",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, Room: "#lunch", File: journal,
				Err: &roomsnet.FileError{Kind: roomsnet.FileJournal, File: journal, Damage: roomsnet.DamageUnread,
					Err: &fs.PathError{Op: "open", Path: "/home/a/.p2pchat/rooms/" + journal, Err: syscall.EACCES}}},
			"14:05 ! rooms: 0123456789abcdef.journal: cannot read the journal: permission denied (0 records replayed)",
			`{"event":"warning","code":"damaged","room":"#lunch","file":"0123456789abcdef.journal","text":"0123456789abcdef.journal: cannot read the journal: permission denied (0 records replayed)","time":"TIME"}`},
		{"room file damaged",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, File: "0123456789abcdef.room",
				Err: &roomsnet.FileError{Kind: roomsnet.FileRoom, File: "0123456789abcdef.room", Damage: roomsnet.DamageDecode, Err: errors.New("gob: its own words")}},
			"14:05 ! rooms: 0123456789abcdef.room: damaged room file: its contents do not decode (kept aside as rooms/0123456789abcdef.room.damaged): that room is forgotten",
			`{"event":"warning","code":"damaged","file":"0123456789abcdef.room","text":"0123456789abcdef.room: damaged room file: its contents do not decode (kept aside as rooms/0123456789abcdef.room.damaged): that room is forgotten","time":"TIME"}`},
		{"room file too big",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, File: "0123456789abcdef.room",
				Err: &roomsnet.FileError{Kind: roomsnet.FileRoom, File: "0123456789abcdef.room", Damage: roomsnet.DamageSize, Size: 99 << 20}},
			"14:05 ! rooms: 0123456789abcdef.room: damaged room file: 103809024 bytes, more than a room file holds (kept aside as rooms/0123456789abcdef.room.damaged): that room is forgotten",
			`{"event":"warning","code":"damaged","file":"0123456789abcdef.room","text":"0123456789abcdef.room: damaged room file: 103809024 bytes, more than a room file holds (kept aside as rooms/0123456789abcdef.room.damaged): that room is forgotten","time":"TIME"}`},
		{"seqs damaged",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, File: "seqs",
				Err: &roomsnet.FileError{Kind: roomsnet.FileSeqs, File: "seqs", Damage: roomsnet.DamageRecord, Record: 3}},
			"14:05 ! rooms: seqs: damaged seqs file: line 3 is malformed (kept aside as rooms/seqs.damaged)",
			`{"event":"warning","code":"damaged","file":"seqs","text":"seqs: damaged seqs file: line 3 is malformed (kept aside as rooms/seqs.damaged)","time":"TIME"}`},
		{"seqs not ours",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeDamaged, File: "seqs",
				Err: &roomsnet.FileError{Kind: roomsnet.FileSeqs, File: "seqs", Damage: roomsnet.DamageNotOurs}},
			"14:05 ! rooms: seqs: damaged seqs file: not a seqs file (kept aside as rooms/seqs.damaged)",
			`{"event":"warning","code":"damaged","file":"seqs","text":"seqs: damaged seqs file: not a seqs file (kept aside as rooms/seqs.damaged)","time":"TIME"}`},
		{"bindings damaged",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeBindingsDamaged, File: "bindings",
				Err: &roomsnet.FileError{Kind: roomsnet.FileBindings, File: "bindings", Damage: roomsnet.DamageChecksum}},
			"14:05 ! rooms: damaged bindings file: its checksum does not match (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again",
			`{"event":"warning","code":"bindings-damaged","file":"bindings","text":"damaged bindings file: its checksum does not match (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again","time":"TIME"}`},
		{"bindings entry",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeBindingsDamaged, File: "bindings",
				Err: &roomsnet.FileError{Kind: roomsnet.FileBindings, File: "bindings", Damage: roomsnet.DamageRecord, Record: 2, Err: errors.New("rooms: bad-signature")}},
			"14:05 ! rooms: damaged bindings file: entry 2 is malformed (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again",
			`{"event":"warning","code":"bindings-damaged","file":"bindings","text":"damaged bindings file: entry 2 is malformed (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again","time":"TIME"}`},
		{"bindings too many",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeBindingsDamaged, File: "bindings",
				Err: &roomsnet.FileError{Kind: roomsnet.FileBindings, File: "bindings", Damage: roomsnet.DamageTooMany, Size: 5000, Max: 4096}},
			"14:05 ! rooms: damaged bindings file: 5000 entries, at most 4096 (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again",
			`{"event":"warning","code":"bindings-damaged","file":"bindings","text":"damaged bindings file: 5000 entries, at most 4096 (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again","time":"TIME"}`},
		{"bindings trailing",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeBindingsDamaged, File: "bindings",
				Err: &roomsnet.FileError{Kind: roomsnet.FileBindings, File: "bindings", Damage: roomsnet.DamageTrailing, Size: 3}},
			"14:05 ! rooms: damaged bindings file: 3 bytes after the last entry (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again",
			`{"event":"warning","code":"bindings-damaged","file":"bindings","text":"damaged bindings file: 3 bytes after the last entry (kept aside as rooms/bindings.damaged): the signing keys of peers met before are forgotten; /invite needs each online again","time":"TIME"}`},
		{"room not saved",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeNotSaved, Room: "#lunch", File: journal,
				Err: &roomsnet.SaveError{File: journal, Err: enospc("/home/a/.p2pchat/rooms/" + journal)}},
			"14:05 ! rooms: cannot save rooms/0123456789abcdef.journal (#lunch): no space left on device",
			`{"event":"warning","code":"not-saved","room":"#lunch","file":"0123456789abcdef.journal","text":"cannot save rooms/0123456789abcdef.journal (#lunch): no space left on device","time":"TIME"}`},
		{"bindings not saved",
			roomsnet.Event{Kind: roomsnet.EvWarning, Code: roomsnet.CodeNotSaved, File: "bindings",
				Err: &roomsnet.SaveError{File: "bindings", Err: errors.New("roomsnet: its own words")}},
			"14:05 ! rooms: cannot save rooms/bindings: an unknown error",
			`{"event":"warning","code":"not-saved","file":"bindings","text":"cannot save rooms/bindings: an unknown error","time":"TIME"}`},
		{"kicked",
			roomsnet.Event{Kind: roomsnet.EvLeft, Room: "#secret", RoomID: "0011", Peer: "alice", PeerID: "a1", Code: roomsnet.CodeKicked},
			"14:05 #secret * you were removed from #secret by its creator",
			`{"event":"room-left","room":"#secret","room_id":"0011","name":"alice","peer_id":"a1","reason":"kicked","time":"TIME"}`},
	}
}

// TestRoomEventWords: each warning of the rooms, in the terminal and in
// -json, exactly (before, the shell printed the Err's text or the
// store's line as it was: "damaged journal: record 30 at byte 4410:
// checksum (300 bytes after it not read)", "roomsnet: journal: write
// ...: no space left on device", "rooms: bad-signature").
func TestRoomEventWords(t *testing.T) {
	ts := at.Format(time.RFC3339)
	for _, tc := range roomWordsCases() {
		for _, json := range []bool{false, true} {
			want := tc.plain
			if json {
				want = strings.ReplaceAll(tc.json, "TIME", ts)
			}
			if got := strings.TrimSuffix(roomEventOut(tc.ev.(roomsnet.Event), json), "\n"); got != want {
				t.Errorf("%s (json %v):\n got %s\nwant %s", tc.name, json, got, want)
			}
		}
	}
}

// TestRoomEventWordsEveryCode: every code of roomsnet's events, every kind
// of damage and every kind of file has a line in roomWordsCases, so that
// its words are pinned there.
func TestRoomEventWordsEveryCode(t *testing.T) {
	codes := map[roomsnet.Code]bool{}
	damages := map[roomsnet.Damage]bool{}
	kinds := map[roomsnet.FileKind]bool{}
	for _, tc := range roomWordsCases() {
		e := tc.ev.(roomsnet.Event)
		codes[e.Code] = true
		var fe *roomsnet.FileError
		if errors.As(e.Err, &fe) {
			damages[fe.Damage], kinds[fe.Kind] = true, true
		}
	}
	for _, c := range roomsnet.Codes() {
		if !codes[c] {
			t.Errorf("roomsnet code %q has no line in roomWordsCases", c)
		}
	}
	for _, d := range []roomsnet.Damage{roomsnet.DamageNotOurs, roomsnet.DamageChecksum, roomsnet.DamageSize, roomsnet.DamageDecode,
		roomsnet.DamageCutShort, roomsnet.DamageRecord, roomsnet.DamageTooMany, roomsnet.DamageTrailing, roomsnet.DamageUnread} {
		if !damages[d] {
			t.Errorf("damage %q has no line in roomWordsCases", d)
		}
	}
	for _, k := range []roomsnet.FileKind{roomsnet.FileRoom, roomsnet.FileJournal, roomsnet.FileSeqs, roomsnet.FileBindings} {
		if !kinds[k] {
			t.Errorf("file kind %q has no line in roomWordsCases", k)
		}
	}
}

// TestRoomErrTextNotShown: the Error text of roomsnet's errors (and of
// the errors it passes on: peer's, the operating system's, anyone's) is
// for logs: it never reaches the screen or -json, neither as a rooms
// command's answer nor in a warning. Before, roomWords fell back to
// err.Error() ("roomsnet: nonce: ...", "peer: SendAppOnce: ...") and the
// warnings printed their Err as it was.
func TestRoomErrTextNotShown(t *testing.T) {
	errs := []error{
		fmt.Errorf("roomsnet: nonce: %w", errors.New("its own words")),
		errors.New("roomsnet: its own words"),
		fmt.Errorf("peer: SendAppOnce: app %d, %d bytes", 3, 70000),
		&roomsnet.SaveError{File: "0123456789abcdef.room", Err: enospc("/home/a/.p2pchat/rooms/.room-123")},
		&roomsnet.FileError{Kind: roomsnet.FileJournal, File: "x.journal", Damage: roomsnet.DamageChecksum, Record: 3, Offset: 9, Rest: 1},
		&roomsnet.FileError{Kind: roomsnet.FileRoom, File: "x.room", Damage: roomsnet.DamageDecode, Err: errors.New("gob: its own words")},
		&roomsnet.FileError{Kind: roomsnet.FileBindings, File: "bindings", Damage: roomsnet.DamageRecord, Err: rooms.ErrSignature},
		fmt.Errorf("%w: bob", roomsnet.ErrAmbiguous),
		roomsnet.ErrNoBinding,
		&peer.QueueFullError{Queue: peer.QueuePeerCount, Peer: "bob", Have: 1024, Max: 1024},
		fmt.Errorf("member list: %w", rooms.ErrSignature),
	}
	cmds := []string{"/join #lunch", "/join #lunch private", "/part #lunch", "/to #lunch hi", "/topic #lunch hi", "/topic #lunch",
		"/names #lunch", "/history #lunch", "/invite bob #lunch", "/kick bob #lunch", "/invite dave #lunch"}
	for _, err := range errs {
		for _, json := range []bool{false, true} {
			for _, cmd := range cmds {
				got := roomCmdOut(err, cmd, json)
				if strings.Contains(got, err.Error()) {
					t.Errorf("%s (json %v) shows the error's text %q: %s", cmd, json, err, got)
				}
			}
			for _, code := range roomsnet.Codes() {
				e := roomsnet.Event{Kind: roomsnet.EvWarning, Code: code, Room: "#lunch", File: "x.journal", Err: err}
				if got := roomEventOut(e, json); strings.Contains(got, err.Error()) {
					t.Errorf("warning %s (json %v) shows the error's text %q: %s", code, json, err, got)
				}
			}
		}
	}
}

// TestRoomErrWords: the errors of the rooms' commands that are not a
// rooms.Code (TestRoomWordsEveryCode has those), as the user reads them.
func TestRoomErrWords(t *testing.T) {
	cases := []struct {
		err   error
		cmd   string
		words string
	}{
		{roomsnet.ErrNoBinding, "/invite bob #lunch", "that peer's signing key is not known yet: it must be online once (then it is kept across restarts)"},
		{fmt.Errorf("%w: dave", roomsnet.ErrAmbiguous), "/invite dave #lunch", "more than one peer met before was called dave: invite the one you mean while it is online"},
		{fmt.Errorf("%w: dave", peer.ErrUnknownPeer), "/invite dave #lunch", "no peer named dave (/peers lists them)"},
		{peer.ErrUnknownPeer, "/kick bob #lunch", "no such peer"},
		{&peer.QueueFullError{Queue: peer.QueuePeerCount, Peer: "bob", Have: 1024, Max: 1024}, "/to #lunch hi",
			"too many messages wait for a member: 1024 messages for bob are not yet acknowledged (at most 1024)"},
		{&peer.QueueFullError{Queue: peer.QueueAllBytes, Have: 64 << 20, Max: 64 << 20}, "/topic #lunch hi",
			"too many messages wait for a member: 64 MiB of messages wait for their recipients (at most 64 MiB)"},
		{fmt.Errorf("peer: %w", peer.ErrClosed), "/to #lunch hi", "p2pchat is shutting down"},
		{fmt.Errorf("roomsnet: nonce: %w", errors.New("its own words")), "/join #lunch private", "an unknown error"},
		{fmt.Errorf("peer: SendAppOnce: app %d, %d bytes", 3, 70000), "/to #lunch hi", "an unknown error"},
		{errNoSpace, "/to #lunch hi", "the disk holding the home directory is full: no space left on device"},
		{rooms.Code("a-code-not-yet-known"), "/join #lunch", "refused (a-code-not-yet-known)"},
	}
	for _, tc := range cases {
		for _, json := range []bool{false, true} {
			want := "! " + tc.words + "\n"
			if json {
				want = `{"event":"error","text":"` + tc.words + "\"}\n"
			}
			if got := roomCmdOut(tc.err, tc.cmd, json); got != want {
				t.Errorf("%v, %s (json %v):\n got %s\nwant %s", tc.err, tc.cmd, json, got, want)
			}
		}
	}
}
