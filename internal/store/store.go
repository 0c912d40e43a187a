package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// Store is an open message store. Write, MarkShown and Close are safe for
// concurrent use.
//
// Concurrency:
//   - Immutable after Open (set before the writer goroutine starts): dir,
//     db, lim, now, ackDelay, ch and exited. ch is closed once, by Close
//     under mu; exited by the writer when it returns.
//   - mu guards closed and sending on ch: Write sends under the read lock,
//     so Close (the write lock) never closes ch under a sender. A Write
//     blocks while the channel's 256 requests wait.
//   - shownMu guards shownF and the writes of the shown file; shown is an
//     atomic (stored under shownMu by MarkShown, loaded by the writer).
//   - st is owned by the writer goroutine; commits is an atomic.
//
// The two locks are never held together (Close releases mu before it
// takes shownMu). The writer calls the Writes' done functions holding no
// lock of the Store, so they may take their caller's locks: a caller
// must then not call Write while it holds those (peer's feedStore hands
// Writes over without Node.mu, which its done functions take).
type Store struct {
	dir string
	db  *bolt.DB
	lim Limits
	now func() time.Time

	ackDelay time.Duration // see light; read by the writer only

	mu     sync.RWMutex // guards closed and sending on ch
	closed bool
	ch     chan request
	exited chan struct{} // closed when the writer has returned

	shownMu sync.Mutex
	shownF  *os.File // nil once closed; also the home's lock
	shown   atomic.Uint64

	commits atomic.Uint64 // transactions committed by the writer (for tests)

	st state // the writer's accounting; only the writer touches it after Open
}

// state is what the writer needs to check bounds without reading the
// database: bytes per recipient and in all, the inbox entries in idx order
// with their sizes, and each sender's last update.
type state struct {
	outBytes map[Key]int
	outTotal int
	inq      []inEntry
	inBytes  int
	posTime  map[Key]int64
	lastIdx  uint64
	lastID   uint64
	sums     [nBuckets]bucketSum // what the buckets hold (see bucketSum)
}

type inEntry struct {
	idx uint64
	n   int
}

const dbName = "messages.db"

// errDamaged marks bbolt panicking on the file: damage, not a passing
// failure.
var errDamaged = errors.New("damaged")

// Open opens (or creates) the store in dir, waiting up to lockWait for
// another process holding it. Zero fields of lim take the defaults.
func Open(dir string, lim Limits, lockWait time.Duration) (*Store, Snapshot, error) {
	return open(dir, lim, lockWait, time.Now)
}

func (l Limits) withDefaults() Limits {
	if l.PeerBytes <= 0 {
		l.PeerBytes = DefaultPeerBytes
	}
	if l.TotalBytes <= 0 {
		l.TotalBytes = DefaultTotalBytes
	}
	if l.InboxBytes <= 0 {
		l.InboxBytes = DefaultInboxBytes
	}
	if l.Senders <= 0 {
		l.Senders = DefaultSenders
	}
	return l
}

