package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// HOME/shown holds the shown mark: 16 bytes, the idx and its complement
// (little endian), written in place with one pwrite and no sync. A torn
// or garbage file fails the complement and counts as mark 0: entries kept
// since the last good mark may be shown again, never lost.
//
// The file is also the home's lock: it is flocked for the life of the
// Store, before messages.db is read at all (the raw file check must not
// look at a database another process is writing).

const shownSize = 16

func encodeShown(idx uint64) []byte {
	b := make([]byte, shownSize)
	binary.LittleEndian.PutUint64(b, idx)
	binary.LittleEndian.PutUint64(b[8:], ^idx)
	return b
}

// decodeShown returns the mark in b; ok is false for a damaged file. An
// empty file (never marked) is mark 0 and fine.
func decodeShown(b []byte) (idx uint64, ok bool) {
	if len(b) == 0 {
		return 0, true
	}
	if len(b) != shownSize {
		return 0, false
	}
	idx = binary.LittleEndian.Uint64(b)
	if binary.LittleEndian.Uint64(b[8:]) != ^idx {
		return 0, false
	}
	return idx, true
}

// readShown reads the mark from f.
func readShown(f *os.File) (uint64, bool, error) {
	b := make([]byte, shownSize+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false, fmt.Errorf("message store: read %s: %w", f.Name(), err)
	}
	idx, ok := decodeShown(b[:n])
	return idx, ok, nil
}

// writeShownFile makes f exactly the 16 bytes of mark idx.
func writeShownFile(f *os.File, idx uint64) error {
	if _, err := f.WriteAt(encodeShown(idx), 0); err != nil {
		return err
	}
	return f.Truncate(shownSize)
}

// lockPoll is how often a held lock is tried again (bbolt polls its own
// lock every 50ms).
const lockPoll = 10 * time.Millisecond

// lockFile takes an exclusive flock on f, trying until wait has passed.
func lockFile(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		held, err := tryLock(f)
		if err != nil {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if held {
			return nil
		}
		if !time.Now().Before(deadline) {
			return ErrLocked
		}
		time.Sleep(lockPoll)
	}
}

// MarkShown records that every inbox entry up to idx has been shown: one
// pwrite of HOME/shown, no sync. The next Write batch deletes them. A mark
// below the current one is ignored. Safe for concurrent use with Write.
func (s *Store) MarkShown(idx uint64) error {
	s.shownMu.Lock()
	defer s.shownMu.Unlock()
	if s.shownF == nil {
		return ErrClosed
	}
	if idx <= s.shown.Load() {
		return nil
	}
	if _, err := s.shownF.WriteAt(encodeShown(idx), 0); err != nil {
		return wrapWriteErr("message store: write the shown mark", err)
	}
	s.shown.Store(idx)
	return nil
}
