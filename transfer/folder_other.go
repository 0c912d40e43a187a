//go:build !unix

package transfer

import "io/fs"

// checkModes: permission bits do not describe who may write (Windows ACLs).
const checkModes = false

// ownerOf is not known here.
func ownerOf(fs.FileInfo) int { return -1 }
