package store

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// The database has four buckets. Their keys make bbolt's natural order the
// order we need: an outbox stream's head (key: the recipient's 32 bytes)
// sorts before its messages (key: recipient + seq, big endian), and the
// inbox (key: idx, big endian) is in arrival order.
var (
	bucketOut  = []byte("out")  // stream heads and waiting messages
	bucketIn   = []byte("in")   // received messages not yet known to be shown
	bucketPos  = []byte("pos")  // senders' positions
	bucketMeta = []byte("meta") // counters: lastidx, lastid
)

var (
	metaLastIdx = []byte("lastidx")
	metaLastID  = []byte("lastid")
)

// A value is CRC-32C (Castagnoli, big endian, over the rest) followed by
// the payload: format version, kind, the record's own bbolt key (so a
// record found loose in a damaged file says where it belongs), then the
// kind's fields. Integers are uvarints (times: varints), strings a uvarint
// length then the bytes.
const recordVersion = 1

type kind byte

const (
	kindHead kind = 1 + iota // OutStream head, bucket out, key K
	kindOut                  // OutMsg, bucket out, key K+seq
	kindIn                   // InMsg, bucket in, key idx
	kindPos                  // InPos, bucket pos, key K
	kindMeta                 // counter, bucket meta
)

// maxRecord bounds what decode accepts; no record we write comes near it
// (texts are bounded by the node far below).
const maxRecord = 1 << 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errRecord = errors.New("malformed record")

// record is every kind's fields in one struct; which are used depends on
// the kind.
type record struct {
	kind    kind
	key     []byte // the bbolt key
	nick    string
	text    string
	k       Key // kindIn: the sender
	id      uint64
	stream  uint64
	next    uint64 // kindHead, kindPos
	seq     uint64 // kindIn
	time    int64  // kindOut, kindIn: message time; kindPos: last update (Unix ms)
	all     bool
	app     byte   // kindOut, kindIn: an application payload's kind (0: a chat message); written only when non-zero
	counter uint64 // kindMeta
}

func outHeadKey(k Key) []byte { return append([]byte(nil), k[:]...) }

func outMsgKey(k Key, seq uint64) []byte {
	b := make([]byte, 40)
	copy(b, k[:])
	binary.BigEndian.PutUint64(b[32:], seq)
	return b
}

func inKey(idx uint64) []byte { return binary.BigEndian.AppendUint64(nil, idx) }

// bucketOf is where a kind lives.
func bucketOf(k kind) []byte {
	switch k {
	case kindHead, kindOut:
		return bucketOut
	case kindIn:
		return bucketIn
	case kindPos:
		return bucketPos
	default:
		return bucketMeta
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// encode makes the value of r.
func encode(r *record) []byte {
	b := make([]byte, 4, 64+len(r.key)+len(r.nick)+len(r.text))
	b = append(b, recordVersion, byte(r.kind))
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	switch r.kind {
	case kindHead:
		b = appendString(b, r.nick)
		b = binary.AppendUvarint(b, r.stream)
		b = binary.AppendUvarint(b, r.next)
	case kindOut:
		b = binary.AppendUvarint(b, r.id)
		b = binary.AppendVarint(b, r.time)
		b = appendBool(b, r.all)
		b = appendString(b, r.text)
		if r.app != 0 {
			b = append(b, r.app)
		}
	case kindIn:
		b = append(b, r.k[:]...)
		b = appendString(b, r.nick)
		b = binary.AppendUvarint(b, r.stream)
		b = binary.AppendUvarint(b, r.seq)
		b = binary.AppendVarint(b, r.time)
		b = appendBool(b, r.all)
		b = appendString(b, r.text)
		if r.app != 0 {
			b = append(b, r.app)
		}
	case kindPos:
		b = binary.AppendUvarint(b, r.stream)
		b = binary.AppendUvarint(b, r.next)
		b = binary.AppendVarint(b, r.time)
	case kindMeta:
		b = binary.AppendUvarint(b, r.counter)
	}
	binary.BigEndian.PutUint32(b, crc32.Checksum(b[4:], castagnoli))
	return b
}

// reader takes fields off a payload; the first failure sticks.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes(r.uvarint())) }

func (r *reader) bool() bool {
	v := r.bytes(1)
	if len(v) == 1 && v[0] > 1 {
		r.bad = true
	}
	return len(v) == 1 && v[0] == 1
}

// decode checks a value's CRC and shape and returns its record; key is a
// copy (the value may live in bbolt's memory map).
// optByte is an optional last byte: 0 when none is left; a present one
// must be non-zero (one value, one spelling).
func (r *reader) optByte() byte {
	if r.bad || len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	if v == 0 {
		r.bad = true
	}
	return v
}

func decode(v []byte) (*record, error) {
	if len(v) < 6 || len(v) > maxRecord {
		return nil, errRecord
	}
	if binary.BigEndian.Uint32(v) != crc32.Checksum(v[4:], castagnoli) {
		return nil, errRecord
	}
	if v[4] != recordVersion {
		return nil, errRecord
	}
	rec := &record{kind: kind(v[5])}
	r := &reader{b: v[6:]}
	klen := r.uvarint()
	if klen > 64 {
		return nil, errRecord
	}
	rec.key = append([]byte(nil), r.bytes(klen)...)
	switch rec.kind {
	case kindHead:
		rec.nick = r.string()
		rec.stream = r.uvarint()
		rec.next = r.uvarint()
		if len(rec.key) != 32 {
			return nil, errRecord
		}
		copy(rec.k[:], rec.key)
	case kindOut:
		rec.id = r.uvarint()
		rec.time = r.varint()
		rec.all = r.bool()
		rec.text = r.string()
		rec.app = r.optByte()
		if len(rec.key) != 40 {
			return nil, errRecord
		}
		copy(rec.k[:], rec.key)
		rec.seq = binary.BigEndian.Uint64(rec.key[32:])
	case kindIn:
		copy(rec.k[:], r.bytes(32))
		rec.nick = r.string()
		rec.stream = r.uvarint()
		rec.seq = r.uvarint()
		rec.time = r.varint()
		rec.all = r.bool()
		rec.text = r.string()
		rec.app = r.optByte()
		if len(rec.key) != 8 {
			return nil, errRecord
		}
		rec.id = binary.BigEndian.Uint64(rec.key) // the idx
	case kindPos:
		rec.stream = r.uvarint()
		rec.next = r.uvarint()
		rec.time = r.varint()
		if len(rec.key) != 32 {
			return nil, errRecord
		}
		copy(rec.k[:], rec.key)
	case kindMeta:
		rec.counter = r.uvarint()
	default:
		return nil, errRecord
	}
	if r.bad || len(r.b) != 0 {
		return nil, errRecord
	}
	return rec, nil
}
