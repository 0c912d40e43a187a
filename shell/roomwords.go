package shell

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// roomWarningWords is what a warning of the rooms says, from its code and
// fields. The Error text of its Err (roomsnet's, for logs) is not shown;
// an operating system's error is said in its own words.
func roomWarningWords(e roomsnet.Event) string {
	switch e.Code {
	case roomsnet.CodeNotRestored:
		return fmt.Sprintf("room %s not restored: %s", oneLine(e.Room), restoreWords(e.Err))
	case roomsnet.CodeNotSaved:
		what := "the rooms' state"
		if e.File != "" {
			what = "rooms/" + oneLine(e.File)
		}
		if e.Room != "" {
			what += " (" + oneLine(e.Room) + ")"
		}
		return "cannot save " + what + ": " + osWords(e.Err)
	case roomsnet.CodeBindingsDamaged:
		return fmt.Sprintf("%s (kept aside as rooms/%s.damaged): the signing keys of peers met before are forgotten; /invite needs each online again",
			fileWords(e.Err), oneLine(e.File))
	case roomsnet.CodeDamaged:
		var fe *roomsnet.FileError
		if !errors.As(e.Err, &fe) {
			return fmt.Sprintf("rooms/%s is damaged", oneLine(e.File))
		}
		words := oneLine(fe.File) + ": " + fileWords(fe)
		switch {
		case fe.Kind == roomsnet.FileJournal:
			words += fmt.Sprintf(" (%d records replayed)", e.Count)
		case fe.Kind == roomsnet.FileRoom:
			words += fmt.Sprintf(" (kept aside as rooms/%s.damaged): that room is forgotten", oneLine(fe.File))
		case fe.Kind == roomsnet.FileSeqs:
			words += " (kept aside as rooms/seqs.damaged)"
		}
		return words
	}
	return "a warning (" + oneLine(string(e.Code)) + ")"
}

// fileKindWords names the rooms' files.
var fileKindWords = map[roomsnet.FileKind]string{
	roomsnet.FileRoom:     "room file",
	roomsnet.FileJournal:  "journal",
	roomsnet.FileSeqs:     "seqs file",
	roomsnet.FileBindings: "bindings file",
}

// fileWords says what is wrong with a file of the rooms' folder (err, a
// *roomsnet.FileError).
func fileWords(err error) string {
	var fe *roomsnet.FileError
	if !errors.As(err, &fe) {
		return "a damaged file"
	}
	kind := fileKindWords[fe.Kind]
	if kind == "" {
		kind = "file"
	}
	if fe.Damage == roomsnet.DamageUnread {
		return "cannot read the " + kind + ": " + osWords(fe.Err)
	}
	// where is the damaged record or entry, for those with records.
	where := ""
	switch fe.Kind {
	case roomsnet.FileJournal:
		where = fmt.Sprintf("record %d (at byte %d, %d bytes from there not read)", fe.Record, fe.Offset, fe.Rest)
	case roomsnet.FileBindings:
		where = fmt.Sprintf("entry %d", fe.Record)
	case roomsnet.FileSeqs:
		where = fmt.Sprintf("line %d", fe.Record)
	}
	var what string
	switch fe.Damage {
	case roomsnet.DamageNotOurs:
		what = "not a " + kind
	case roomsnet.DamageChecksum:
		what = "its checksum does not match"
		if fe.Kind == roomsnet.FileJournal {
			what = where + " fails its checksum"
		}
	case roomsnet.DamageSize:
		what = fmt.Sprintf("%d bytes, more than a %s holds", fe.Size, kind)
	case roomsnet.DamageDecode:
		what = "its contents do not decode"
	case roomsnet.DamageCutShort:
		what = "cut short"
		if where != "" {
			what = where + " is cut short"
		}
	case roomsnet.DamageRecord:
		what = "a malformed entry"
		if where != "" {
			what = where + " is malformed"
		}
	case roomsnet.DamageTooMany:
		what = fmt.Sprintf("%d entries, at most %d", fe.Size, fe.Max)
	case roomsnet.DamageTrailing:
		what = fmt.Sprintf("%d bytes after the last entry", fe.Size)
	default:
		what = "damaged"
	}
	return "damaged " + kind + ": " + what
}

// restoreWords says why a room's saved state was refused (err wraps a
// rooms.Code).
func restoreWords(err error) string {
	var c rooms.Code
	if !errors.As(err, &c) {
		return "its saved state was refused"
	}
	switch c {
	case rooms.ErrNotCanonical:
		return "its saved name is not a valid room name"
	case rooms.ErrShort:
		return "its saved member list is cut short"
	case rooms.ErrTrailing:
		return "its saved member list has bytes after its end"
	case rooms.ErrVersion:
		return "its saved member list is of another version"
	case rooms.ErrBadField:
		return "its saved member list has a field out of its range"
	case rooms.ErrTooBig:
		return "its saved member list has more members than a room can have"
	case rooms.ErrWrongID:
		return "its saved member list has a room id that does not match its name"
	case rooms.ErrSignature:
		return "its saved member list has a signature that does not verify"
	case rooms.ErrRoomsFull:
		return fmt.Sprintf("you are in %d rooms already, the most there can be", rooms.MaxRooms)
	case rooms.ErrAlreadyJoined:
		return "a room of that name was restored already"
	}
	return "its saved state was refused"
}

// osWords is an operating system's error in its own words ("no space
// left on device"); the text of any other error is not shown.
func osWords(err error) string {
	if text, ok := osText(err); ok {
		return text
	}
	return "an unknown error"
}

// osText is the operating system's own text for err, if err wraps one
// of its errors.
func osText(err error) (string, bool) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error(), true
	}
	return "", false
}
