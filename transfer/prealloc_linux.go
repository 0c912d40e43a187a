package transfer

import (
	"os"
	"syscall"
)

// fallocKeepSize is FALLOC_FL_KEEP_SIZE: allocate without changing the
// file's size, which stays what has arrived (the resume offset).
const fallocKeepSize = 1

// preallocate reserves the blocks of f from off to size, so that the disk
// writes that follow do not allocate them one page at a time. Best
// effort: where it fails (no room, a file system without it) the writes
// allocate as they go and report a full disk themselves.
func preallocate(f *os.File, off, size int64) {
	if size > off {
		_ = syscall.Fallocate(int(f.Fd()), fallocKeepSize, off, size-off)
	}
}
