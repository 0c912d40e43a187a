//go:build windows

package store

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// mapOpen reads size bytes of f (no mapping here: the check reads a copy).
func mapOpen(f *os.File, size int) (data []byte, unmap func(), err error) {
	data = make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, func() {}, err
	}
	return data, func() {}, nil
}

// tryLock takes an exclusive lock on f without waiting; false if another
// holds it.
func tryLock(f *os.File) (bool, error) {
	var ol windows.Overlapped
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}
