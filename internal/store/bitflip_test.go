package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// flip is one bit of the file to flip, and what it hits.
type flip struct {
	off  int
	bit  uint
	what string
}

// flipsOf lists the bits TestBitFlipNoSilentLoss flips in a file: on every
// page up to the high-water mark, every bit of the page header (id, flags,
// count, overflow); on the meta pages one bit of each byte of the meta; on
// branch and leaf pages, in the first and last element headers every bit
// of the low bytes of the offset and sizes and one bit of each other
// byte, and one bit of every 167th byte after the element headers (keys
// and values).
func flipsOf(data []byte, m bbMeta) []flip {
	ps := int(m.pageSize)
	var out []flip
	add := func(off int, bit uint, what string) { out = append(out, flip{off, bit, what}) }
	for id := 0; id < int(m.hwm); id++ {
		base := id * ps
		for i := range pageHeaderSize {
			field := "id"
			switch {
			case i >= 8 && i < 10:
				field = "flags"
			case i >= 10 && i < 12:
				field = "count"
			case i >= 12:
				field = "overflow"
			}
			for bit := range uint(8) {
				add(base+i, bit, fmt.Sprintf("page %d %s", id, field))
			}
		}
		p := data[base:]
		flags := binary.LittleEndian.Uint16(p[8:])
		count := int(binary.LittleEndian.Uint16(p[10:]))
		switch {
		case id < 2:
			for i := range metaSumLen + 8 {
				add(base+pageHeaderSize+i, uint(i%8), fmt.Sprintf("meta %d byte %d", id, i))
			}
		case flags == flagLeaf || flags == flagBranch:
			span := (int(binary.LittleEndian.Uint32(p[12:])) + 1) * ps
			elems := pageHeaderSize + count*elemSize
			var ends []int // the first and last elements
			switch {
			case count == 1:
				ends = []int{0}
			case count > 1:
				ends = []int{0, count - 1}
			}
			for _, e := range ends {
				for i := range elemSize {
					off := base + pageHeaderSize + e*elemSize + i
					if i%4 == 0 && (i > 0) == (flags == flagLeaf) { // low byte of pos, ksize, vsize or pgid: every bit
						for bit := range uint(8) {
							add(off, bit, fmt.Sprintf("page %d element %d", id, e))
						}
					} else {
						add(off, uint(i+e)%8, fmt.Sprintf("page %d element %d", id, e))
					}
				}
			}
			for i := elems; i < span && base+i < len(data); i += 167 {
				add(base+i, uint(i%8), fmt.Sprintf("page %d body byte %d", id, i))
			}
		}
	}
	return out
}

// lost returns the entries of c that snap lacks without a damage line
// naming them, and an error if snap holds anything c did not write so.
func (c corpus) lost(snap Snapshot) ([]string, error) {
	for _, o := range snap.Out {
		for _, m := range o.Msgs {
			if q, ok := c.out[m.Text]; !ok || q.Key != o.Key || q.Msg != m {
				return nil, fmt.Errorf("outbox holds %+v for %x, never written so", m, o.Key[:4])
			}
		}
	}
	for _, m := range snap.Unshown {
		if want, ok := c.in[m.Idx]; !ok || want != m {
			return nil, fmt.Errorf("inbox holds %+v, never written so", m)
		}
	}
	namedOut := map[string]bool{}
	namedIn := map[uint64]bool{}
	for _, d := range snap.Damaged {
		switch {
		case d.Kind != DamageRecord || !d.HasEntry:
		case d.Bucket == BucketIn:
			namedIn[d.Entry] = true
		case d.Bucket == BucketOut && len(d.Key) == 8:
			namedOut[d.Key+"/"+strconv.FormatUint(d.Entry, 10)] = true
		}
	}
	have := map[string]bool{}
	for _, o := range snap.Out {
		for _, m := range o.Msgs {
			have[m.Text] = true
		}
	}
	haveIn := map[uint64]bool{}
	for _, m := range snap.Unshown {
		haveIn[m.Idx] = true
	}
	var out []string
	for text, q := range c.out {
		if !have[text] && !namedOut[fmt.Sprintf("%x/%d", q.Key[:4], q.Msg.Seq)] {
			out = append(out, fmt.Sprintf("outbox %x… message %d", q.Key[:4], q.Msg.Seq))
		}
	}
	for idx := range c.in {
		if !haveIn[idx] && !namedIn[idx] {
			out = append(out, fmt.Sprintf("inbox entry %d", idx))
		}
	}
	return out, nil
}