// notWritable says whether err means the home cannot be written.
func notWritable(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

func open(dir string, lim Limits, lockWait time.Duration, now func() time.Time) (*Store, Snapshot, error) {
	s := &Store{dir: dir, lim: lim.withDefaults(), now: now, ackDelay: ackDelay}
	var snap Snapshot
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, snap, fmt.Errorf("message store: create %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "shown"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if notWritable(err) {
			return nil, snap, fmt.Errorf("message store: home directory %s is not writable: %w", dir, err)
		}
		return nil, snap, fmt.Errorf("message store: open %s: %w", dir, err)
	}
	if err := lockFile(f, lockWait); err != nil {
		f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, snap, fmt.Errorf("message store: %s: %w", dir, ErrLocked)
		}
		return nil, snap, fmt.Errorf("message store: %w", err)
	}
	shown, ok, err := readShown(f)
	if err != nil {
		f.Close()
		return nil, snap, err
	}
	if !ok {
		snap.Damaged = append(snap.Damaged, Damage{Kind: DamageShownMark, File: "shown"})
	}
	if fi, err := f.Stat(); !ok || err != nil || fi.Size() != shownSize {
		// Written now, so that MarkShown only ever overwrites its 16
		// bytes: no block to allocate on a full disk.
		if err := writeShownFile(f, shown); err != nil {
			f.Close()
			return nil, snap, wrapWriteErr(fmt.Sprintf("message store: write %s", f.Name()), err)
		}
	}
	s.shownF = f
	s.shown.Store(shown)

	fail := func(err error) (*Store, Snapshot, error) {
		if s.db != nil {
			s.db.Close()
		}
		f.Close()
		return nil, Snapshot{}, err
	}
	path := filepath.Join(dir, dbName)
	if err := finishReplace(path); err != nil {
		return fail(err)
	}
	data, unmap, err := mapFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(fmt.Errorf("message store: read %s: %w", path, err))
	}
	if err == nil && len(data) > 0 {
		var fixes []metaFix
		if guarded(func() error { fixes = fixMetas(data); return nil }) == nil && len(fixes) > 0 {
			unmap()
			if err := writeFixes(path, fixes); err != nil {
				return fail(err)
			}
			snap.Damaged = append(snap.Damaged, Damage{Kind: DamageMetaFixed, File: dbName})
			if data, unmap, err = mapFile(path); err != nil {
				return fail(fmt.Errorf("message store: read %s: %w", path, err))
			}
		}
	}
	defer func() { unmap() }()
	var bad error
	switch {
	case err == nil && len(data) == 0:
		bad = errors.New("the file is empty") // bbolt writes its first pages at creation
	case err == nil:
		bad = guarded(func() error { return checkFile(data) })
	}
	if bad == nil {
		s.db, err = openBolt(path, lockWait)
		if _, ok0 := metaAt(data, 0); len(data) > 0 && (!ok0 || !validMeta1(data)) {
			snap.Damaged = append(snap.Damaged, Damage{Kind: DamageMetaTorn, File: dbName})
		}
		switch {
		case errors.Is(err, bberrors.ErrTimeout):
			return fail(fmt.Errorf("message store: %s: %w", dir, ErrLocked))
		case err != nil && notWritable(err):
			return fail(fmt.Errorf("message store: home directory %s is not writable: %w", dir, err))
		case errors.Is(err, errDamaged) || errors.Is(err, bberrors.ErrInvalid) ||
			errors.Is(err, bberrors.ErrVersionMismatch) || errors.Is(err, bberrors.ErrChecksum):
			bad = err
		case err != nil: // not damage (no memory, an I/O error): leave the file alone
			return fail(fmt.Errorf("message store: %w", err))
		}
	}
	var loaded *loadResult
	if bad == nil {
		if loaded, err = s.load(); err != nil {
			s.db.Close()
			s.db = nil
			bad = err
		}
	}
	if bad != nil {
		lines, err := s.replace(path, data, bad, lockWait)
		if err != nil {
			return fail(err)
		}
		snap.Damaged = append(snap.Damaged, lines...)
		if loaded, err = s.load(); err != nil {
			return fail(fmt.Errorf("message store: the rebuilt %s cannot be read: %w", path, err))
		}
	}
	if err := s.tidy(loaded); err != nil {
		return fail(err)
	}
	if len(data) == 0 || bad != nil { // messages.db was created
		if err := syncDir(dir); err != nil {
			return fail(fmt.Errorf("message store: sync %s: %w", dir, err))
		}
	}
	snap.Out = loaded.out
	snap.In = loaded.in
	snap.Unshown = loaded.unshown
	snap.LastIdx = s.st.lastIdx
	snap.LastID = s.st.lastID
	snap.Damaged = append(snap.Damaged, loaded.damaged...)

	s.ch = make(chan request, 256)
	s.exited = make(chan struct{})
	go s.writer()
	return s, snap, nil
}

// writeFixes writes fixMetas' bytes into the file at path, synced.
func writeFixes(path string, fixes []metaFix) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("message store: set right a meta page of %s: %w", path, err)
	}
	defer f.Close()
	for _, x := range fixes {
		if _, err := f.WriteAt([]byte{x.b}, int64(x.off)); err != nil {
			return wrapWriteErr("message store: set right a meta page of "+path, err)
		}
	}
	if !noSync.Load() {
		if err := f.Sync(); err != nil {
			return wrapWriteErr("message store: sync "+path, err)
		}
	}
	return nil
}

// openBolt opens the database, turning a panic or a memory fault of bbolt
// into an error.
func openBolt(path string, wait time.Duration) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: bbolt failed: %s", errDamaged, printable(fmt.Sprint(r)))
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        wait + 50*time.Millisecond, // bbolt gives up one 50ms poll before its Timeout
		NoFreelistSync: true,                       // rebuilt from the tree at open: nothing more to sync nor to damage
		FreelistType:   bolt.FreelistMapType,
		NoSync:         noSync.Load(),
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// guarded runs f over the mapped file, turning a memory fault (the file
// shrank under the map) or any panic into an error.
func guarded(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the file failed: %s", printable(fmt.Sprint(r)))
		}
	}()
	return f()
}

