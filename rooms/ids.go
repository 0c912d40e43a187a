package rooms

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Bounds (the README's table of bounds gets these rows when rooms are
// wired into the node).
const (
	MaxNameRunes      = 32       // characters of a room name after '#'
	maxNameBytes      = 1 + 4*32 // '#' and 32 characters of at most 4 bytes
	MaxTextBytes      = 32 << 10 // text of a room message (as wire.MaxTextBytes)
	MaxTopicBytes     = 512      // a topic; also a join or part message's text
	maxNickBytes      = 4 * 32   // the author's nickname (wire.ValidName: 32 characters)
	MaxRooms          = 32       // rooms a node is in
	MaxInvitedRooms   = 16       // of MaxRooms, rooms entered by invitation the user has not /join-ed yet
	MaxKnownRooms     = 256      // open rooms heard of but not joined (for /rooms)
	MaxMembers        = 64       // members of one room
	MaxAuthors        = 128      // authors one room tracks (members and authors gone whose messages are kept)
	MaxLog            = 1000     // messages kept per room
	MaxLogBytes       = 4 << 20  // encoded bytes of messages kept per room
	MaxAge            = 7 * 24 * time.Hour
	LateJoinHistory   = 100     // messages of an open room a newcomer is sent
	MaxHeld           = 256     // messages held ahead of a gap, per room
	MaxHeldBytes      = 1 << 20 // their encoded bytes, per room
	MaxHeldPerAuthor  = 64      // of which one author\'s (one member cannot take the room\'s whole budget)
	MaxAhead          = 256     // how far past an author's position a seq may be and be held
	MaxSummaryAuthors = MaxAuthors
	MaxRelayMsgs      = 128       // messages in one relay batch
	MaxRelayBytes     = 256 << 10 // encoded bytes of one relay batch
	// GapWait is how long a gap in an author's messages is waited on
	// before it is given up (the messages after it are taken and shown).
	GapWait = 2 * time.Minute
	// MaxSkew is how far ahead of our clock a topic may be dated and
	// still set the topic.
	MaxSkew = 24 * time.Hour
	// FreshFor is how long after our own join our summary says "fresh"
	// (to one member at a time: Summary).
	FreshFor = time.Minute
	// HistoryWait is how long the member asked for a newcomer's history
	// has to answer (its first relayed message in) before another is
	// asked.
	HistoryWait = 10 * time.Second
)

// ID is a room's id: SHA-256 of its name (open rooms) or of its
// creator's signing key and a nonce (private rooms).
type ID [32]byte

// String is the id as shown (room_id in -json): the first 8 bytes in hex.
func (id ID) String() string { return hex.EncodeToString(id[:8]) }

// Key is a peer's identity key (the X25519 key of its hello).
type Key = [32]byte

// SignKey is an author's Ed25519 public key.
type SignKey [32]byte

// Domain separation: every hash and signature of this package starts
// with one of these, so no signed blob can pass for another kind.
const (
	domOpenID          = "p2pchat room open v1\x00"
	domPrivID          = "p2pchat room private v1\x00"
	domMessage         = "p2pchat room message v1\x00"
	domList            = "p2pchat room members v1\x00"
	domBinding         = "p2pchat signing key v1\x00"
	layoutVersion byte = 1
)

// OpenID is the id of the open room of the folded name: every node
// that joins "#lunch" computes the same id, so two halves of a partition
// that each created it are one room when they meet.
func OpenID(name string) ID {
	h := sha256.New()
	h.Write([]byte(domOpenID))
	h.Write([]byte(name))
	var id ID
	h.Sum(id[:0])
	return id
}

// PrivateID is the id of a private room made by creator with nonce (16
// random bytes the caller draws): nobody else can make a room with this
// id and a member list that verifies.
func PrivateID(creator SignKey, nonce [16]byte) ID {
	h := sha256.New()
	h.Write([]byte(domPrivID))
	h.Write(creator[:])
	h.Write(nonce[:])
	var id ID
	h.Sum(id[:0])
	return id
}

// Signer is a node's signing key pair, kept beside its identity key.
type Signer struct {
	Identity Key     // the node's X25519 identity key
	Public   SignKey // Public of Private
	Private  ed25519.PrivateKey
}

// NewSigner wraps an Ed25519 private key (from ed25519.NewKeyFromSeed
// of the seed stored in the home) for the node whose identity key is id.
func NewSigner(id Key, priv ed25519.PrivateKey) *Signer {
	s := &Signer{Identity: id, Private: priv}
	copy(s.Public[:], priv.Public().(ed25519.PublicKey))
	return s
}

// BindingSig is what the hello carries beside the signing key: the
// signing key's signature over the identity key, so no node can claim
// another's signing key as its own.
func (s *Signer) BindingSig() [64]byte {
	var sig [64]byte
	copy(sig[:], ed25519.Sign(s.Private, bindingMsg(&s.Identity)))
	return sig
}

// VerifyBinding checks a hello's signing key and binding signature
// against the identity key the hello was sealed by.
func VerifyBinding(id Key, pub SignKey, sig [64]byte) error {
	if !ed25519.Verify(pub[:], bindingMsg(&id), sig[:]) {
		return ErrSignature
	}
	return nil
}

func bindingMsg(id *Key) []byte {
	return append([]byte(domBinding), id[:]...)
}
