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
// per page, key order), with every access bounded; and salvage reads
// records out of the leaf pages of a file that failed. Both are pure
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

// metaAt parses the meta page at off, or fails.
func metaAt(data []byte, off int) (bbMeta, bool) {
	m := off + pageHeaderSize
	if off < 0 || m+metaSumLen+8 > len(data) {
		return bbMeta{}, false
	}
	le := binary.LittleEndian
	if le.Uint16(data[off+8:])&flagMeta == 0 ||
		le.Uint32(data[m:]) != bbMagic || le.Uint32(data[m+4:]) != bbVersion {
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
	}
	if m.root == 0 {
		return nil
	}
	_, err = c.tree(m.root, nil, nil, 0)
	return err
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

// leafElems returns a leaf page's elements (flags, key, value), bounded by
// the page's span.
func leafElems(p page) ([]leafElem, error) {
	if pageHeaderSize+p.count*elemSize > len(p.b) {
		return nil, errors.New("leaf elements past the page")
	}
	le := binary.LittleEndian
	out := make([]leafElem, p.count)
	for i := range out {
		e := pageHeaderSize + i*elemSize
		pos := uint64(le.Uint32(p.b[e+4:]))
		ks := uint64(le.Uint32(p.b[e+8:]))
		vs := uint64(le.Uint32(p.b[e+12:]))
		start := uint64(e) + pos
		if start+ks+vs > uint64(len(p.b)) {
			return nil, errors.New("leaf entry past the page")
		}
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
		for i := range keys {
			e := pageHeaderSize + i*elemSize
			pos := uint64(le.Uint32(p.b[e:]))
			ks := uint64(le.Uint32(p.b[e+4:]))
			start := uint64(e) + pos
			if start+ks > uint64(len(p.b)) {
				return nil, fmt.Errorf("branch page %d: key past the page", id)
			}
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

// salvage reads every record whose CRC checks out of the leaf pages of a
// damaged file, live or freed (so an old version of a record may come back
// beside the newer one: merge decides), inline buckets included.
func salvage(data []byte) []*record {
	ps := os.Getpagesize()
	if m, err := currentMeta(data); err == nil {
		ps = int(m.pageSize)
	}
	var out []*record
	var fromLeaf func(p page, depth int)
	fromLeaf = func(p page, depth int) {
		elems, err := leafElems(p)
		if err != nil {
			return
		}
		for _, e := range elems {
			if e.flags&leafBucket != 0 {
				if depth == 0 && len(e.val) >= 16+pageHeaderSize && binary.LittleEndian.Uint64(e.val) == 0 {
					in := e.val[16:]
					ip := page{b: in, flags: binary.LittleEndian.Uint16(in[8:]), count: int(binary.LittleEndian.Uint16(in[10:]))}
					if ip.flags == flagLeaf {
						fromLeaf(ip, depth+1)
					}
				}
				continue
			}
			if r, err := decode(e.val); err == nil && bytes.Equal(r.key, e.key) {
				out = append(out, r)
			}
		}
	}
	for off := 2 * ps; off+pageHeaderSize <= len(data); off += ps {
		h := data[off:]
		if binary.LittleEndian.Uint16(h[8:]) != flagLeaf {
			continue
		}
		span := (int(binary.LittleEndian.Uint32(h[12:])) + 1) * ps
		if span <= 0 || span > len(data)-off {
			span = len(data) - off // a truncated overflow: take what is there
		}
		fromLeaf(page{b: data[off : off+span], flags: flagLeaf, count: int(binary.LittleEndian.Uint16(h[10:]))}, 0)
	}
	return out
}
