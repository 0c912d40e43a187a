package store

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

type request struct {
	w    Write
	done func(error)
}

// maxBatch bounds how many Writes go into one transaction.
const maxBatch = 4096

// Write hands w to the writer goroutine, which commits it with every other
// Write waiting at that moment in one synced transaction, then calls done
// (which may be nil) on the writer goroutine, in the order of the Writes;
// done must not block (every later Write waits for it) nor call Close
// (which waits for the writer). done's error is
// nil once w is committed and synced. A Write of only Acked and Unsend may
// be held up to a second and committed with the next Write that needs a
// sync (an empty Write commits what is held at once); at a power cut it
// may be lost, so a message is sent again, never lost. w's slices must not
// be changed after the call. Within one Write, Acked and Unsend are
// applied before Queue, then Inbox and InPos. A Write that would pass a
// bound fails whole (ErrFull), and the others in its transaction are not
// affected. After Close, done gets ErrClosed at once.
func (s *Store) Write(w Write, done func(error)) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		if done != nil {
			done(ErrClosed)
		}
		return
	}
	s.ch <- request{w, done}
	s.mu.RUnlock()
}

// Close commits what waits, stops the writer and closes the database and
// the lock. Closing twice returns ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.ch)
	s.mu.Unlock()
	<-s.exited
	err := s.db.Close()
	s.shownMu.Lock()
	if cerr := s.shownF.Close(); err == nil {
		err = cerr
	}
	s.shownF = nil
	s.shownMu.Unlock()
	if err != nil {
		return fmt.Errorf("message store: close: %w", err)
	}
	return nil
}

// ackDelay is how long the writer may hold Writes of only Acked and
// Unsend before committing them on their own.
const ackDelay = time.Second

// light says whether w holds only removals (Acked, Unsend): losing those
// at a power cut only sends a message again, which its recipient
// recognises. An empty Write is not light: it is a barrier that commits
// everything held.
func light(w *Write) bool {
	return (len(w.Acked) > 0 || len(w.Unsend) > 0) && len(w.Queue) == 0 && len(w.Inbox) == 0 && len(w.InPos) == 0
}

// writer commits batches until the channel is closed and drained. Every
// commit is synced: bbolt orders its data pages before its meta page only
// through fsync, so an unsynced commit cut by a power loss can leave a
// meta page pointing at stale pages, losing earlier, synced messages.
// Light Writes are held instead (up to ackDelay, or until a Write that
// needs a sync arrives, or Close) and share that Write's commit.
func (s *Store) writer() {
	defer close(s.exited)
	var held []request
	var timer *time.Timer
	var timeout <-chan time.Time
	run := func(batch []request) {
		if timer != nil {
			timer.Stop()
			timer, timeout = nil, nil
		}
		held = nil
		start := time.Now()
		errs := s.commit(batch)
		slog.Debug("message store commit", "writes", len(batch), "took", time.Since(start))
		for i, r := range batch {
			if r.done != nil {
				r.done(errs[i])
			}
		}
	}
	for {
		var first request
		select {
		case r, ok := <-s.ch:
			if !ok {
				if len(held) > 0 {
					run(held)
				}
				return
			}
			first = r
		case <-timeout:
			run(held)
			continue
		}
		batch := append(held, first)
		allLight := light(&first.w)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.ch:
				if !ok {
					break drain // the next receive sees the close
				}
				batch = append(batch, r)
				allLight = allLight && light(&r.w)
			default:
				break drain
			}
		}
		if allLight && len(batch) < maxBatch {
			held = batch
			if timer == nil {
				timer = time.NewTimer(s.ackDelay)
				timeout = timer.C
			}
			continue
		}
		run(batch)
	}
}

// undo restores the writer's state after a transaction that did not
// commit: the old values of what the batch touched.
type undo struct {
	outBytes map[Key]*int // nil: was absent
	posTime  map[Key]*int64
	outTotal int
	inq      []inEntry
	inBytes  int
	lastIdx  uint64
	lastID   uint64
	sums     [nBuckets]bucketSum
}

func (s *Store) newUndo() *undo {
	return &undo{outBytes: map[Key]*int{}, posTime: map[Key]*int64{},
		outTotal: s.st.outTotal, inq: s.st.inq, inBytes: s.st.inBytes, lastIdx: s.st.lastIdx, lastID: s.st.lastID, sums: s.st.sums}
}

func (u *undo) touchOut(s *Store, k Key) {
	if _, ok := u.outBytes[k]; ok {
		return
	}
	if v, ok := s.st.outBytes[k]; ok {
		u.outBytes[k] = &v
	} else {
		u.outBytes[k] = nil
	}
}

