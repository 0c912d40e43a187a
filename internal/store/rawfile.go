package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
)

// bbolt trusts its file: a damaged page can make it panic, sometimes on a
// goroutine of its own (where no recover can reach), or recurse forever.
// So before bbolt sees messages.db, checkFile walks the raw bytes the way
// bbolt's own consistency check does (bounds, page types, one reference
// per page, key order, and each page's elements exactly where bbolt puts
// them), with every access bounded; and salvage finds the records of a
// file that failed by their own framing, trusting no page. Both are pure
// functions of the bytes. The layout is bbolt's (version 2, little endian
// on the platforms p2pchat supports).

// mapFile maps path read-only (the raw checks walk it without copying a
// file that may hold tens of MiB); unmap is never nil. We hold the home's
// lock, so nobody truncates it under us.
func mapFile(path string) (data []byte, unmap func(), err error) {
	unmap = func() {}
	f, err := os.Open(path)
	if err != nil {
		return nil, unmap, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, unmap, err
	}
	if fi.Size() == 0 {
		return []byte{}, unmap, nil
	}
	if fi.Size() > 1<<40 {
		return nil, unmap, fmt.Errorf("%s: %d bytes, too big", path, fi.Size())
	}
	data, unmap, err = mapOpen(f, int(fi.Size()))
	if err != nil {
		return nil, func() {}, fmt.Errorf("map %s: %w", path, err)
	}
	return data, unmap, nil
}

const (
	bbMagic        = 0xED0CDAED
	bbVersion      = 2
	pageHeaderSize = 16
	elemSize       = 16 // branch and leaf elements are both 16 bytes
	flagBranch     = 0x01
	flagLeaf       = 0x02
	flagMeta       = 0x04
	flagFreelist   = 0x10
	leafBucket     = 0x01
	noFreelist     = ^uint64(0)
	metaSumLen     = 56 // bytes of the meta covered by its FNV-64a checksum
	maxDepth       = 64
)

type bbMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // pages in use: ids below it
	txid     uint64
}

// metaAt parses the meta page at off, or fails. Like bbolt, it ignores
// the page header: the checksum does not cover it.
func metaAt(data []byte, off int) (bbMeta, bool) {
	m := off + pageHeaderSize
	if off < 0 || m+metaSumLen+8 > len(data) {
		return bbMeta{}, false
	}
	le := binary.LittleEndian
	if le.Uint32(data[m:]) != bbMagic || le.Uint32(data[m+4:]) != bbVersion {
		return bbMeta{}, false
	}
	h := fnv.New64a()
	h.Write(data[m : m+metaSumLen])
	if h.Sum64() != le.Uint64(data[m+metaSumLen:]) {
		return bbMeta{}, false
	}
	mt := bbMeta{
		pageSize: le.Uint32(data[m+8:]),
		root:     le.Uint64(data[m+16:]),
		freelist: le.Uint64(data[m+32:]),
		hwm:      le.Uint64(data[m+40:]),
		txid:     le.Uint64(data[m+48:]),
	}
	ps := mt.pageSize
	if ps < 512 || ps > 1<<16 || ps&(ps-1) != 0 {
		return bbMeta{}, false
	}
	return mt, true
}

// currentMeta is the meta bbolt would use: the valid one with the higher
// txid.
func currentMeta(data []byte) (bbMeta, error) {
	m0, ok0 := metaAt(data, 0)
	var m1 bbMeta
	ok1 := false
	if ok0 {
		m1, ok1 = metaAt(data, int(m0.pageSize))
	} else {
		for _, ps := range []int{os.Getpagesize(), 4096, 8192, 16384, 32768, 65536, 512, 1024, 2048} {
			if m1, ok1 = metaAt(data, ps); ok1 && int(m1.pageSize) == ps {
				break
			}
			ok1 = false
		}
	}
	switch {
	case ok0 && ok1 && m1.txid > m0.txid:
		return m1, nil
	case ok0:
		return m0, nil
	case ok1:
		return m1, nil
	}
	return bbMeta{}, errors.New("both meta pages are invalid")
}

// metaFix is one byte to write back into a meta page.
type metaFix struct {
	off int
	b   byte
}

