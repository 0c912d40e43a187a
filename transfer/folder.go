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
	return checkFolder(p, st)
}

// checkFolder says whether st, the Lstat of the folder of partial files
// at p, is a folder ours alone.
func checkFolder(p string, st fs.FileInfo) error {
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

// ensurePartialFolder makes the folder of partial files again if someone
// removed it while we run (a user tidying the downloads folder), through
// m.root, and checks it as New did: every later transfer needs it.
func (m *Manager) ensurePartialFolder() error {
	if err := m.root.Mkdir(partialDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	st, err := m.root.Lstat(partialDir)
	if err != nil {
		return err
	}
	return checkFolder(filepath.Join(m.cfg.Downloads, partialDir), st)
}
