// Package fields reads the big-endian fields of p2pchat's binary layouts
// (internal/wire's payloads, rooms' messages, lists and summaries): a
// Reader takes fields off the front of a byte slice and remembers the
// first error, so a decoder reads every field and checks once.
package fields

import (
	"encoding/binary"
	"fmt"
)

// Reader consumes big-endian fields of b. Once a field is past the end,
// every later field is its zero value and Err returns the short error.
type Reader struct {
	b     []byte
	short error // what Err says when b ended before a field
	err   error
}

// NewReader reads b; short is the error for a field past its end.
func NewReader(b []byte, short error) *Reader { return &Reader{b: b, short: short} }

// Take returns the next n bytes (a sub-slice of b), or nil past the end.
func (r *Reader) Take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = r.short
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// Copy fills dst with the next len(dst) bytes.
func (r *Reader) Copy(dst []byte) { copy(dst, r.Take(len(dst))) }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if v := r.Take(1); v != nil {
		return v[0]
	}
	return 0
}

// U16 reads a big-endian uint16.
func (r *Reader) U16() uint16 {
	if v := r.Take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// U32 reads a big-endian uint32.
func (r *Reader) U32() uint32 {
	if v := r.Take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// U64 reads a big-endian uint64.
func (r *Reader) U64() uint64 {
	if v := r.Take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Str reads n bytes as a string (a copy).
func (r *Reader) Str(n int) string { return string(r.Take(n)) }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) }

// Err is the first error: the short error if a field was past the end.
func (r *Reader) Err() error { return r.err }

// End is Err, or trailing (wrapped, with the count) if bytes are left.
func (r *Reader) End(trailing error) error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes", trailing, len(r.b))
	}
	return nil
}