// fixMetas finds, for each meta page that fails its checksum, the one
// flipped bit that makes it whole again, if there is one: a meta page
// damaged by one bit is set right, not fallen back from (which would lose
// the last commit). A page torn by a crash is not one bit away.
func fixMetas(data []byte) []metaFix {
	var fixes []metaFix
	fix := func(off int) (bbMeta, bool) {
		if m, ok := metaAt(data, off); ok || off+pageHeaderSize+metaSumLen+8 > len(data) {
			return m, ok
		}
		buf := bytes.Clone(data[off : off+pageHeaderSize+metaSumLen+8])
		for i := pageHeaderSize; i < len(buf); i++ {
			for bit := range 8 {
				buf[i] ^= 1 << bit
				if m, ok := metaAt(buf, 0); ok {
					fixes = append(fixes, metaFix{off + i, buf[i]})
					return m, true
				}
				buf[i] ^= 1 << bit
			}
		}
		return bbMeta{}, false
	}
	m0, ok := fix(0)
	ps := int(m0.pageSize)
	if !ok {
		m, err := currentMeta(data)
		if err != nil {
			return fixes
		}
		ps = int(m.pageSize)
	}
	fix(ps)
	return fixes
}

// validMeta1 says whether the second meta page is valid, at the page
// size of the current meta.
func validMeta1(data []byte) bool {
	m, err := currentMeta(data)
	if err != nil {
		return false
	}
	_, ok := metaAt(data, int(m.pageSize))
	return ok
}

// page is one page (with its overflow) of the raw file.
type page struct {
	b     []byte // the whole span, header included
	flags uint16
	count int
}

// checker walks a file's tree from its current meta.
type checker struct {
	data []byte
	m    bbMeta
	seen map[uint64]bool
}

func checkFile(data []byte) error {
	m, err := currentMeta(data)
	if err != nil {
		return err
	}
	if m.hwm < 2 || m.hwm > uint64(len(data))/uint64(m.pageSize) {
		return fmt.Errorf("file ends before its last page (%d pages of %d bytes, file %d bytes)", m.hwm, m.pageSize, len(data))
	}
	c := &checker{data: data, m: m, seen: map[uint64]bool{0: true, 1: true}}
	var free []byte // the freelist's ids, 8 bytes each
	if m.freelist != noFreelist {
		p, err := c.page(m.freelist)
		if err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
		if p.flags != flagFreelist {
			return fmt.Errorf("freelist page %d has type %#x", m.freelist, p.flags)
		}
		n := p.count
		ids := p.b[pageHeaderSize:]
		if n == 0xFFFF {
			if len(ids) < 8 {
				return errors.New("freelist page too short")
			}
			n = int(binary.LittleEndian.Uint64(ids))
			ids = ids[8:]
		}
		if n < 0 || n > len(ids)/8 {
			return errors.New("freelist longer than its page")
		}
		free = ids[:n*8]
	}
	if m.root != 0 {
		if _, err := c.tree(m.root, nil, nil, 0); err != nil {
			return err
		}
	}
	// p2pchat writes no freelist (bbolt rebuilds it from the tree), but a
	// file bbolt created and we never committed to has one. bbolt takes
	// it as given: a page it lists that is in use, or a meta page, would
	// be written over.
	listed := map[uint64]bool{}
	for i := 0; i+8 <= len(free); i += 8 {
		id := binary.LittleEndian.Uint64(free[i:])
		if id < 2 || id >= m.hwm || c.seen[id] || listed[id] {
			return fmt.Errorf("the freelist lists page %d, which is not free", id)
		}
		listed[id] = true
	}
	return nil
}

// page returns page id, checking it lies in the used part of the file and
// was not reached before.
func (c *checker) page(id uint64) (page, error) {
	ps := uint64(c.m.pageSize)
	if id < 2 || id >= c.m.hwm {
		return page{}, fmt.Errorf("page %d out of range", id)
	}
	off := id * ps
	le := binary.LittleEndian
	h := c.data[off : off+pageHeaderSize]
	if le.Uint64(h) != id {
		return page{}, fmt.Errorf("page %d carries id %d", id, le.Uint64(h))
	}
	over := uint64(le.Uint32(h[12:]))
	if id+over >= c.m.hwm {
		return page{}, fmt.Errorf("page %d overflows past the end", id)
	}
	for i := id; i <= id+over; i++ {
		if c.seen[i] {
			return page{}, fmt.Errorf("page %d referenced twice", i)
		}
		c.seen[i] = true
	}
	return page{b: c.data[off : off+(over+1)*ps], flags: le.Uint16(h[8:]), count: int(le.Uint16(h[10:]))}, nil
}