// printable keeps the printable ASCII of s, bounded.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 200 {
			b.WriteString("…")
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// loadResult is what load read: the snapshot's parts, the records to
// delete (damaged ones, inbox entries already shown) and the damage lines.
type loadResult struct {
	out     []OutStream
	in      map[Key]InPos
	unshown []InMsg
	damaged []Damage
	deletes []dbKey
}

type dbKey struct {
	bucket, key []byte
}

// load reads the whole database into the writer's state and a snapshot.
// bbolt panics on some damage checkFile cannot see; that is an error here.
func (s *Store) load() (res *loadResult, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("bbolt failed reading: %s", printable(fmt.Sprint(r)))
		}
	}()
	res = &loadResult{in: map[Key]InPos{}}
	s.st = state{outBytes: map[Key]int{}, posTime: map[Key]int64{}}
	shown := s.shown.Load()
	err = s.db.View(func(tx *bolt.Tx) error {
		// One of our buckets damaged into a plain value has lost its
		// pages to bbolt (they count as free): only salvage finds them.
		for _, name := range [][]byte{bucketOut, bucketIn, bucketPos, bucketMeta} {
			if k, v := tx.Cursor().Seek(name); bytes.Equal(k, name) && v != nil {
				return fmt.Errorf("the %s bucket is not a bucket", name)
			}
		}
		// A file that has had a transaction beyond bbolt's two initial
		// ones has been through tidy, which makes every bucket.
		if tx.Bucket(bucketMeta) == nil && tx.ID() > 1 {
			return errors.New("the meta bucket is missing")
		}
		damaged := func(bucket, k []byte) {
			res.deletes = append(res.deletes, dbKey{bucket, append([]byte(nil), k...)})
			res.damaged = append(res.damaged, damageLine(bucket, k))
		}
		// A record whose CRC holds under another key is whole, but bbolt's
		// key of it is not: salvage files it under its own.
		misfiled := func(bucket []byte) error {
			return fmt.Errorf("a record of the %s bucket is under a damaged key", bucket)
		}
		var sums [nBuckets]bucketSum
		var stored *[nBuckets]bucketSum
		if b := tx.Bucket(bucketMeta); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				if bytes.Equal(k, metaSums) {
					r, err := decode(v)
					if err != nil || r.kind != kindSums {
						return errors.New("the record of what the buckets hold is damaged")
					}
					stored = &r.sums
					return nil
				}
				sums[iMeta].add(v)
				r, err := decode(v)
				if err == nil && !bytes.Equal(r.key, k) {
					return misfiled(bucketMeta)
				}
				if err != nil || r.kind != kindMeta {
					damaged(bucketMeta, k)
					return nil
				}
				switch string(k) {
				case string(metaLastIdx):
					s.st.lastIdx = max(s.st.lastIdx, r.counter)
				case string(metaLastID):
					s.st.lastID = max(s.st.lastID, r.counter)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketOut); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				sums[iOut].add(v)
				r, err := decode(v)
				if err == nil && !bytes.Equal(r.key, k) {
					return misfiled(bucketOut)
				}
				if err != nil || (r.kind != kindHead && r.kind != kindOut) {
					damaged(bucketOut, k)
					return nil
				}
				var cur *OutStream
				if n := len(res.out); n > 0 && res.out[n-1].Key == r.k {
					cur = &res.out[n-1]
				} else {
					res.out = append(res.out, OutStream{Key: r.k})
					cur = &res.out[len(res.out)-1]
				}
				if r.kind == kindHead {
					cur.Nick, cur.Stream, cur.Next = r.nick, r.stream, r.next
					return nil
				}
				cur.Msgs = append(cur.Msgs, OutMsg{ID: r.id, Seq: r.seq, Time: r.time, All: r.all, Text: r.text, App: r.app})
				cur.Next = max(cur.Next, r.seq+1)
				s.st.outBytes[r.k] += len(r.text)
				s.st.outTotal += len(r.text)
				s.st.lastID = max(s.st.lastID, r.id)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketIn); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				sums[iIn].add(v)
				r, err := decode(v)
				if err == nil && !bytes.Equal(r.key, k) {
					return misfiled(bucketIn)
				}
				if err != nil || r.kind != kindIn {
					damaged(bucketIn, k)
					return nil
				}
				s.st.lastIdx = max(s.st.lastIdx, r.id)
				if r.id <= shown {
					res.deletes = append(res.deletes, dbKey{bucketIn, append([]byte(nil), k...)})
					return nil
				}
				res.unshown = append(res.unshown, InMsg{Idx: r.id, Key: r.k, Nick: r.nick, Stream: r.stream, Seq: r.seq, Time: r.time, All: r.all, Text: r.text, App: r.app})
				s.st.inq = append(s.st.inq, inEntry{r.id, len(r.text)})
				s.st.inBytes += len(r.text)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketPos); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				sums[iPos].add(v)
				r, err := decode(v)
				if err == nil && !bytes.Equal(r.key, k) {
					return misfiled(bucketPos)
				}
				if err != nil || r.kind != kindPos {
					damaged(bucketPos, k)
					return nil
				}
				res.in[r.k] = InPos{Stream: r.stream, Next: r.next}
				s.st.posTime[r.k] = r.time
				return nil
			})
			if err != nil {
				return err
			}
		}
		// A file written before the sums has none: tidy writes them.
		if stored != nil && *stored != sums {
			return fmt.Errorf("the buckets do not hold what was last written (%s, written %s, or a record replaced): a damaged page", sumsString(sums), sumsString(*stored))
		}
		s.st.sums = sums
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dbName, err)
	}
	// The mark may be above every idx the database knows (it was rebuilt):
	// new entries must come above it, or they would count as shown.
	s.st.lastIdx = max(s.st.lastIdx, shown)
	return res, nil
}

