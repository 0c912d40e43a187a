package store

import "fmt"

// DamageKind says what Open found damaged (Snapshot.Damaged).
type DamageKind string

// Kinds of Damage.
const (
	// DamageShownMark: File (the shown mark) is damaged: messages
	// received since the last good mark may be shown again.
	DamageShownMark DamageKind = "shown-mark"
	// DamageMetaFixed: a flipped bit in a meta page of File was found
	// and set right.
	DamageMetaFixed DamageKind = "meta-fixed"
	// DamageMetaTorn: one of the two meta pages of File is damaged (a
	// write torn by a crash?): the last change before it may be lost.
	DamageMetaTorn DamageKind = "meta-torn"
	// DamageRebuilt: File could not be read (Why); it was moved to Aside
	// and Count records were recovered from it into a new File: messages
	// already delivered may be sent again, already shown may show again.
	DamageRebuilt DamageKind = "rebuilt"
	// DamageRecord: a damaged record in Bucket was skipped (Key, Entry
	// say which, when known).
	DamageRecord DamageKind = "record"
)

// Buckets a DamageRecord names.
const (
	BucketOut  = "out"  // the outbox: Key is the recipient's, Entry the message's seq
	BucketIn   = "in"   // the inbox: Entry is the inbox entry
	BucketPos  = "pos"  // the senders' positions: Key is the sender's
	BucketMeta = "meta" // the counters
)

// Damage is one thing Open found damaged and what it did about it: a
// Kind and the fields its words need (the user interface words it; its
// String is for logs and tests). Every field is safe to print.
type Damage struct {
	Kind   DamageKind
	File   string // shown-mark, meta-*, rebuilt: the file's name in the home directory
	Aside  string // rebuilt: the name the damaged file was moved to
	Count  int    // rebuilt: how many records were recovered
	Why    string // rebuilt: what was wrong with the file (for logs)
	Bucket string // record: BucketOut, BucketIn, BucketPos or BucketMeta
	Key    string // record: the first bytes of the key, in hex ("" if not known)
	Entry  uint64 // record: the inbox entry (in) or the message's seq (out); HasEntry says if known
	// HasEntry: Entry is known.
	HasEntry bool
}

// String is the damage in one line of fields, for logs (the user
// interface words it from the fields).
func (d Damage) String() string {
	s := "store damage: kind=" + string(d.Kind)
	if d.File != "" {
		s += " file=" + d.File
	}
	if d.Kind == DamageRebuilt {
		s += fmt.Sprintf(" aside=%s recovered=%d why=%q", d.Aside, d.Count, d.Why)
	}
	if d.Bucket != "" {
		s += " bucket=" + d.Bucket
	}
	if d.Key != "" {
		s += " key=" + d.Key
	}
	if d.HasEntry {
		s += fmt.Sprintf(" entry=%d", d.Entry)
	}
	return s
}