// TestBitFlipNoSilentLoss flips, one at a time, bits of every page of a
// filled store (see flipsOf: every header bit, element headers, a sample
// of the keys and values) and opens it: every entry written must be there
// unchanged, or named in a damage line. A flip may lose the record it
// hits, never one it does not name.
func TestBitFlipNoSilentLoss(t *testing.T) {
	t.Parallel() // with the other damage tests: hundreds of opens each
	withoutSync(t)
	onOneProcessor(t)
	dir := scratchDir(t)
	c := fill(t, dir, 48, 30) // 14 pages: 12 leaves and branches, live or freed
	data, err := os.ReadFile(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	m, err := currentMeta(data)
	if err != nil {
		t.Fatal(err)
	}
	flips := flipsOf(data, m)
	// Opens at once, one per processor.
	type result struct {
		f    flip
		snap Snapshot
		err  error
	}
	jobs := make(chan flip)
	results := make(chan result)
	for range runtime.GOMAXPROCS(0) {
		d := scratchDir(t)
		go func() {
			for f := range jobs {
				var r result
				func() {
					defer func() {
						if p := recover(); p != nil {
							r.err = fmt.Errorf("panic: %v", p)
						}
					}()
					r.snap, r.err = openFlipped(d, data, f)
				}()
				r.f = f
				results <- r
			}
		}()
	}
	go func() {
		for _, f := range flips {
			jobs <- f
		}
		close(jobs)
	}()
	silent, unnamed := 0, 0
	start := time.Now()
	for range flips {
		r := <-results
		where := fmt.Sprintf("%s (offset %d bit %d)", r.f.what, r.f.off, r.f.bit)
		if r.err != nil {
			t.Errorf("%s: %v", where, r.err)
			continue
		}
		l, err := c.lost(r.snap)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(l) > 0 {
			unnamed++
			if len(r.snap.Damaged) == 0 {
				silent++
			}
			t.Logf("%s: %d entries lost without being named (%v…); damage reported: %q",
				where, len(l), l[0], r.snap.Damaged)
		}
	}
	t.Logf("%d flips in %d pages, %v", len(flips), m.hwm, time.Since(start).Round(time.Millisecond))
	if unnamed > 0 {
		t.Errorf("%d of %d single-bit flips lost entries they did not name (%d without any damage reported)", unnamed, len(flips), silent)
	}
}

// openFlipped writes data with f's bit flipped as the only file of dir's
// store (besides the shown mark) and opens and closes it.
func openFlipped(dir string, data []byte, f flip) (Snapshot, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Snapshot{}, err
	}
	for _, e := range entries {
		if e.Name() != "shown" {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return Snapshot{}, err
			}
		}
	}
	b := bytes.Clone(data)
	b[f.off] ^= 1 << f.bit
	if err := os.WriteFile(dbPath(dir), b, 0o600); err != nil {
		return Snapshot{}, err
	}
	s, snap, err := open(dir, Limits{}, time.Second, tick())
	if err != nil {
		return snap, fmt.Errorf("Open: %w", err)
	}
	return snap, s.Close()
}

// TestSumsKept: the writer keeps the sums load checks through every kind
// of change (queue, requeue of a seq, ack, unsend, inbox, the shown mark's
// trim, sender eviction, Writes refused as full in a batch with others):
// reopening after any of them reports nothing damaged.
func TestSumsKept(t *testing.T) {
	dir := t.TempDir()
	lim := Limits{PeerBytes: 300, TotalBytes: 900, InboxBytes: 400, Senders: 5}
	rng := rand.New(rand.NewPCG(3, 4))
	var idx, id uint64
	for round := range 12 {
		s, snap := openT(t, dir, lim)
		if len(snap.Damaged) != 0 {
			t.Fatalf("round %d: Damaged = %q", round, snap.Damaged)
		}
		idx = max(idx, snap.LastIdx)
		var wg sync.WaitGroup
		for range 40 {
			var w Write
			k := byte(rng.IntN(6) + 1)
			switch rng.IntN(5) {
			case 0, 1:
				id++
				w.Queue = []Queued{queued(k, uint64(rng.IntN(8)), id, strings.Repeat("q", rng.IntN(120)))}
			case 2:
				w.Acked = []MsgRef{{key(k), uint64(rng.IntN(8))}}
			case 3:
				w.Unsend = []Key{key(k)}
			case 4:
				idx++
				w.Inbox = []InMsg{inbox(idx, k, idx, strings.Repeat("i", rng.IntN(150)))}
				w.InPos = []KeyPos{{key(k + byte(rng.IntN(8))), InPos{1, idx}}}
			}
			if rng.IntN(4) == 0 {
				if err := s.MarkShown(idx - uint64(rng.IntN(3))); err != nil {
					t.Fatal(err)
				}
			}
			wg.Add(1)
			s.Write(w, func(error) { wg.Done() }) // some are refused as full
		}
		wg.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFreelistListsUsedPage: a store file bbolt created but p2pchat never
// committed to (a crash at the first start) has a freelist page, which
// bbolt trusts. One that lists the root page (or a meta page) makes bbolt
// write over it: Open must find it damaged, and messages queued after it
// must still be there at the next start.
func TestFreelistListsUsedPage(t *testing.T) {
	dir := t.TempDir()
	db, err := openBolt(dbPath(dir), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	m, err := currentMeta(data)
	if err != nil || m.freelist == noFreelist {
		t.Fatalf("a fresh file has no freelist page (meta %+v, %v)", m, err)
	}
	for _, id := range []uint64{m.root, 1} {
		t.Run(fmt.Sprint("page ", id), func(t *testing.T) {
			base := int(m.freelist) * int(m.pageSize)
			d := copyDir(t, dir, func(b []byte) []byte {
				binary.LittleEndian.PutUint16(b[base+10:], 1)
				binary.LittleEndian.PutUint64(b[base+pageHeaderSize:], id)
				return b
			})
			s, snap, err := open(d, Limits{}, time.Second, tick())
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(snap.Damaged) == 0 {
				t.Errorf("a freelist listing page %d (in use) not reported", id)
			}
			for i := range 3 {
				mustWrite(t, s, Write{Queue: []Queued{queued(byte(i+1), 0, uint64(i+1), "kept")}})
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, snap, err = open(d, Limits{}, time.Second, tick())
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}
			s.Close()
			if len(snap.Out) != 3 || len(snap.Damaged) != 0 {
				t.Errorf("second open: %d of 3 streams, Damaged %q", len(snap.Out), snap.Damaged)
			}
		})
	}
}
