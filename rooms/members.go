package rooms

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/p2pchat/p2pchat/internal/fields"
)

// Member is one entry of a private room's member list.
type Member struct {
	Identity Key     // the member's identity key
	Signing  SignKey // its signing key, as the creator learned it from its hello
	Added    int64   // Unix ms, when it was invited: it is sent the room's messages from then on
}

// List is a private room's member list, signed by the room's creator.
// A list with a higher Version replaces a lower one; only a list whose
// signature verifies under Creator, and whose Room is
// PrivateID(Creator, Nonce), is taken.
type List struct {
	Room    ID
	Creator SignKey
	Nonce   [16]byte
	Version uint64 // from 1, +1 for every invite or kick
	Time    int64  // Unix ms, the creator's clock when it signed
	Name    string // the room's folded name
	Members []Member
	Sig     [64]byte
}

const listFixed = 1 + 32 + 32 + 16 + 8 + 8

// MaxListBytes is the largest encoded list.
const MaxListBytes = listFixed + 1 + maxNameBytes + 1 + MaxMembers*(32+32+8) + ed25519.SignatureSize

// NewList is the first list of a new private room: its creator (s) alone.
// nonce is 16 random bytes the caller draws.
func NewList(s *Signer, name string, nonce [16]byte, now time.Time) (*List, error) {
	name, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	l := &List{Room: PrivateID(s.Public, nonce), Creator: s.Public, Nonce: nonce, Version: 1,
		Time: now.UnixMilli(), Name: name,
		Members: []Member{{Identity: s.Identity, Signing: s.Public, Added: now.UnixMilli()}}}
	l.sign(s)
	return l, nil
}

// Member returns the entry of identity id.
func (l *List) Member(id Key) (Member, bool) {
	for _, m := range l.Members {
		if m.Identity == id {
			return m, true
		}
	}
	return Member{}, false
}

// Invite returns the next list, with id (whose signing key is sk) added
// at now. Only the creator (s) invites.
func (l *List) Invite(s *Signer, id Key, sk SignKey, now time.Time) (*List, error) {
	if s.Public != l.Creator {
		return nil, ErrNotCreator
	}
	if _, ok := l.Member(id); ok {
		return l, nil
	}
	if len(l.Members) >= MaxMembers {
		return nil, ErrMembersFull
	}
	n := l.next(now)
	n.Members = append(n.Members, Member{Identity: id, Signing: sk, Added: now.UnixMilli()})
	n.sign(s)
	return n, nil
}

// Kick returns the next list, without id. Only the creator (s) kicks,
// and it cannot kick itself.
func (l *List) Kick(s *Signer, id Key, now time.Time) (*List, error) {
	if s.Public != l.Creator {
		return nil, ErrNotCreator
	}
	if id == s.Identity {
		return nil, fmt.Errorf("%w: the creator", ErrBadField)
	}
	if _, ok := l.Member(id); !ok {
		return nil, ErrNotMember
	}
	n := l.next(now)
	n.Members = slices.DeleteFunc(n.Members, func(m Member) bool { return m.Identity == id })
	n.sign(s)
	return n, nil
}

func (l *List) next(now time.Time) *List {
	n := *l
	n.Version++
	n.Time = max(now.UnixMilli(), l.Time)
	n.Members = slices.Clone(l.Members)
	return &n
}

func (l *List) appendSigned(b []byte) []byte {
	b = append(b, layoutVersion)
	b = append(b, l.Room[:]...)
	b = append(b, l.Creator[:]...)
	b = append(b, l.Nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, l.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Time))
	b = append(b, byte(len(l.Name)))
	b = append(b, l.Name...)
	b = append(b, byte(len(l.Members)))
	for _, m := range l.Members {
		b = append(b, m.Identity[:]...)
		b = append(b, m.Signing[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(m.Added))
	}
	return b
}

func (l *List) sign(s *Signer) {
	copy(l.Sig[:], ed25519.Sign(s.Private, l.appendSigned([]byte(domList))))
}

// AppendEncode appends l's encoding.
func (l *List) AppendEncode(b []byte) []byte {
	return append(l.appendSigned(b), l.Sig[:]...)
}

// Verify checks that l is a list its room's creator signed: the id is
// the creator's, the signature verifies under the creator's key, the
// creator is a member, no identity or signing key is listed twice.
func (l *List) Verify() error {
	if l.Room != PrivateID(l.Creator, l.Nonce) {
		return ErrWrongID
	}
	if l.Version == 0 || len(l.Members) > MaxMembers || !canonicalName(l.Name) {
		return ErrBadField
	}
	creator := false
	for i, m := range l.Members {
		creator = creator || m.Signing == l.Creator
		for _, o := range l.Members[:i] {
			if o.Identity == m.Identity || o.Signing == m.Signing {
				return fmt.Errorf("%w: member listed twice", ErrBadField)
			}
		}
	}
	if !creator {
		return fmt.Errorf("%w: creator not a member", ErrBadField)
	}
	if !ed25519.Verify(l.Creator[:], l.appendSigned([]byte(domList)), l.Sig[:]) {
		return ErrSignature
	}
	return nil
}

// DecodeList decodes and verifies a member list.
func DecodeList(b []byte) (*List, error) {
	if len(b) > MaxListBytes {
		return nil, ErrTooBig
	}
	r := fields.NewReader(b, ErrShort)
	if v := r.Byte(); r.Err() == nil && v != layoutVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	l := &List{}
	r.Copy(l.Room[:])
	r.Copy(l.Creator[:])
	r.Copy(l.Nonce[:])
	l.Version = r.U64()
	l.Time = int64(r.U64())
	l.Name = r.Str(int(r.Byte()))
	n := int(r.Byte())
	if r.Err() == nil && n > MaxMembers {
		return nil, fmt.Errorf("%w: %d members", ErrTooBig, n)
	}
	for range n {
		var m Member
		r.Copy(m.Identity[:])
		r.Copy(m.Signing[:])
		m.Added = int64(r.U64())
		l.Members = append(l.Members, m)
	}
	r.Copy(l.Sig[:])
	if err := r.End(ErrTrailing); err != nil {
		return nil, err
	}
	if err := l.Verify(); err != nil {
		return nil, err
	}
	return l, nil
}
