package fields

import (
	"errors"
	"testing"
)

var (
	errShort    = errors.New("short")
	errTrailing = errors.New("trailing")
)

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(r *Reader) any
		want any
		err  error
	}{
		{"byte", []byte{7}, func(r *Reader) any { return r.Byte() }, byte(7), nil},
		{"u16", []byte{1, 2}, func(r *Reader) any { return r.U16() }, uint16(0x0102), nil},
		{"u32", []byte{1, 2, 3, 4}, func(r *Reader) any { return r.U32() }, uint32(0x01020304), nil},
		{"u64", []byte{0, 0, 0, 0, 0, 0, 1, 0}, func(r *Reader) any { return r.U64() }, uint64(256), nil},
		{"str", []byte("hi"), func(r *Reader) any { return r.Str(2) }, "hi", nil},
		{"short u32", []byte{1, 2, 3}, func(r *Reader) any { return r.U32() }, uint32(0), errShort},
		{"after short", []byte{1, 2, 3}, func(r *Reader) any { r.U32(); return r.Byte() }, byte(0), errShort},
		{"negative take", []byte{1}, func(r *Reader) any { return r.Take(-1) == nil }, true, errShort},
		{"trailing", []byte{1, 2}, func(r *Reader) any { return r.Byte() }, byte(1), errTrailing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in, errShort)
			if got := tc.read(r); got != tc.want {
				t.Errorf("read %v, want %v", got, tc.want)
			}
			if err := r.End(errTrailing); !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("End: %v, want %v", err, tc.err)
			}
		})
	}
}