// leafElems returns a leaf page's elements (flags, key, value), checking
// that they are laid out exactly as bbolt writes them: the element headers
// first, count of them, then every element's key and value, one after the
// other in element order. The count is thus written twice (in the header
// and as the first element's offset) and every size once more (as the
// next element's offset): a flipped bit in any of them breaks the layout
// (but for the last element's sizes, which decode's own framing checks).
func leafElems(p page) ([]leafElem, error) {
	if pageHeaderSize+p.count*elemSize > len(p.b) {
		return nil, errors.New("leaf elements past the page")
	}
	le := binary.LittleEndian
	out := make([]leafElem, p.count)
	next := uint64(pageHeaderSize + p.count*elemSize) // where the next key must start
	for i := range out {
		e := pageHeaderSize + i*elemSize
		pos := uint64(le.Uint32(p.b[e+4:]))
		ks := uint64(le.Uint32(p.b[e+8:]))
		vs := uint64(le.Uint32(p.b[e+12:]))
		start := uint64(e) + pos
		if start != next {
			return nil, fmt.Errorf("leaf element %d of %d not where the one before ends", i, p.count)
		}
		if ks == 0 {
			return nil, fmt.Errorf("leaf element %d has an empty key", i)
		}
		if start+ks+vs > uint64(len(p.b)) {
			return nil, errors.New("leaf entry past the page")
		}
		next = start + ks + vs
		out[i] = leafElem{flags: le.Uint32(p.b[e:]), key: p.b[start : start+ks], val: p.b[start+ks : start+ks+vs]}
	}
	return out, nil
}

type leafElem struct {
	flags    uint32
	key, val []byte
}

// tree checks the subtree at id: keys in [lo, hi) and in order; returns
// its largest key.
func (c *checker) tree(id uint64, lo, hi []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("tree too deep")
	}
	p, err := c.page(id)
	if err != nil {
		return nil, err
	}
	switch p.flags {
	case flagBranch:
		if p.count == 0 || pageHeaderSize+p.count*elemSize > len(p.b) {
			return nil, fmt.Errorf("branch page %d: bad count", id)
		}
		le := binary.LittleEndian
		keys := make([][]byte, p.count)
		kids := make([]uint64, p.count)
		next := uint64(pageHeaderSize + p.count*elemSize) // as in leafElems
		for i := range keys {
			e := pageHeaderSize + i*elemSize
			pos := uint64(le.Uint32(p.b[e:]))
			ks := uint64(le.Uint32(p.b[e+4:]))
			start := uint64(e) + pos
			if start != next || ks == 0 {
				return nil, fmt.Errorf("branch page %d: element %d of %d not where the one before ends", id, i, p.count)
			}
			if start+ks > uint64(len(p.b)) {
				return nil, fmt.Errorf("branch page %d: key past the page", id)
			}
			next = start + ks
			keys[i] = p.b[start : start+ks]
			kids[i] = le.Uint64(p.b[e+8:])
		}
		running := lo
		var maxKey []byte
		for i := range keys {
			if err := keyInRange(keys[i], running, hi, i); err != nil {
				return nil, fmt.Errorf("branch page %d: %w", id, err)
			}
			next := hi
			if i+1 < len(keys) {
				next = keys[i+1]
			}
			if maxKey, err = c.tree(kids[i], keys[i], next, depth+1); err != nil {
				return nil, err
			}
			running = maxKey
		}
		return maxKey, nil
	case flagLeaf:
		elems, err := leafElems(p)
		if err != nil {
			return nil, fmt.Errorf("leaf page %d: %w", id, err)
		}
		return c.leaf(elems, lo, hi, depth)
	}
	return nil, fmt.Errorf("page %d has type %#x", id, p.flags)
}

// leaf checks a leaf's key order and the buckets it holds.
func (c *checker) leaf(elems []leafElem, lo, hi []byte, depth int) ([]byte, error) {
	running := lo
	for i, e := range elems {
		if err := keyInRange(e.key, running, hi, i); err != nil {
			return nil, fmt.Errorf("leaf: %w", err)
		}
		running = e.key
		if e.flags&leafBucket == 0 {
			continue
		}
		if len(e.val) < 16 {
			return nil, errors.New("bucket header too short")
		}
		root := binary.LittleEndian.Uint64(e.val)
		if root != 0 {
			if _, err := c.tree(root, nil, nil, depth+1); err != nil {
				return nil, err
			}
			continue
		}
		// An inline bucket: a leaf page inside the value.
		in := e.val[16:]
		if len(in) < pageHeaderSize {
			return nil, errors.New("inline bucket too short")
		}
		ip := page{b: in, flags: binary.LittleEndian.Uint16(in[8:]), count: int(binary.LittleEndian.Uint16(in[10:]))}
		if ip.flags != flagLeaf {
			return nil, errors.New("inline bucket is not a leaf")
		}
		sub, err := leafElems(ip)
		if err != nil {
			return nil, fmt.Errorf("inline bucket: %w", err)
		}
		for _, s := range sub {
			if s.flags&leafBucket != 0 {
				return nil, errors.New("bucket inside an inline bucket")
			}
		}
		if _, err := c.leaf(sub, nil, nil, depth+1); err != nil {
			return nil, err
		}
	}
	return running, nil
}

