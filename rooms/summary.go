package rooms

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/p2pchat/p2pchat/internal/fields"
)

// PrefixLen is how many leading bytes of an author's signing key name it
// in a summary: 8 bytes instead of 32 keep a summary of a full room
// (64 members) within one datagram, so that meetings in many rooms open
// no TCP connection. Two authors of one room sharing a prefix is a
// 64-bit collision (grinding a key to match a given author's takes about
// 2^64 key generations); if it happens, the summary lists the prefix
// once, with the lower position, so the other side sends more, never
// less (duplicates are dropped).
const PrefixLen = 8

// Prefix is the first PrefixLen bytes of a signing key.
type Prefix [PrefixLen]byte

// PrefixOf is k's prefix.
func PrefixOf(k SignKey) Prefix {
	var p Prefix
	copy(p[:], k[:])
	return p
}

// Pos is how far a summary's sender holds one author's messages: every
// seq up to Seq (its highest contiguous).
type Pos struct {
	Author Prefix // the author's signing key's prefix
	Seq    uint64
}

// Summary is what a member holds of one room, sent to another member
// when they meet so that it can send what is missing (State.Relay).
type Summary struct {
	Room    ID
	Fresh   bool  // the sender joined in the last FreshFor: send it the room's recent history
	Since   int64 // Unix ms, when the sender joined: of authors it does not list, send nothing older
	Authors []Pos // at most MaxSummaryAuthors, in increasing prefix order
}

const (
	// summaryVersion is the summary's layout version: 2 since authors
	// are named by their prefix, with seqs as uvarints (1: whole keys,
	// fixed seqs; refused).
	summaryVersion byte = 2
	flagFresh      byte = 1
	summaryFixed        = 1 + 32 + 1 + 8 + 2
)

// MaxSummaryBytes is the largest encoded summary.
const MaxSummaryBytes = summaryFixed + MaxSummaryAuthors*(PrefixLen+binary.MaxVarintLen64)

// AppendEncode appends s's encoding.
func (s *Summary) AppendEncode(b []byte) []byte {
	b = append(b, summaryVersion)
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
		b = binary.AppendUvarint(b, p.Seq)
	}
	return b
}

// DecodeSummary decodes a summary; authors must be in strictly
// increasing prefix order (so none is listed twice), each seq in its
// shortest uvarint.
func DecodeSummary(b []byte) (*Summary, error) {
	if len(b) > MaxSummaryBytes {
		return nil, ErrTooBig
	}
	r := fields.NewReader(b, ErrShort)
	if v := r.Byte(); r.Err() == nil && v != summaryVersion {
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
	if err := r.Err(); err != nil {
		return nil, err
	}
	if n > MaxSummaryAuthors {
		return nil, fmt.Errorf("%w: %d authors", ErrTooBig, n)
	}
	rest := r.Take(r.Len())
	if len(rest) < n*(PrefixLen+1) {
		return nil, ErrShort
	}
	s.Authors = make([]Pos, 0, n)
	for i := range n {
		var p Pos
		if len(rest) < PrefixLen {
			return nil, ErrShort
		}
		copy(p.Author[:], rest)
		rest = rest[PrefixLen:]
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			return nil, ErrShort
		}
		if k != uvarintLen(v) {
			return nil, fmt.Errorf("%w: seq not in its shortest form", ErrBadField)
		}
		p.Seq = v
		rest = rest[k:]
		if i > 0 && bytes.Compare(s.Authors[i-1].Author[:], p.Author[:]) >= 0 {
			return nil, fmt.Errorf("%w: authors not in order", ErrBadField)
		}
		s.Authors = append(s.Authors, p)
	}
	if len(rest) != 0 {
		return nil, ErrTrailing
	}
	return s, nil
}

// uvarintLen is the length of v's shortest uvarint.
func uvarintLen(v uint64) int { return max(1, (bits.Len64(v)+6)/7) }

func keyLess(a, b SignKey) bool { return string(a[:]) < string(b[:]) }