func (u *undo) touchPos(s *Store, k Key) {
	if _, ok := u.posTime[k]; ok {
		return
	}
	if v, ok := s.st.posTime[k]; ok {
		u.posTime[k] = &v
	} else {
		u.posTime[k] = nil
	}
}

func (u *undo) restore(s *Store) {
	for k, v := range u.outBytes {
		if v == nil {
			delete(s.st.outBytes, k)
		} else {
			s.st.outBytes[k] = *v
		}
	}
	for k, v := range u.posTime {
		if v == nil {
			delete(s.st.posTime, k)
		} else {
			s.st.posTime[k] = *v
		}
	}
	s.st.outTotal, s.st.inq, s.st.inBytes, s.st.lastIdx, s.st.lastID = u.outTotal, u.inq, u.inBytes, u.lastIdx, u.lastID
	s.st.sums = u.sums
}

// put stores v at k in b, bucket i of the sums, keeping the sums.
func (s *Store) put(b *bolt.Bucket, i int, k, v []byte) error {
	if old := b.Get(k); old != nil {
		s.st.sums[i].sub(old)
	}
	if err := b.Put(k, v); err != nil {
		return err
	}
	s.st.sums[i].add(v)
	return nil
}

// del deletes k from b, bucket i of the sums, keeping the sums; a key
// that is not there is no error.
func (s *Store) del(b *bolt.Bucket, i int, k []byte) error {
	old := b.Get(k)
	if old == nil {
		return nil
	}
	s.st.sums[i].sub(old)
	return b.Delete(k)
}

// commit applies a batch in one transaction and returns each Write's
// error.
func (s *Store) commit(batch []request) []error {
	errs := make([]error, len(batch))
	failAll := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	u := s.newUndo()
	tx, err := s.db.Begin(true)
	if err != nil {
		return failAll(fmt.Errorf("message store: begin: %w", err))
	}
	err = s.trimShown(tx)
	for i := 0; err == nil && i < len(batch); i++ {
		w := &batch[i].w
		if errs[i] = s.fits(tx, w); errs[i] != nil {
			continue
		}
		err = s.apply(tx, w, u)
	}
	if err == nil {
		err = s.putCounters(tx)
	}
	if err != nil {
		tx.Rollback()
		u.restore(s)
		return failAll(fmt.Errorf("message store: write: %w", err))
	}
	err = tx.Commit()
	s.commits.Add(1)
	if err != nil {
		u.restore(s)
		return failAll(wrapWriteErr("message store: commit", err))
	}
	return errs
}

// trimShown deletes the inbox entries at or below the shown mark.
func (s *Store) trimShown(tx *bolt.Tx) error {
	shown := s.shown.Load()
	b := tx.Bucket(bucketIn)
	n := 0
	for ; n < len(s.st.inq) && s.st.inq[n].idx <= shown; n++ {
		if err := s.del(b, iIn, inKey(s.st.inq[n].idx)); err != nil {
			return err
		}
		s.st.inBytes -= s.st.inq[n].n
	}
	s.st.inq = s.st.inq[n:]
	return nil
}

// textLen is the text size of the outbox message at key, 0 if absent.
func textLen(b *bolt.Bucket, key []byte) int {
	v := b.Get(key)
	if v == nil {
		return 0
	}
	r, err := decode(v)
	if err != nil {
		return 0
	}
	return len(r.text)
}

// fits checks w against the bounds, counting what w itself frees, and
// that its inbox entries come in increasing idx above every earlier one.
func (s *Store) fits(tx *bolt.Tx, w *Write) error {
	if len(w.Queue) > 0 {
		b := tx.Bucket(bucketOut)
		per := map[Key]int{}
		for _, k := range w.Unsend {
			per[k] = -s.st.outBytes[k]
		}
		acked := map[MsgRef]bool{}
		for _, a := range w.Acked {
			if acked[a] || containsKey(w.Unsend, a.Key) {
				continue
			}
			acked[a] = true
			per[a.Key] -= textLen(b, outMsgKey(a.Key, a.Seq))
		}
		total := s.st.outTotal
		for _, d := range per {
			total += d
		}
		for _, q := range w.Queue {
			n := len(q.Msg.Text)
			if !acked[MsgRef{q.Key, q.Msg.Seq}] && !containsKey(w.Unsend, q.Key) {
				n -= textLen(b, outMsgKey(q.Key, q.Msg.Seq)) // it replaces that one
			}
			per[q.Key] += n
			total += n
			if got := s.st.outBytes[q.Key] + per[q.Key]; got > s.lim.PeerBytes {
				return fmt.Errorf("message store: %d bytes would wait for %x…, more than %d: %w", got, q.Key[:4], s.lim.PeerBytes, ErrFull)
			}
			if total > s.lim.TotalBytes {
				return fmt.Errorf("message store: %d bytes would wait in all, more than %d: %w", total, s.lim.TotalBytes, ErrFull)
			}
		}
	}
	n, last := s.st.inBytes, s.st.lastIdx
	for _, m := range w.Inbox {
		if m.Idx <= last {
			return fmt.Errorf("message store: inbox entry %d does not come after %d", m.Idx, last)
		}
		last = m.Idx
		n += len(m.Text)
	}
	if n > s.lim.InboxBytes {
		return fmt.Errorf("message store: %d bytes would wait in the inbox, more than %d: %w", n, s.lim.InboxBytes, ErrFull)
	}
	return nil
}