// sumsString shows the record counts of sums.
func sumsString(sums [nBuckets]bucketSum) string {
	return fmt.Sprintf("%d/%d/%d/%d records", sums[iOut].n, sums[iIn].n, sums[iPos].n, sums[iMeta].n)
}

// damageLine is the report of one damaged record; it gives at most four
// bytes of the key, in hex.
func damageLine(bucket, k []byte) Damage {
	d := Damage{Kind: DamageRecord, Bucket: string(bucket)}
	switch {
	case len(k) >= 8 && string(bucket) == BucketIn:
		d.Entry, d.HasEntry = uint64FromBE(k[:8]), true
	case len(k) >= 40 && string(bucket) == BucketOut:
		d.Key, d.Entry, d.HasEntry = fmt.Sprintf("%x", k[:4]), uint64FromBE(k[32:40]), true
	case len(k) >= 4:
		d.Key = fmt.Sprintf("%x", k[:4])
	}
	return d
}

// bucketIndex is the index in the sums of the bucket named b.
func bucketIndex(b []byte) int {
	switch string(b) {
	case string(bucketOut):
		return iOut
	case string(bucketIn):
		return iIn
	case string(bucketPos):
		return iPos
	}
	return iMeta
}

func uint64FromBE(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// tidy makes the buckets, deletes what load found damaged or shown, drops
// sender positions past the bound and writes the counters: one synced
// transaction.
func (s *Store) tidy(res *loadResult) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketOut, bucketIn, bucketPos, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		for _, d := range res.deletes {
			b := tx.Bucket(d.bucket)
			i := bucketIndex(d.bucket)
			if b.Get(d.key) == nil { // a record damaged into a bucket
				if err := b.DeleteBucket(d.key); err != nil {
					return err
				}
				s.st.sums[i].sub(nil)
				continue
			}
			if err := s.del(b, i, d.key); err != nil {
				return err
			}
		}
		for _, k := range s.evictSenders() {
			delete(res.in, k)
			if err := s.del(tx.Bucket(bucketPos), iPos, k[:]); err != nil {
				return err
			}
		}
		return s.putCounters(tx)
	})
	if err != nil {
		return wrapWriteErr("message store: tidy "+filepath.Join(s.dir, dbName), err)
	}
	return nil
}

// wrapWriteErr wraps a failed write or commit, adding ErrNoSpace when the
// disk is full.
func wrapWriteErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s: %w (%w)", what, ErrNoSpace, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// noSync turns off every fsync, for tests that open hundreds of damaged
// stores (withoutSync in the tests, which run in parallel: atomic);
// nothing else sets it.
var noSync atomic.Bool

