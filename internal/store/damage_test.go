package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// corpus is what a damage test wrote: every outbox message by its text
// and every inbox entry by its idx.
type corpus struct {
	out map[string]Queued
	in  map[uint64]InMsg
}

// fill writes n outbox messages (to 4 peers) and n/4 inbox entries, in
// batches of 20 (several commits: freed pages hold older versions), into
// a store in dir and closes it.
func fill(t testing.TB, dir string, n int, textLen int) corpus {
	t.Helper()
	c := corpus{out: map[string]Queued{}, in: map[uint64]InMsg{}}
	s, _ := openT(t, dir, Limits{})
	var w Write
	flush := func() {
		mustWrite(t, s, w)
		w = Write{}
	}
	for i := range n {
		text := fmt.Sprintf("needle-%04d-%s", i, strings.Repeat("x", textLen))
		q := queued(byte(i%4+1), uint64(i/4), uint64(i+1), text)
		c.out[text] = q
		w.Queue = append(w.Queue, q)
		if i%4 == 0 {
			m := inbox(uint64(i/4+1), byte(i%7+10), uint64(i/4), "in-"+text)
			c.in[m.Idx] = m
			w.Inbox = append(w.Inbox, m)
			w.InPos = append(w.InPos, KeyPos{m.Key, InPos{m.Stream, m.Seq + 1}})
		}
		if len(w.Queue) == 20 {
			flush()
		}
	}
	if len(w.Queue) > 0 {
		flush()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return c
}

// check verifies that snap holds only what c wrote, unchanged, and all of
// it when nothing was reported damaged. It returns how many outbox
// messages are there.
func (c corpus) check(t testing.TB, snap Snapshot) int {
	t.Helper()
	n := 0
	for _, o := range snap.Out {
		for _, m := range o.Msgs {
			q, ok := c.out[m.Text]
			if !ok || q.Key != o.Key || q.Msg != m {
				t.Fatalf("outbox holds %+v for %x, never written so", m, o.Key[:4])
			}
			n++
		}
	}
	for _, m := range snap.Unshown {
		if want, ok := c.in[m.Idx]; !ok || want != m {
			t.Fatalf("inbox holds %+v, never written so", m)
		}
	}
	if len(snap.Damaged) == 0 && (n != len(c.out) || len(snap.Unshown) != len(c.in)) {
		t.Fatalf("nothing reported damaged, but %d of %d outbox and %d of %d inbox entries are there",
			n, len(c.out), len(snap.Unshown), len(c.in))
	}
	return n
}

// reopen opens dir (with a bound on the time taken, so a hang fails),
// checks the snapshot, makes sure the store takes a write and closes it;
// it returns the snapshot.
func (c corpus) reopen(t testing.TB, dir string) Snapshot {
	t.Helper()
	type result struct {
		s    *Store
		snap Snapshot
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		s, snap, err := open(dir, Limits{}, time.Second, tick())
		ch <- result{s, snap, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("Open hangs")
	}
	if r.err != nil {
		t.Fatalf("Open: %v", r.err)
	}
	n := c.check(t, r.snap)
	t.Logf("%d of %d outbox, %d of %d inbox entries; damaged: %q", n, len(c.out), len(r.snap.Unshown), len(c.in), r.snap.Damaged)
	for _, d := range r.snap.Damaged {
		line := d.String()
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("damage line not printable: %q", line)
		}
	}
	mustWrite(t, r.s, Write{Queue: []Queued{queued(99, 0, 1<<40, "after")}, Inbox: []InMsg{inbox(r.snap.LastIdx+1, 99, 0, "after")}})
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	return r.snap
}

func dbPath(dir string) string { return filepath.Join(dir, dbName) }

// opensClean fails t unless the store in dir opens with nothing reported
// damaged.
func opensClean(t testing.TB, dir string) {
	t.Helper()
	s, snap, err := Open(dir, Limits{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(snap.Damaged) != 0 {
		t.Errorf("second open: Damaged = %q", snap.Damaged)
	}
}

// withoutSync turns fsync off until every test that asked for it is done:
// for tests that open hundreds of damaged copies, where what is tested is
// what Open makes of the bytes, not their durability (TestCrash* and the
// disk-full tests keep syncing). They call it after t.Parallel(), so it
// is off only once the sequential tests are over.
func withoutSync(t testing.TB) {
	noSyncMu.Lock()
	defer noSyncMu.Unlock()
	noSyncUsers++
	noSync.Store(true)
	t.Cleanup(func() {
		noSyncMu.Lock()
		defer noSyncMu.Unlock()
		if noSyncUsers--; noSyncUsers == 0 {
			noSync.Store(false)
		}
	})
}

var (
	noSyncMu    sync.Mutex
	noSyncUsers int // tests running withoutSync (noSyncMu)
)

// onOneProcessor runs the process on one processor (GOMAXPROCS 1) until
// every test that asked for it is done: for the damage tests, which open
// thousands of copies at once and are called after t.Parallel() (so only
// they run meanwhile; the concurrency tests, sequential, keep every
// processor). Under -race, two processors cost them a third more CPU for
// the same opens (the race detector's shared state, and every unmap of a
// store file signalled to the other processor) and no less wall time.
func onOneProcessor(t testing.TB) {
	oneProcMu.Lock()
	defer oneProcMu.Unlock()
	if oneProcUsers++; oneProcUsers == 1 {
		oneProcWas = runtime.GOMAXPROCS(1)
	}
	t.Cleanup(func() {
		oneProcMu.Lock()
		defer oneProcMu.Unlock()
		if oneProcUsers--; oneProcUsers == 0 {
			runtime.GOMAXPROCS(oneProcWas)
		}
	})
}

var (
	oneProcMu    sync.Mutex
	oneProcUsers int // tests running onOneProcessor (oneProcMu)
	oneProcWas   int // GOMAXPROCS before the first (oneProcMu)
)

func copyDir(t testing.TB, from string, mutate func([]byte) []byte) string {
	t.Helper()
	data, err := os.ReadFile(dbPath(from))
	if err != nil {
		t.Fatal(err)
	}
	dir := scratchDir(t)
	if err := os.WriteFile(dbPath(dir), mutate(bytes.Clone(data)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTornMeta: the newest meta page zeroed (a commit torn by a crash):
// the store opens at the commit before, says so, and keeps its data.
func TestTornMeta(t *testing.T) {
	dir := t.TempDir()
	c := fill(t, dir, 200, 20)
	s, _ := openT(t, dir, Limits{})
	mustWrite(t, s, Write{Queue: []Queued{queued(50, 0, 1000, "the last commit")}})
	s.Close()
	data, _ := os.ReadFile(dbPath(dir))
	m, err := currentMeta(data)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	if m1, ok := metaAt(data, int(m.pageSize)); ok && m1.txid == m.txid {
		off = int(m.pageSize)
	}
	dir2 := copyDir(t, dir, func(b []byte) []byte {
		clear(b[off : off+int(m.pageSize)])
		return b
	})
	s, snap, err := open(dir2, Limits{}, time.Second, tick())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := c.check(t, snap); n != len(c.out) || len(snap.Unshown) != len(c.in) {
		t.Errorf("%d of %d outbox and %d of %d inbox entries kept", n, len(c.out), len(snap.Unshown), len(c.in))
	}
	for _, o := range snap.Out {
		if o.Key == key(50) && len(o.Msgs) > 0 {
			t.Errorf("the torn commit is there: %+v", o)
		}
	}
	if len(snap.Damaged) != 1 || (snap.Damaged[0].Kind != DamageMetaTorn && snap.Damaged[0].Kind != DamageMetaFixed) {
		t.Errorf("Damaged = %q, want the meta page reported", snap.Damaged)
	}
}

func TestTruncated(t *testing.T) {
	dir := t.TempDir()
	c := fill(t, dir, 2000, 200)
	data, _ := os.ReadFile(dbPath(dir))
	m, _ := currentMeta(data)
	used := int(m.hwm) * int(m.pageSize)
	cases := []struct {
		name    string
		size    int
		minKept int // outbox messages that must be salvaged
	}{
		{"last used page cut", used - int(m.pageSize), 1},
		{"half", used / 2, 1},
		{"three pages", 3 * int(m.pageSize), 0},
		{"inside a meta page", 100, 0},
		{"empty", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir, func(b []byte) []byte { return b[:tc.size] })
			snap := c.reopen(t, d)
			if len(snap.Damaged) == 0 {
				t.Errorf("truncation to %d bytes not reported", tc.size)
			}
			if n := c.check(t, snap); n < tc.minKept {
				t.Errorf("%d outbox messages salvaged, want at least %d", n, tc.minKept)
			}
			asides, _ := filepath.Glob(dbPath(d) + ".damaged-*")
			if len(asides) != 1 {
				t.Errorf("damaged file moved aside as %v, want one", asides)
			}
			opensClean(t, d) // the rebuilt store
		})
	}
}

// TestFlippedText: a bit flipped in one message's text: that record is
// reported and skipped, the others are kept.
func TestFlippedText(t *testing.T) {
	dir := t.TempDir()
	c := fill(t, dir, 200, 20)
	cases := []struct {
		needle string
		want   Damage
	}{
		{"needle-0042-", Damage{Kind: DamageRecord, Bucket: BucketOut, Key: "03000000", Entry: 10, HasEntry: true}},
		{"in-needle-0040-", Damage{Kind: DamageRecord, Bucket: BucketIn, Entry: 11, HasEntry: true}},
	}
	for _, tc := range cases {
		t.Run(tc.needle, func(t *testing.T) {
			hits := 0
			d := copyDir(t, dir, func(b []byte) []byte {
				for i := 0; ; {
					j := bytes.Index(b[i:], []byte(tc.needle))
					if j < 0 {
						break
					}
					if tc.needle[0] == 'n' && i+j >= 3 && string(b[i+j-3:i+j]) == "in-" {
						i += j + 1 // the inbox copy of the text
						continue
					}
					b[i+j+len(tc.needle)+3] ^= 0x04
					hits++
					i += j + 1
				}
				return b
			})
			if hits == 0 {
				t.Fatalf("%q not in the file", tc.needle)
			}
			snap := c.reopen(t, d)
			if len(snap.Damaged) != 1 || snap.Damaged[0] != tc.want {
				t.Fatalf("Damaged = %+v, want one %+v", snap.Damaged, tc.want)
			}
			n := c.check(t, snap)
			want, wantIn := len(c.out), len(c.in)
			if tc.needle[0] == 'n' {
				want--
			} else {
				wantIn--
			}
			if n != want || len(snap.Unshown) != wantIn {
				t.Errorf("%d outbox, %d inbox entries kept, want %d, %d", n, len(snap.Unshown), want, wantIn)
			}
			opensClean(t, d) // skipped once: the record is gone
		})
	}
}

// TestGarbage: flipped bytes and random garbage at offsets all over the
// file: Open never fails, panics or hangs, and what it returns was written
// (all of it, if nothing is reported damaged).
func TestGarbage(t *testing.T) {
	t.Parallel() // with the other damage tests: hundreds of opens each
	withoutSync(t)
	onOneProcessor(t)
	dir := scratchDir(t)
	c := fill(t, dir, 120, 30)
	data, _ := os.ReadFile(dbPath(dir))
	rng := rand.New(rand.NewPCG(1, 2))
	mutations := []struct {
		name string
		at   func(b []byte, off int)
	}{
		{"flip", func(b []byte, off int) { b[off] ^= 0xff }},
		{"bit", func(b []byte, off int) { b[off] ^= 1 << (off % 8) }},
		{"garbage", func(b []byte, off int) {
			for i := off; i < min(off+48, len(b)); i++ {
				b[i] = byte(rng.Uint32())
			}
		}},
	}
	step := max(1, len(data)/150)
	if testing.Short() {
		step = max(1, len(data)/20)
	}
	// Every byte of both meta pages' used part, and offsets all over.
	m, err := currentMeta(data)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int
	for _, page := range []int{0, int(m.pageSize)} {
		for i := range pageHeaderSize + metaSumLen + 8 {
			offsets = append(offsets, page+i)
		}
	}
	for off := 0; off < len(data); off += step + off%7 {
		offsets = append(offsets, off)
	}
	for _, mu := range mutations {
		t.Run(mu.name, func(t *testing.T) {
			if mu.name != "garbage" { // it draws from rng, as "whole file random" after it
				t.Parallel() // hundreds of opens each: on another core than the rest
			}
			for _, off := range offsets {
				d := copyDir(t, dir, func(b []byte) []byte { mu.at(b, off); return b })
				t.Logf("offset %d", off)
				c.reopen(t, d)
			}
		})
	}
	t.Run("whole file random", func(t *testing.T) {
		for _, size := range []int{1, 4096, 8192, 5 * 4096, len(data)} {
			d := copyDir(t, dir, func([]byte) []byte {
				b := make([]byte, size)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				return b
			})
			if snap := c.reopen(t, d); len(snap.Damaged) == 0 {
				t.Errorf("random file of %d bytes not reported", size)
			}
		}
	})
}

func TestShownDamaged(t *testing.T) {
	cases := []struct {
		name    string
		content []byte
		damaged bool
		unshown int
	}{
		{"good", encodeShown(2), false, 1},
		{"never marked", nil, false, 3},
		{"zeros", make([]byte, 16), true, 3},
		{"torn", append(encodeShown(2)[:8], encodeShown(1)[8:]...), true, 3},
		{"short", encodeShown(2)[:9], true, 3},
		{"long", append(encodeShown(2), 0), true, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openT(t, dir, Limits{})
			mustWrite(t, s, Write{Inbox: []InMsg{inbox(1, 1, 0, "a"), inbox(2, 1, 1, "b"), inbox(3, 1, 2, "c")}})
			s.Close()
			if err := os.WriteFile(filepath.Join(dir, "shown"), tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, snap := openT(t, dir, Limits{})
			t.Cleanup(func() { s.Close() })
			if got := len(snap.Damaged) == 1 && snap.Damaged[0].Kind == DamageShownMark; got != tc.damaged || (!tc.damaged && len(snap.Damaged) > 0) {
				t.Errorf("Damaged = %q, want damaged %v", snap.Damaged, tc.damaged)
			}
			if len(snap.Unshown) != tc.unshown {
				t.Errorf("%d unshown, want %d", len(snap.Unshown), tc.unshown)
			}
			// Reported once: Open rewrote the file.
			s.Close()
			s, snap = openT(t, dir, Limits{})
			if len(snap.Damaged) != 0 || len(snap.Unshown) != tc.unshown {
				t.Errorf("second open: Damaged %q, %d unshown", snap.Damaged, len(snap.Unshown))
			}
		})
	}
}

// TestFlippedBucketFlag: the bucket flag of each leaf element flipped (a
// record seen as a bucket, a bucket as a record): Open still works.
func TestFlippedBucketFlag(t *testing.T) {
	t.Parallel() // with the other damage tests: hundreds of opens each
	withoutSync(t)
	onOneProcessor(t)
	dir := scratchDir(t)
	c := fill(t, dir, 120, 30)
	data, _ := os.ReadFile(dbPath(dir))
	m, err := currentMeta(data)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(m.pageSize)
	var offsets []int
	for id := 2; id < int(m.hwm); id++ {
		p := data[id*ps:]
		if p[8] != flagLeaf {
			continue
		}
		count := int(p[10]) | int(p[11])<<8
		for i := range count {
			offsets = append(offsets, id*ps+pageHeaderSize+i*elemSize)
		}
	}
	if len(offsets) == 0 {
		t.Fatal("no leaf elements found")
	}
	for _, off := range offsets {
		d := copyDir(t, dir, func(b []byte) []byte { b[off] ^= leafBucket; return b })
		t.Logf("offset %d", off)
		c.reopen(t, d)
	}
}

// FuzzOpen overwrites bytes of a store file anywhere: Open must succeed,
// and keep only what was written (all of it when nothing is reported).
// `go test` runs the seeds; `go test -fuzz FuzzOpen` searches further.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	c := fill(f, dir, 120, 30)
	for _, seed := range []struct {
		off uint32
		b   []byte
	}{{0, []byte{0xff}}, {4096 + 20, []byte{1}}, {2 * 4096, []byte{0, 0, 0, 0}}, {3*4096 + 18, []byte{0x10}}, {9000, []byte("garbage")}, {3*4096 + 10, []byte{2}}} { // the last: a page's count, as the attack review found
		f.Add(seed.off, seed.b)
	}
	f.Fuzz(func(t *testing.T, off uint32, b []byte) {
		d := copyDir(t, dir, func(data []byte) []byte {
			copy(data[int(off)%len(data):], b)
			return data
		})
		c.reopen(t, d)
	})
}

// TestGuardedFault: the mapped file shrinking under a check is an error,
// not a crash.
func TestGuardedFault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 3*4096), 0o600); err != nil {
		t.Fatal(err)
	}
	data, unmap, err := mapFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	var sum byte
	err = guarded(func() error {
		for _, b := range data {
			sum += b
		}
		return nil
	})
	if err == nil {
		t.Fatal("reading past the end of a shrunk file: no error")
	}
	t.Log(err)
}

// TestReplaceCut: a replace cut between its renames (the damaged file
// aside, the rebuilt one not in place) is finished by the next Open.
func TestReplaceCut(t *testing.T) {
	dir := t.TempDir()
	c := fill(t, dir, 40, 10)
	if err := os.Rename(dbPath(dir), dbPath(dir)+".rebuild"); err != nil {
		t.Fatal(err)
	}
	snap := c.reopen(t, dir)
	if n := c.check(t, snap); n != len(c.out) || len(snap.Damaged) != 0 {
		t.Errorf("%d of %d messages, Damaged %q", n, len(c.out), snap.Damaged)
	}
}