// apply puts w into tx and the writer's state.
func (s *Store) apply(tx *bolt.Tx, w *Write, u *undo) error {
	out := tx.Bucket(bucketOut)
	for _, a := range w.Acked {
		key := outMsgKey(a.Key, a.Seq)
		n := textLen(out, key)
		if out.Get(key) == nil {
			continue
		}
		if err := s.del(out, iOut, key); err != nil {
			return err
		}
		u.touchOut(s, a.Key)
		s.st.outBytes[a.Key] -= n
		s.st.outTotal -= n
	}
	for _, k := range w.Unsend {
		var keys [][]byte
		c := out.Cursor()
		for ck, _ := c.Seek(k[:]); ck != nil && bytes.HasPrefix(ck, k[:]); ck, _ = c.Next() {
			if len(ck) == 40 {
				keys = append(keys, append([]byte(nil), ck...))
			}
		}
		for _, ck := range keys {
			if err := s.del(out, iOut, ck); err != nil {
				return err
			}
		}
		u.touchOut(s, k)
		s.st.outTotal -= s.st.outBytes[k]
		delete(s.st.outBytes, k)
	}
	// A stream with nothing waiting keeps no head: the next run gives that
	// peer a new stream, which its recipient takes as such. (Else every
	// key we ever wrote to, such as those our away answer goes to, would
	// stay in the file.) A Queue below puts the head back.
	emptied := func(k Key) error {
		if s.st.outBytes[k] > 0 {
			return nil
		}
		delete(s.st.outBytes, k)
		return s.del(out, iOut, outHeadKey(k))
	}
	for _, a := range w.Acked {
		if err := emptied(a.Key); err != nil {
			return err
		}
	}
	for _, k := range w.Unsend {
		if err := emptied(k); err != nil {
			return err
		}
	}
	for _, q := range w.Queue {
		head := &record{kind: kindHead, key: outHeadKey(q.Key), nick: q.Nick, stream: q.Stream, next: q.Next}
		if err := s.put(out, iOut, head.key, encode(head)); err != nil {
			return err
		}
		m := &record{kind: kindOut, key: outMsgKey(q.Key, q.Msg.Seq), id: q.Msg.ID, time: q.Msg.Time, all: q.Msg.All, text: q.Msg.Text, app: q.Msg.App}
		n := len(m.text) - textLen(out, m.key)
		if err := s.put(out, iOut, m.key, encode(m)); err != nil {
			return err
		}
		u.touchOut(s, q.Key)
		s.st.outBytes[q.Key] += n
		s.st.outTotal += n
		s.st.lastID = max(s.st.lastID, q.Msg.ID)
	}
	in := tx.Bucket(bucketIn)
	for _, m := range w.Inbox {
		r := &record{kind: kindIn, key: inKey(m.Idx), k: m.Key, nick: m.Nick, stream: m.Stream, seq: m.Seq, time: m.Time, all: m.All, text: m.Text, app: m.App}
		if err := s.put(in, iIn, r.key, encode(r)); err != nil {
			return err
		}
		s.st.inq = append(s.st.inq, inEntry{m.Idx, len(m.Text)})
		s.st.inBytes += len(m.Text)
		s.st.lastIdx = max(s.st.lastIdx, m.Idx)
	}
	pos := tx.Bucket(bucketPos)
	now := s.now().UnixMilli()
	for _, p := range w.InPos {
		r := &record{kind: kindPos, key: p.Key[:], stream: p.Pos.Stream, next: p.Pos.Next, time: now}
		if err := s.put(pos, iPos, append([]byte(nil), r.key...), encode(r)); err != nil {
			return err
		}
		u.touchPos(s, p.Key)
		s.st.posTime[p.Key] = now
	}
	if len(s.st.posTime) > s.lim.Senders {
		for k := range s.st.posTime {
			u.touchPos(s, k)
		}
		for _, k := range s.evictSenders() {
			if err := s.del(pos, iPos, k[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsKey(ks []Key, k Key) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
