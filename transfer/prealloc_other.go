//go:build !linux

package transfer

import "os"

// preallocate does nothing here: the disk writes allocate as they go.
func preallocate(f *os.File, off, size int64) {}
