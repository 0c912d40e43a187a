package store

import (
	"bytes"
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
	metaSums    = []byte("sums") // kindSums: what the four buckets hold
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
	kindSums                 // sums, bucket meta, key "sums"
)

// The buckets' indexes in sums.
const (
	iOut = iota
	iIn
	iPos
	iMeta // the counters: every meta record but the sums themselves
	nBuckets
)

// bucketSum is what one bucket holds: how many values, and the XOR of
// their first 4 bytes (each value's CRC). bbolt's pages carry no checksum:
// a flipped bit can hide part of a bucket from bbolt (a page's element
// count, a branch's child, a bucket's root page id) and leave it looking
// whole. The writer keeps these in the sums record, in the transaction
// that changes the buckets; load compares them with what it read.
type bucketSum struct {
	n uint64
	x uint32
}

// tag is v's share of its bucket's sum.
func tag(v []byte) uint32 {
	var b [4]byte
	copy(b[:], v)
	return binary.BigEndian.Uint32(b[:])
}

func (s *bucketSum) add(v []byte) { s.n++; s.x ^= tag(v) }
func (s *bucketSum) sub(v []byte) { s.n--; s.x ^= tag(v) }

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
	app     byte                // kindOut, kindIn: an application payload's kind (0: a chat message); written only when non-zero
	counter uint64              // kindMeta
	sums    [nBuckets]bucketSum // kindSums
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
	case kindSums:
		for _, x := range r.sums {
			b = binary.AppendUvarint(b, x.n)
			b = binary.AppendUvarint(b, uint64(x.x))
		}
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
func decode(v []byte) (*record, error) {
	rec, n, err := decodePrefix(v)
	if err != nil || n != len(v) {
		return nil, errRecord
	}
	return rec, nil
}

// decodePrefix decodes the record v begins with and returns its length:
// salvage finds records in raw pages by their own framing.
func decodePrefix(v []byte) (*record, int, error) {
	if len(v) < 6 || v[4] != recordVersion || v[5] < byte(kindHead) || v[5] > byte(kindSums) {
		return nil, 0, errRecord
	}
	rec := &record{kind: kind(v[5])}
	opt := false // the record may end with an optional non-zero app byte
	end := min(len(v), maxRecord)
	r := &reader{b: v[6:end]}
	klen := r.uvarint()
	if klen > 64 {
		return nil, 0, errRecord
	}
	rec.key = append([]byte(nil), r.bytes(klen)...)
	switch rec.kind {
	case kindHead:
		rec.nick = r.string()
		rec.stream = r.uvarint()
		rec.next = r.uvarint()
		if len(rec.key) != 32 {
			return nil, 0, errRecord
		}
		copy(rec.k[:], rec.key)
	case kindOut:
		rec.id = r.uvarint()
		rec.time = r.varint()
		rec.all = r.bool()
		rec.text = r.string()
		opt = true // an optional app byte may follow: the CRC tells
		if len(rec.key) != 40 {
			return nil, 0, errRecord
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
		opt = true // an optional app byte may follow: the CRC tells
		if len(rec.key) != 8 {
			return nil, 0, errRecord
		}
		rec.id = binary.BigEndian.Uint64(rec.key) // the idx
	case kindPos:
		rec.stream = r.uvarint()
		rec.next = r.uvarint()
		rec.time = r.varint()
		if len(rec.key) != 32 {
			return nil, 0, errRecord
		}
		copy(rec.k[:], rec.key)
	case kindMeta:
		rec.counter = r.uvarint()
	case kindSums:
		for i := range rec.sums {
			rec.sums[i].n = r.uvarint()
			x := r.uvarint()
			if x > 0xFFFFFFFF {
				r.bad = true
			}
			rec.sums[i].x = uint32(x)
		}
		if !bytes.Equal(rec.key, metaSums) {
			return nil, 0, errRecord
		}
	}
	if r.bad {
		return nil, 0, errRecord
	}
	n := end - len(r.b)
	sum := binary.BigEndian.Uint32(v)
	if sum == crc32.Checksum(v[4:n], castagnoli) {
		return rec, n, nil
	}
	// With its optional app byte (written only when non-zero): the
	// record's length is the one its CRC covers, so salvage, which reads
	// records out of raw pages where another may follow, frames it right.
	if opt && n < end && v[n] != 0 && sum == crc32.Checksum(v[4:n+1], castagnoli) {
		rec.app = v[n]
		return rec, n + 1, nil
	}
	return nil, 0, errRecord
}
