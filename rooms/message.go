package rooms

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/fields"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// Kind is a room message's kind (append-only).
type Kind byte

// Message kinds.
const (
	KindText  Kind = 1 // a line said in the room
	KindJoin  Kind = 2 // the author joined (text: empty)
	KindPart  Kind = 3 // the author left (text: an optional reason)
	KindTopic Kind = 4 // the author set the topic to text (empty: no topic)
)

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindJoin:
		return "join"
	case KindPart:
		return "part"
	case KindTopic:
		return "topic"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

const flagPrivate byte = 1

// msgFixed is the size of a message's fixed fields, before the name.
const msgFixed = 1 + 1 + 1 + 32 + 32 + 32 + 8 + 8

// MaxMessageBytes is the largest encoded message.
const MaxMessageBytes = msgFixed + 1 + maxNameBytes + 1 + maxNickBytes + 4 + MaxTextBytes + ed25519.SignatureSize

// Message is one room message, as its author signed it.
type Message struct {
	Kind     Kind
	Private  bool    // the room is private
	Room     ID      // for an open room, OpenID(Name)
	Author   SignKey // the author's signing key: Sig verifies under it
	Identity Key     // the author's identity key (as claimed by the author, signed)
	Seq      uint64  // the author's count of its messages in this room, from 1
	Time     int64   // Unix ms, the author's clock
	Name     string  // the room's folded name
	Nick     string  // the author's nickname when it wrote
	Text     string
	Sig      [64]byte
}

// appendSigned appends the bytes the signature covers, without the
// domain prefix.
func (m *Message) appendSigned(b []byte) []byte {
	var flags byte
	if m.Private {
		flags |= flagPrivate
	}
	b = append(b, layoutVersion, byte(m.Kind), flags)
	b = append(b, m.Room[:]...)
	b = append(b, m.Author[:]...)
	b = append(b, m.Identity[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Time))
	b = append(b, byte(len(m.Name)))
	b = append(b, m.Name...)
	b = append(b, byte(len(m.Nick)))
	b = append(b, m.Nick...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Text)))
	return append(b, m.Text...)
}

// Size is the length of m's encoding.
func (m *Message) Size() int {
	return msgFixed + 1 + len(m.Name) + 1 + len(m.Nick) + 4 + len(m.Text) + ed25519.SignatureSize
}

// AppendEncode appends m's encoding (the signed bytes and the signature).
func (m *Message) AppendEncode(b []byte) []byte {
	b = m.appendSigned(b)
	return append(b, m.Sig[:]...)
}

// Sign sets m.Author and m.Identity to s's keys and signs m.
func (m *Message) Sign(s *Signer) {
	m.Author, m.Identity = s.Public, s.Identity
	msg := m.appendSigned([]byte(domMessage))
	copy(m.Sig[:], ed25519.Sign(s.Private, msg))
}

// Verify checks m's signature under m.Author.
func (m *Message) Verify() error {
	msg := append(make([]byte, 0, len(domMessage)+m.Size()), domMessage...)
	msg = m.appendSigned(msg)
	if !ed25519.Verify(m.Author[:], msg, m.Sig[:]) {
		return ErrSignature
	}
	return nil
}

// check validates m's fields (not its signature).
func (m *Message) check() error {
	if m.Seq == 0 {
		return fmt.Errorf("%w: seq 0", ErrBadField)
	}
	if !canonicalName(m.Name) {
		return fmt.Errorf("%w: room name", ErrNotCanonical)
	}
	if !m.Private && m.Room != OpenID(m.Name) {
		return ErrWrongID
	}
	if err := wire.ValidName(m.Nick); err != nil {
		return fmt.Errorf("%w: nick", ErrBadField)
	}
	if !utf8.ValidString(m.Text) {
		return fmt.Errorf("%w: text not UTF-8", ErrBadField)
	}
	switch m.Kind {
	case KindText:
		if m.Text == "" {
			return ErrEmpty
		}
		if len(m.Text) > MaxTextBytes {
			return fmt.Errorf("%w: text of %d bytes", ErrTooBig, len(m.Text))
		}
	case KindJoin, KindPart, KindTopic:
		if len(m.Text) > MaxTopicBytes {
			return fmt.Errorf("%w: %s of %d bytes", ErrTooBig, m.Kind, len(m.Text))
		}
	default:
		return fmt.Errorf("%w: kind %d", ErrBadField, byte(m.Kind))
	}
	return nil
}

// DecodeMessage decodes one message and checks every field and bound
// (but not the signature: State.Receive verifies it). Strings are copied.
func DecodeMessage(b []byte) (*Message, error) {
	if len(b) > MaxMessageBytes {
		return nil, ErrTooBig
	}
	r := fields.NewReader(b, ErrShort)
	if v := r.Byte(); r.Err() == nil && v != layoutVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	m := &Message{}
	m.Kind = Kind(r.Byte())
	flags := r.Byte()
	if flags&^flagPrivate != 0 {
		return nil, fmt.Errorf("%w: flags %#x", ErrBadField, flags)
	}
	m.Private = flags&flagPrivate != 0
	r.Copy(m.Room[:])
	r.Copy(m.Author[:])
	r.Copy(m.Identity[:])
	m.Seq = r.U64()
	m.Time = int64(r.U64())
	m.Name = r.Str(int(r.Byte()))
	m.Nick = r.Str(int(r.Byte()))
	n := r.U32()
	if r.Err() == nil && n > MaxTextBytes {
		return nil, fmt.Errorf("%w: text of %d bytes", ErrTooBig, n)
	}
	m.Text = r.Str(int(n))
	r.Copy(m.Sig[:])
	if err := r.End(ErrTrailing); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}