// syncDir makes a new or renamed file's directory entry durable.
func syncDir(dir string) error {
	if noSync.Load() {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// putCounters writes the counters, then the sums (last: they count the
// counters).
func (s *Store) putCounters(tx *bolt.Tx) error {
	b := tx.Bucket(bucketMeta)
	if err := s.put(b, iMeta, metaLastIdx, encode(&record{kind: kindMeta, key: metaLastIdx, counter: s.st.lastIdx})); err != nil {
		return err
	}
	if err := s.put(b, iMeta, metaLastID, encode(&record{kind: kindMeta, key: metaLastID, counter: s.st.lastID})); err != nil {
		return err
	}
	return b.Put(metaSums, encode(&record{kind: kindSums, key: metaSums, sums: s.st.sums}))
}

// evictSenders removes from posTime the least recently updated senders past
// the bound and returns them (ties: the smaller key goes first).
func (s *Store) evictSenders() []Key {
	over := len(s.st.posTime) - s.lim.Senders
	if over <= 0 {
		return nil
	}
	keys := make([]Key, 0, len(s.st.posTime))
	for k := range s.st.posTime {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ti, tj := s.st.posTime[keys[i]], s.st.posTime[keys[j]]
		if ti != tj {
			return ti < tj
		}
		return bytes.Compare(keys[i][:], keys[j][:]) < 0
	})
	for _, k := range keys[:over] {
		delete(s.st.posTime, k)
	}
	return keys[:over]
}

// replace moves a damaged database aside, writes what could be salvaged
// from its bytes into a fresh one and opens that; it returns the lines to
// report.
func (s *Store) replace(path string, data []byte, why error, lockWait time.Duration) ([]Damage, error) {
	var recs []*record
	var lost []Damage
	err := guarded(func() error {
		var all []*record
		all, lost = salvage(data)
		recs = mergeSalvaged(all)
		return nil
	})
	if err != nil {
		recs, lost = nil, nil // the file changed under the map: salvage nothing
	}
	// The rebuilt database is made beside the damaged one and only then
	// put in its place: if anything fails before (a full disk), the
	// damaged file stays where the next start looks for it.
	tmp := path + ".rebuild"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("message store: remove %s: %w", tmp, err)
	}
	db, err := openBolt(tmp, lockWait)
	if err != nil {
		os.Remove(tmp)
		return nil, wrapWriteErr(fmt.Sprintf("message store: %s is damaged (%s) and a fresh one cannot be made", path, printable(why.Error())), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketOut, bucketIn, bucketPos, bucketMeta} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		for _, r := range recs {
			if err := tx.Bucket(bucketOf(r.kind)).Put(r.key, encode(r)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, wrapWriteErr(fmt.Sprintf("message store: %s is damaged (%s); write what was salvaged from it", path, printable(why.Error())), err)
	}
	aside := fmt.Sprintf("%s.damaged-%d", path, s.now().Unix())
	for i := 1; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.damaged-%d.%d", path, s.now().Unix(), i)
	}
	if _, err := os.Lstat(path); err == nil {
		if err := os.Rename(path, aside); err != nil {
			return nil, fmt.Errorf("message store: %s is damaged and cannot be moved aside: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("message store: put the rebuilt %s in place: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("message store: sync %s: %w", filepath.Dir(path), err)
	}
	if s.db, err = openBolt(path, lockWait); err != nil {
		return nil, fmt.Errorf("message store: open the rebuilt %s: %w", path, err)
	}
	rebuilt := Damage{Kind: DamageRebuilt, File: dbName, Why: printable(why.Error()), Aside: filepath.Base(aside), Count: len(recs)}
	return append([]Damage{rebuilt}, lost...), nil
}

// finishReplace completes a replace cut between its two renames: the
// damaged file was moved aside, the complete rebuilt one not yet in place.
func finishReplace(path string) error {
	tmp := path + ".rebuild"
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, err := os.Lstat(tmp); err != nil {
		return nil
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("message store: put the rebuilt %s in place: %w", path, err)
	}
	return nil
}

// mergeSalvaged keeps one record per bucket and key: a salvaged file can
// hold old versions in freed pages. Positions and heads keep the most
// advanced version, counters the highest; messages never change once
// written, so any copy does.
func mergeSalvaged(recs []*record) []*record {
	type id struct {
		bucket, key string
	}
	best := map[id]*record{}
	var order []id
	for _, r := range recs {
		k := id{string(bucketOf(r.kind)), string(r.key)}
		old, ok := best[k]
		if !ok {
			best[k] = r
			order = append(order, k)
			continue
		}
		if old.kind != r.kind {
			continue
		}
		switch r.kind {
		case kindHead:
			if r.next > old.next {
				best[k] = r
			}
		case kindPos:
			if r.time > old.time || (r.time == old.time && r.next > old.next) {
				best[k] = r
			}
		case kindMeta:
			if r.counter > old.counter {
				best[k] = r
			}
		}
	}
	out := make([]*record, len(order))
	for i, k := range order {
		out[i] = best[k]
	}
	return out
}
