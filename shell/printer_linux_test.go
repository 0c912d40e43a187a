//go:build linux

package shell

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteNowRawOnlyWherePossible: the raw write (which keeps the
// processor, so the whole process stalls if it blocks) is taken only for a
// pipe with room, where it cannot block. A regular file can block (writeback,
// NFS, FUSE), and so can a full pipe or a terminal: those are written the
// ordinary way. Each case is written through writeNow too.
func TestWriteNowRawOnlyWherePossible(t *testing.T) {
	dir := t.TempDir()
	file, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	fullR, fullW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer fullR.Close()
	defer fullW.Close()
	fullRC, err := fullW.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fullRC.Control(func(fd uintptr) { // fill it (the descriptor is non-blocking)
		for {
			if _, err := syscall.Write(int(fd), make([]byte, 4096)); err != nil {
				break
			}
		}
	})
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()

	for _, tc := range []struct {
		name string
		f    *os.File
		raw  bool
	}{
		{"regular file", file, false},
		{"pipe with room", pw, true},
		{"full pipe", fullW, false},
		{"character device", devNull, false},
	} {
		rc, err := tc.f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got bool
		if err := rc.Control(func(fd uintptr) { got = wontBlock(fd, 100) }); err != nil {
			t.Fatal(err)
		}
		if got != tc.raw {
			t.Errorf("%s: raw write %v, want %v", tc.name, got, tc.raw)
		}
	}
	// What is written arrives, either way.
	line := []byte("14:05 <bob> hi\n")
	if err := writeNow(file, line); err != nil {
		t.Fatal(err)
	}
	if err := writeNow(pw, line); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file.Name()); !bytes.Equal(b, line) {
		t.Errorf("file holds %q, want %q", b, line)
	}
	buf := make([]byte, 100)
	if n, _ := pr.Read(buf); !bytes.Equal(buf[:n], line) {
		t.Errorf("pipe gave %q, want %q", buf[:n], line)
	}
}
