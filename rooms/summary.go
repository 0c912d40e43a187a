package rooms

import (
	"encoding/binary"
	"fmt"

	"github.com/p2pchat/p2pchat/internal/fields"
)

// Pos is how far a summary's sender holds one author's messages: every
// seq up to Seq (its highest contiguous).
type Pos struct {
	Author SignKey
	Seq    uint64
}

// Summary is what a member holds of one room, sent to another member
// when they meet so that it can send what is missing (State.Relay).
type Summary struct {
	Room    ID
	Fresh   bool  // the sender joined in the last FreshFor: send it the room's recent history
	Since   int64 // Unix ms, when the sender joined: of authors it does not list, send nothing older
	Authors []Pos // at most MaxSummaryAuthors, in key order
}

const (
	flagFresh    byte = 1
	summaryFixed      = 1 + 32 + 1 + 8 + 2
)

// MaxSummaryBytes is the largest encoded summary.
const MaxSummaryBytes = summaryFixed + MaxSummaryAuthors*(32+8)

// AppendEncode appends s's encoding.
func (s *Summary) AppendEncode(b []byte) []byte {
	b = append(b, layoutVersion)
	b = append(b, s.Room[:]...)
	var flags byte
	if s.Fresh {
		flags |= flagFresh
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Since))
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.Authors)))
	for _, p := range s.Authors {
		b = append(b, p.Author[:]...)
		b = binary.BigEndian.AppendUint64(b, p.Seq)
	}
	return b
}

// DecodeSummary decodes a summary; authors must be in strictly
// increasing key order (so none is listed twice).
func DecodeSummary(b []byte) (*Summary, error) {
	if len(b) > MaxSummaryBytes {
		return nil, ErrTooBig
	}
	r := fields.NewReader(b, ErrShort)
	if v := r.Byte(); r.Err() == nil && v != layoutVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	s := &Summary{}
	r.Copy(s.Room[:])
	flags := r.Byte()
	if flags&^flagFresh != 0 {
		return nil, fmt.Errorf("%w: flags %#x", ErrBadField, flags)
	}
	s.Fresh = flags&flagFresh != 0
	s.Since = int64(r.U64())
	n := int(r.U16())
	if r.Err() == nil && n > MaxSummaryAuthors {
		return nil, fmt.Errorf("%w: %d authors", ErrTooBig, n)
	}
	for i := range n {
		var p Pos
		r.Copy(p.Author[:])
		p.Seq = r.U64()
		if r.Err() != nil {
			break
		}
		if i > 0 && !keyLess(s.Authors[i-1].Author, p.Author) {
			return nil, fmt.Errorf("%w: authors not in order", ErrBadField)
		}
		s.Authors = append(s.Authors, p)
	}
	if err := r.End(ErrTrailing); err != nil {
		return nil, err
	}
	return s, nil
}

func keyLess(a, b SignKey) bool { return string(a[:]) < string(b[:]) }
