package roomsnet

import (
	"errors"
	"fmt"
)

// Code is what a rooms event is about, beyond its kind: a warning's
// reason, or why we left a room. Package roomsnet words no sentences for
// people: the shell maps codes and fields to lines.
type Code string

// Codes of warnings (EvWarning) and of leaving (EvLeft). Pending and
// failed events carry the peer's reason instead (Code(peer.Reason)).
const (
	CodeDamaged         Code = "damaged"          // warning: a room file, a journal or the seqs file was damaged: File, Err (a *FileError), Room and Count for a journal
	CodeNotSaved        Code = "not-saved"        // warning: a save failed: File, Err (the operating system's), Room if a room's
	CodeNotRestored     Code = "not-restored"     // warning: a room's saved state was refused: Room, Err (a rooms.Code)
	CodeBindingsDamaged Code = "bindings-damaged" // warning: the bindings file was damaged: File, Err (a *FileError)
	CodeKicked          Code = "kicked"           // left: the creator of a private room removed us
)

// Codes lists every code of this package, for tests that check each has
// words.
func Codes() []Code {
	return []Code{CodeDamaged, CodeNotSaved, CodeNotRestored, CodeBindingsDamaged, CodeKicked}
}

// FileKind names which of the rooms' files an error is about.
type FileKind string

// File kinds.
const (
	FileRoom     FileKind = "room"     // a room's snapshot (HEX.room)
	FileJournal  FileKind = "journal"  // a room's journal (HEX.journal)
	FileSeqs     FileKind = "seqs"     // our seqs in every room (seqs)
	FileBindings FileKind = "bindings" // the signing keys of peers met (bindings)
	FileSigner   FileKind = "signer"   // our own signing key (HOME/signing.key): File is its path
)

// Damage is what is wrong with a file.
type Damage string

// Damages.
const (
	DamageNotOurs  Damage = "not-ours"  // it does not start as such a file does
	DamageChecksum Damage = "checksum"  // its checksum (a journal: record Record's) does not match
	DamageSize     Damage = "size"      // Size bytes: more than such a file holds
	DamageDecode   Damage = "decode"    // its contents do not decode (Err: the decoder's error, for logs)
	DamageCutShort Damage = "cut-short" // record (entry) Record is cut short
	DamageRecord   Damage = "record"    // record (entry) Record is malformed: a length, a kind, a label, a line or a binding that does not verify
	DamageTooMany  Damage = "too-many"  // Size entries, more than Max
	DamageTrailing Damage = "trailing"  // Size bytes after the last entry
	DamageUnread   Damage = "unread"    // it could not be read: Err, the operating system's error
)

// FileError is a damaged (or unreadable) file of the rooms' folder. Its
// Error text is for logs; the shell words it from its fields.
type FileError struct {
	Kind   FileKind
	File   string // its name in the rooms folder (FileSigner: its path)
	Damage Damage
	Record int   // DamageChecksum (journal), DamageCutShort, DamageRecord: which record (from 1) or entry (from 0)
	Offset int64 // journal: the byte where the damaged record starts
	Rest   int64 // journal: bytes from there on, not read
	Size   int64 // DamageSize: the file's bytes; DamageTooMany: its entries; DamageTrailing: bytes after the last entry
	Max    int64 // DamageTooMany: the most entries there may be
	Err    error // DamageUnread: the operating system's error; DamageDecode, DamageRecord: the cause, for logs
}

func (e *FileError) Error() string {
	s := fmt.Sprintf("roomsnet: %s file %s: %s", e.Kind, e.File, e.Damage)
	switch e.Damage {
	case DamageChecksum, DamageCutShort, DamageRecord:
		switch e.Kind {
		case FileJournal:
			s += fmt.Sprintf(" (record %d at byte %d, %d bytes from there)", e.Record, e.Offset, e.Rest)
		case FileBindings:
			s += fmt.Sprintf(" (entry %d)", e.Record)
		}
	case DamageSize, DamageTrailing:
		s += fmt.Sprintf(" (%d bytes)", e.Size)
	case DamageTooMany:
		s += fmt.Sprintf(" (%d, at most %d)", e.Size, e.Max)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// Is makes a damaged file's error match the sentinel of its kind
// (errDamaged, errJournal, errDamagedBindings); an unreadable one matches
// none.
func (e *FileError) Is(target error) bool {
	if e.Damage == DamageUnread {
		return false
	}
	switch e.Kind {
	case FileRoom, FileSeqs:
		return target == errDamaged
	case FileJournal:
		return target == errJournal
	case FileBindings:
		return target == errDamagedBindings
	}
	return false
}

// Sentinels a FileError matches (tests use them).
var (
	errDamaged         = errors.New("damaged room file")
	errJournal         = errors.New("damaged journal")
	errDamagedBindings = errors.New("damaged bindings file")
)

// SaveError is a save that failed: the file it was writing, and the
// operating system's error (or the encoder's, for logs).
type SaveError struct {
	File string // its name in the rooms folder (the signing key: its path)
	Err  error
}

func (e *SaveError) Error() string { return "roomsnet: save " + e.File + ": " + e.Err.Error() }
func (e *SaveError) Unwrap() error { return e.Err }
