//go:build unix

package transfer

import (
	"io/fs"
	"syscall"
)

// checkModes: permission bits mean what they say.
const checkModes = true

// ownerOf is the user id that owns the file st describes.
func ownerOf(st fs.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}
