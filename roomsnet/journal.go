package roomsnet

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pchat/p2pchat/rooms"
)

// A room's journal, HOME/rooms/ID.journal beside its snapshot ID.room,
// holds what was taken in the room since the snapshot, as records:
//
//	length(4, big-endian: of the body) CRC-32C(4, big-endian: of the body) body
//	body: kind(1) then, for kind 1 (a message taken): at(8, Unix ms,
//	      big-endian) and the message's encoding (rooms.Message, as in the
//	      snapshot's log)
//
// Records are appended (written before the events of the messages they
// hold go to the shell) and the file synced at the next tick, one fsync
// per room and tick (no rename, no directory sync but once, when the file
// is made). The snapshot is
// rewritten (and the journal truncated) when the journal would pass
// journalLimit, and on Close. A restore reads the snapshot and replays
// the journal's records in order (rooms.State.Replay; a record replayed
// twice, or one the snapshot holds, is a duplicate the core drops); the
// first record that is cut short or fails its checksum ends the replay,
// and is reported.

const (
	recMessage     = 1
	recHeader      = 8                                    // length and CRC-32C
	maxRecordBytes = 1 + 8 + rooms.MaxMessageBytes + 4096 // a body: a message taken, with room
	journalMin     = 256 << 10                            // journalLimit's least
	maxJournal     = maxFileBytes                         // journalLimit's most: what is read of a journal
	journalSuffix  = ".journal"
)

// journalLimit is the size past which room journal is folded into its
// snapshot: 256 KiB, or the snapshot's size if larger (the rewrites then
// cost at most as much as the records), at most maxJournal.
func journalLimit(snapshot int64) int64 {
	return min(max(journalMin, snapshot), maxJournal)
}

func journalFile(dir string, id rooms.ID) string {
	return filepath.Join(dir, hex.EncodeToString(id[:8])+journalSuffix)
}

// appendMessageRecord appends the record of message m, taken at at (Unix ms).
func appendMessageRecord(dst []byte, m *rooms.Message, at int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, recHeader)...)
	dst = append(dst, recMessage)
	dst = binary.BigEndian.AppendUint64(dst, uint64(at))
	dst = m.AppendEncode(dst)
	body := dst[start+recHeader:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// journalRecord is a message record read back.
type journalRecord struct {
	msg []byte
	at  int64
}

// readJournal reads the records of the journal at path: those before the
// first damaged one, the offset where they end, and a *FileError
// describing the damage (matching errJournal) or why it could not be read,
// if any. A missing journal has no records.
func readJournal(path string) ([]journalRecord, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, &FileError{Kind: FileJournal, File: filepath.Base(path), Damage: DamageUnread, Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return nil, 0, &FileError{Kind: FileJournal, File: filepath.Base(path), Damage: DamageUnread, Err: err}
	}
	recs, off, err := parseJournal(b)
	if fe, ok := err.(*FileError); ok {
		fe.File = filepath.Base(path)
	}
	return recs, off, err
}

func parseJournal(b []byte) ([]journalRecord, int64, error) {
	var recs []journalRecord
	off := 0
	damage := func(d Damage) ([]journalRecord, int64, error) {
		return recs, int64(off), &FileError{Kind: FileJournal, Damage: d, Record: len(recs) + 1, Offset: int64(off), Rest: int64(len(b) - off)}
	}
	if len(b) > maxJournal {
		b = b[:maxJournal]
	}
	for off < len(b) {
		if len(b)-off < recHeader {
			return damage(DamageCutShort)
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		if n < 1 || n > maxRecordBytes {
			return damage(DamageRecord)
		}
		if len(b)-off-recHeader < n {
			return damage(DamageCutShort)
		}
		body := b[off+recHeader : off+recHeader+n]
		if binary.BigEndian.Uint32(b[off+4:]) != crc32.Checksum(body, castagnoli) {
			return damage(DamageChecksum)
		}
		if body[0] != recMessage || len(body) < 9 {
			return damage(DamageRecord)
		}
		recs = append(recs, journalRecord{msg: body[9:], at: int64(binary.BigEndian.Uint64(body[1:]))})
		off += recHeader + n
	}
	return recs, int64(off), nil
}

// syncDir syncs directory dir (a file made in it is then there after a
// crash).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// journalLocked queues the record of m, taken now, for its room's journal
// (r.mu held); saveDirtyLocked appends it.
func (r *Runner) journalLocked(m *rooms.Message) {
	if r.dir == "" {
		return
	}
	r.jbuf[m.Room] = appendMessageRecord(r.jbuf[m.Room], m, r.now().UnixMilli())
}

// journalFileLocked is room id's open journal, opened (made, and the
// directory synced, if it was not there) on first use in this run
// (r.mu held). A journal not replayed in this run (a room joined now)
// starts empty.
func (r *Runner) journalFileLocked(id rooms.ID) (*os.File, error) {
	if f := r.jf[id]; f != nil {
		return f, nil
	}
	path := journalFile(r.dir, id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	made := err == nil
	if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o600)
	}
	if err != nil {
		return nil, &SaveError{File: filepath.Base(path), Err: err}
	}
	if _, ok := r.jsize[id]; !ok && !made {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, &SaveError{File: filepath.Base(path), Err: err}
		}
	}
	if made {
		if err := syncDir(r.dir); err != nil {
			f.Close()
			return nil, &SaveError{File: filepath.Base(path), Err: fmt.Errorf("sync dir: %w", err)}
		}
	}
	if _, ok := r.jsize[id]; !ok {
		r.jsize[id] = 0
	}
	r.jf[id] = f
	return f, nil
}

