package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Codes of a FolderError.
const (
	CodeFolderLink     Code = "folder-link"      // the folder of partial files is a symbolic link
	CodeFolderNotDir   Code = "folder-not-dir"   // it is not a folder
	CodeFolderNotOwned Code = "folder-not-owned" // another user owns it
	CodeFolderOpen     Code = "folder-open"      // others (group or anyone) may write in it
)

// FolderError is New's error when the folder of partial files
// (DOWNLOADS/.p2pchat-partial) is not ours alone: what is in it decides
// what is received, and where.
type FolderError struct {
	Code Code // CodeFolderLink, CodeFolderNotDir, CodeFolderNotOwned or CodeFolderOpen
	Path string
	Mode fs.FileMode
	UID  int // its owner; -1 where not known
}

func (e *FolderError) Error() string {
	return fmt.Sprintf("transfer: %s: %s (mode %v, owner %d)", e.Path, e.Code, e.Mode, e.UID)
}

// partialFolder makes the folder of partial files if it is missing and
// checks that it is ours alone (Lstat: a link is not followed).
func partialFolder(downloads string) error {
	p := filepath.Join(downloads, partialDir)
	if err := os.MkdirAll(downloads, 0o700); err != nil {
		return fmt.Errorf("transfer: downloads folder %s is unusable: %w", downloads, err)
	}
	if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("transfer: downloads folder %s is unusable: %w", downloads, err)
	}
	st, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("transfer: downloads folder %s is unusable: %w", downloads, err)
	}
	uid := ownerOf(st)
	fe := &FolderError{Path: p, Mode: st.Mode(), UID: uid}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		fe.Code = CodeFolderLink
	case !st.IsDir():
		fe.Code = CodeFolderNotDir
	case uid >= 0 && uid != os.Getuid():
		fe.Code = CodeFolderNotOwned
	case checkModes && st.Mode().Perm()&0o022 != 0:
		fe.Code = CodeFolderOpen
	default:
		return nil
	}
	return fe
}
