//go:build unix

package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mapOpen maps size bytes of f read-only; unmap releases them.
func mapOpen(f *os.File, size int) (data []byte, unmap func(), err error) {
	data, err = unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, func() {}, err
	}
	return data, func() { unix.Munmap(data) }, nil
}

// tryLock takes an exclusive lock on f without waiting; false if another
// holds it.
func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