// appendLocked appends records b to room id's journal, or, when the
// journal would pass journalLimit, writes the room's snapshot instead
// (which holds them) and empties the journal (r.mu held). The records are
// written at once (the kernel has them: a crash of the process keeps
// them) and synced at the next tick (syncJournalsLocked), or at once when
// closing.
func (r *Runner) appendLocked(id rooms.ID, b []byte) {
	if r.dir == "" || len(b) == 0 {
		return
	}
	if r.jsize[id]+int64(len(b)) > journalLimit(r.snap[id]) {
		r.snapshotLocked(id)
		return
	}
	f, err := r.journalFileLocked(id)
	if err == nil {
		r.stats.DiskBytes += uint64(len(b))
		if _, err = f.Write(b); err == nil && r.closed {
			r.stats.JournalSyncs++
			err = f.Sync()
		}
		if err != nil {
			// Cut back what may have gone in half, so that the next
			// records are not behind a torn one; the snapshot holds these.
			f.Truncate(r.jsize[id])
			err = &SaveError{File: filepath.Base(f.Name()), Err: err}
		}
	}
	if err != nil {
		r.stats.SaveErrors++
		r.notSavedLocked(r.roomNameLocked(id), id, err)
		r.snapshotLocked(id)
		return
	}
	r.jsize[id] += int64(len(b))
	if r.closed {
		f.Close()
		delete(r.jf, id)
		return
	}
	r.unsynced[id] = true
}

// syncJournalsLocked syncs the journals written since their last sync
// (r.mu held), at each tick: one fsync per room and tick however many
// records were taken, instead of one per batch of the node's events. A
// journal that cannot be synced is reported, and its room's snapshot
// written (which holds its records).
func (r *Runner) syncJournalsLocked() {
	for id := range r.unsynced {
		delete(r.unsynced, id)
		f := r.jf[id]
		if f == nil {
			continue
		}
		r.stats.JournalSyncs++
		if err := f.Sync(); err != nil {
			r.stats.SaveErrors++
			r.notSavedLocked(r.roomNameLocked(id), id, &SaveError{File: filepath.Base(f.Name()), Err: err})
			r.snapshotLocked(id)
		}
	}
}

// snapshotLocked writes room id's snapshot (atomically: see writeAtomic)
// and then empties its journal (r.mu held). A crash between the two
// replays records the snapshot holds: duplicates, dropped.
func (r *Runner) snapshotLocked(id rooms.ID) {
	if r.dir == "" {
		return
	}
	sv, err := r.st.Export(id)
	if err != nil {
		return // left meanwhile
	}
	b, err := encodeSaved(sv)
	if err != nil {
		err = &SaveError{File: filepath.Base(roomFile(r.dir, id)), Err: err}
	} else {
		r.stats.DiskBytes += uint64(len(b))
		r.stats.Snapshots++
		err = writeAtomic(roomFile(r.dir, id), b)
	}
	var f *os.File
	if err == nil {
		r.snap[id] = int64(len(b))
		f, err = r.journalFileLocked(id)
	}
	if err == nil && r.jsize[id] > 0 {
		if err = f.Truncate(0); err != nil {
			err = &SaveError{File: filepath.Base(f.Name()), Err: err}
		} else {
			r.jsize[id] = 0
			delete(r.unsynced, id) // (emptied: the snapshot, synced, holds its records)
		}
	}
	if err != nil {
		r.stats.SaveErrors++
		r.notSavedLocked(sv.Name, id, err)
	}
	if f != nil && r.closed {
		f.Close()
		delete(r.jf, id)
	}
}

// replayLocked replays room id's journal after its snapshot was restored
// (r.mu held, in New). A damaged record ends the replay: it is reported
// (a "damaged" warning, Stats.JournalDamage) and the snapshot is written
// at once, so that records appended from now on are not behind it.
func (r *Runner) replayLocked(id rooms.ID, name string) {
	path := journalFile(r.dir, id)
	recs, good, err := readJournal(path)
	for _, rec := range recs {
		if rerr := r.st.Replay(id, rec.msg, time.UnixMilli(rec.at)); rerr != nil && !errors.Is(rerr, rooms.ErrDuplicate) {
			r.log.Debug("journal record not replayed", "room", name, "err", rerr)
		}
	}
	r.jsize[id] = good
	if err == nil {
		return
	}
	if errors.Is(err, errJournal) {
		r.stats.JournalDamage++
		// Keep the damaged bytes for a look, and cut them off.
		if b, rerr := os.ReadFile(path); rerr == nil {
			os.WriteFile(path+".damaged", b, 0o600)
		}
		if terr := os.Truncate(path, good); terr != nil {
			delete(r.jsize, id) // emptied when opened
		}
	} else {
		delete(r.jsize, id) // not read: emptied when opened
	}
	r.emitLocked(Event{Kind: EvWarning, Code: CodeDamaged, Room: name, RoomID: id.String(),
		File: filepath.Base(path), Err: err, Count: len(recs)})
	r.snapshotLocked(id)
}

// notSavedLocked reports that a save of room id (name) failed: err, a
// *SaveError naming the file (r.mu held).
func (r *Runner) notSavedLocked(name string, id rooms.ID, err error) {
	e := Event{Kind: EvWarning, Code: CodeNotSaved, Room: name, RoomID: id.String(), Err: err}
	var se *SaveError
	if errors.As(err, &se) {
		e.File = se.File
	}
	r.emitLocked(e)
}