// keyInRange is bbolt's verifyKeyOrder: the first key not below lo, later
// keys above the previous one, all below hi.
func keyInRange(key, prev, hi []byte, i int) error {
	if i == 0 && prev != nil && bytes.Compare(prev, key) > 0 {
		return errors.New("first key below its ancestor's")
	}
	if i > 0 && bytes.Compare(prev, key) >= 0 {
		return errors.New("keys out of order")
	}
	if hi != nil && bytes.Compare(key, hi) >= 0 {
		return errors.New("key not below the next ancestor key")
	}
	return nil
}

// salvageMax bounds the bytes one record found by salvage may span: the
// node bounds a message at 32 KiB of text, and bounding the CRC at each
// candidate bounds salvage's work on a file crafted against it.
const salvageMax = 64 << 10

// salvage reads every record whose CRC checks out of a damaged file, live
// or freed (so an old version of a record may come back beside the newer
// one: merge decides). It trusts no page header nor element: it finds
// records by their own framing (version, kind, key, fields, CRC), at every
// offset of the file (past a record found, it goes on after its end, so
// a record quoted in a message's text is not taken). It returns too a
// damage line for each message whose leaf element is there but whose
// value is not a record (a bit flipped in it) and which no copy recovered.
func salvage(data []byte) ([]*record, []Damage) {
	var out []*record
	for i := 0; i+6 <= len(data); {
		// To the next version byte (IndexByte is fast: most of a file is
		// not one).
		j := bytes.IndexByte(data[i+4:], recordVersion)
		if j < 0 {
			break
		}
		i += j
		if i+6 <= len(data) && data[i+5] >= byte(kindHead) && data[i+5] <= byte(kindSums) {
			if r, n, err := decodePrefix(data[i:min(len(data), i+salvageMax)]); err == nil {
				if r.kind != kindSums { // stale: tidy writes the rebuilt file's
					out = append(out, r)
				}
				i += n
				continue
			}
		}
		i++
	}
	have := map[string]bool{}
	for _, r := range out {
		have[string(bucketOf(r.kind))+"/"+string(r.key)] = true
	}
	ps := os.Getpagesize()
	if m, err := currentMeta(data); err == nil {
		ps = int(m.pageSize)
	}
	var lines []Damage
	named := map[string]bool{}
	var fromLeaf func(b []byte, depth int)
	fromLeaf = func(b []byte, depth int) {
		for _, e := range looseElems(b) {
			if e.flags&leafBucket != 0 {
				if depth == 0 && len(e.val) >= 16+pageHeaderSize && binary.LittleEndian.Uint64(e.val) == 0 {
					fromLeaf(e.val[16:], depth+1)
				}
				continue
			}
			if _, err := decode(e.val); err == nil {
				continue
			}
			var bucket, key []byte
			switch len(e.key) {
			case 40:
				bucket, key = bucketOut, e.key
			case 8:
				bucket, key = bucketIn, e.key
			default:
				continue // not a message
			}
			id := string(bucket) + "/" + string(key)
			if !have[id] && !named[id] {
				named[id] = true
				lines = append(lines, damageLine(bucket, key))
			}
		}
	}
	for off := 2 * ps; off+pageHeaderSize <= len(data); off += ps {
		if binary.LittleEndian.Uint16(data[off+8:]) != flagLeaf {
			continue
		}
		span := (int(binary.LittleEndian.Uint32(data[off+12:])) + 1) * ps
		if span <= 0 || span > len(data)-off {
			span = len(data) - off // a truncated overflow: take what is there
		}
		fromLeaf(data[off:off+span], 0)
	}
	return out, lines
}

// looseElems returns the elements of the leaf page b as far as their
// layout holds, not trusting the count: the first element's offset says
// how many there are as well.
func looseElems(b []byte) []leafElem {
	if len(b) < pageHeaderSize+elemSize {
		return nil
	}
	le := binary.LittleEndian
	n := max(int(le.Uint16(b[10:])), int(le.Uint32(b[pageHeaderSize+4:]))/elemSize)
	var out []leafElem
	for i := 0; i < n && pageHeaderSize+(i+1)*elemSize <= len(b); i++ {
		e := pageHeaderSize + i*elemSize
		start := uint64(e) + uint64(le.Uint32(b[e+4:]))
		ks := uint64(le.Uint32(b[e+8:]))
		vs := uint64(le.Uint32(b[e+12:]))
		if ks == 0 || start+ks+vs > uint64(len(b)) {
			break
		}
		out = append(out, leafElem{flags: le.Uint32(b[e:]), key: b[start : start+ks], val: b[start+ks : start+ks+vs]})
	}
	return out
}
