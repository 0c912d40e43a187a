package rooms

// Code is a machine-readable reason: every error and refusal of this
// package is a Code or wraps one (test with errors.Is; errors.As gives
// the Code). Package rooms words no sentences for people: the shell maps
// codes to lines.
type Code string

func (c Code) Error() string { return "rooms: " + string(c) }

// Codes.
const (
	// Room names (ParseName).
	ErrNameEmpty    Code = "name-empty"      // "#" alone, or nothing
	ErrNameNoHash   Code = "name-no-hash"    // does not start with '#'
	ErrNameLong     Code = "name-too-long"   // more than MaxNameRunes characters after '#'
	ErrNameChar     Code = "name-bad-char"   // a character other than a letter, a digit, '-' or '_'
	ErrNameNotUTF8  Code = "name-not-utf8"   // not valid UTF-8
	ErrNotCanonical Code = "name-not-folded" // on the wire: a name not in its folded form

	// Decoding (DecodeMessage, DecodeSummary, DecodeList).
	ErrShort     Code = "short"         // truncated
	ErrTrailing  Code = "trailing"      // bytes after the end
	ErrVersion   Code = "version"       // another layout version
	ErrBadField  Code = "bad-field"     // a field out of its range
	ErrTooBig    Code = "too-big"       // a text, topic or count past its bound
	ErrWrongID   Code = "wrong-id"      // a room id that is not the one its name or creator and nonce give
	ErrSignature Code = "bad-signature" // the signature does not verify

	// Messages and state (State).
	ErrNotJoined     Code = "not-joined"     // we are not in that room
	ErrNotMember     Code = "not-member"     // not a member of a private room
	ErrInviteOnly    Code = "invite-only"    // a private room we were not invited to
	ErrRoomsFull     Code = "rooms-full"     // already in MaxRooms rooms
	ErrMembersFull   Code = "members-full"   // the room has MaxMembers members
	ErrAuthorsFull   Code = "authors-full"   // the room tracks MaxAuthors authors
	ErrAlreadyJoined Code = "already-joined" // we are in that room already
	ErrOpenExists    Code = "open-exists"    // an open room of that name is known: no private room may shadow it
	ErrNotCreator    Code = "not-creator"    // only the creator of a private room invites and kicks
	ErrKeyMismatch   Code = "key-mismatch"   // the author's signing key is not the one bound to its identity
	ErrStale         Code = "stale"          // an older member list, or a message older than anyone keeps
	ErrDuplicate     Code = "duplicate"      // already taken
	ErrHeldFull      Code = "held-full"      // no room to hold a message ahead of a gap
	ErrTooFarAhead   Code = "too-far-ahead"  // a seq more than MaxAhead past the author's position
	ErrEmpty         Code = "empty"          // an empty text
)
