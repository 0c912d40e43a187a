package transfer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// fileStamp is what a source file looked like when it was hashed: if it
// differs when it is sent, the file changed.
type fileStamp struct {
	size  int64
	mtime time.Time
}

// collect lists the regular files at paths: a file as its base name, a
// folder with everything in it under the folder's name ("photos/2024/a.jpg").
// Symbolic links inside folders and other special files are skipped. It
// checks the offer's bounds.
func collect(paths []string) ([]wire.FileEntry, []string, error) {
	var entries []wire.FileEntry
	var srcs []string
	var total uint64
	add := func(name, src string, size int64) error {
		if len(entries) >= wire.MaxOfferFiles {
			return &Error{Cause: CauseTooManyFiles, Size: wire.MaxOfferFiles}
		}
		if len(name) > wire.MaxFileNameBytes {
			return &Error{Cause: CauseLongName, File: name, Size: wire.MaxFileNameBytes}
		}
		if uint64(size) > wire.MaxFileSize || total+uint64(size) > wire.MaxOfferTotal {
			return &Error{Cause: CauseTooBig, File: name, Size: wire.MaxOfferTotal}
		}
		total += uint64(size)
		entries = append(entries, wire.FileEntry{Name: name, Size: uint64(size)})
		srcs = append(srcs, src)
		return nil
	}
	if len(paths) == 0 {
		return nil, nil, &Error{Cause: CauseNoFiles}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, &Error{Cause: CauseReadSource, File: p, Err: errors.Unwrap(err)}
		}
		base := filepath.Base(filepath.Clean(p))
		if st.Mode().IsRegular() {
			if err := add(base, p, st.Size()); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !st.IsDir() {
			return nil, nil, &Error{Cause: CauseNotFile, File: p}
		}
		if base == "/" || base == "." {
			base = "files"
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return &Error{Cause: CauseReadSource, File: path, Err: errors.Unwrap(err)}
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return &Error{Cause: CauseReadSource, File: path, Err: err}
			}
			rel, err := filepath.Rel(p, path)
			if err != nil {
				return err
			}
			return add(base+"/"+filepath.ToSlash(rel), path, info.Size())
		})
		if err != nil {
			return nil, nil, err
		}
	}
	if len(entries) == 0 {
		return nil, nil, &Error{Cause: CauseNothingThere}
	}
	if wire.OfferSize(entries) > wire.MaxOfferBytes {
		return nil, nil, &Error{Cause: CauseNamesTooLong, Have: int64(len(entries)), Size: wire.MaxOfferBytes}
	}
	return entries, srcs, nil
}

// hashFile is the SHA-256 of the file at path and its stamp. Its errors
// are *Error: read-source (path), or stopped.
func hashFile(path string, stop <-chan struct{}) ([32]byte, fileStamp, *Error) {
	var sum [32]byte
	unreadable := func(err error) *Error {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err // the path is File
		}
		return &Error{Cause: CauseReadSource, File: path, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return sum, fileStamp{}, unreadable(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sum, fileStamp{}, unreadable(err)
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		select {
		case <-stop:
			return sum, fileStamp{}, &Error{Cause: CauseStopped}
		default:
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, fileStamp{}, unreadable(err)
		}
	}
	copy(sum[:], h.Sum(nil))
	return sum, fileStamp{size: st.Size(), mtime: st.ModTime()}, nil
}

// partialName is where file i of incoming transfer x is received, inside
// the downloads folder: under x's local name, chosen by us at the accept,
// so that no peer can name (or guess) another transfer's files.
func partialName(x *xfer, i int) string {
	return fmt.Sprintf("%s/%s-%d.part", partialDir, x.lname, i)
}

// newLocalName is a fresh local name for an accepted incoming transfer.
func newLocalName() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validLocalName reports whether s can be a local name from a state file:
// ours (32 hex digits) or an earlier version's (the transfer id, 16).
func validLocalName(s string) bool {
	if len(s) != 32 && len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ShortName is a file name cut for one line of text (at most 57 characters
// and an ellipsis), for the user interface.
func ShortName(s string) string { return shortName(s) }

// shortName is a name cut for one line of text.
func shortName(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:28]) + "…" + string(r[len(r)-28:])
	}
	return strings.TrimSpace(s)
}
