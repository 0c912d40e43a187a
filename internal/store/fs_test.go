//go:build linux

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tmpfs mounts a tmpfs of size at a new directory (root only: the test is
// skipped otherwise) and unmounts it at cleanup. No network is involved.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file until the disk is full and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

func TestDiskFull(t *testing.T) {
	dir := tmpfs(t, "1m")
	home := filepath.Join(dir, "home")
	s, _ := openT(t, home, Limits{})
	mustWrite(t, s, Write{Queue: []Queued{queued(1, 0, 1, "before")}})
	filler := fillDisk(t, dir)
	big := strings.Repeat("b", 64<<10)
	var err error
	seq := uint64(1)
	for ; seq < 40 && err == nil; seq++ { // the database's slack goes first
		err = write(s, Write{Queue: []Queued{queued(1, seq, seq+1, big)}})
	}
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write on a full disk: %v, want ErrNoSpace wrapping ENOSPC", err)
	}
	failed := seq - 1
	t.Logf("write %d failed: %v", failed, err)
	if err := write(s, Write{Queue: []Queued{queued(1, failed, failed+1, big)}}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("second Write on a full disk: %v, want ErrNoSpace", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, Write{Queue: []Queued{queued(1, failed, failed+1, "after")}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, snap := openT(t, home, Limits{})
	defer s.Close()
	if len(snap.Damaged) != 0 {
		t.Errorf("Damaged = %q", snap.Damaged)
	}
	if len(snap.Out) != 1 {
		t.Fatalf("Out = %+v", snap.Out)
	}
	msgs := snap.Out[0].Msgs
	if len(msgs) != int(failed)+1 || msgs[0].Text != "before" || msgs[len(msgs)-1].Text != "after" {
		t.Fatalf("%d messages, want %d: before, %d big ones, after", len(msgs), failed+1, failed-1)
	}
	for _, m := range msgs[1 : len(msgs)-1] {
		if m.Text != big {
			t.Fatalf("message %d has %d bytes, want %d", m.Seq, len(m.Text), len(big))
		}
	}
}

func TestReadOnlyHome(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, home string)
	}{
		{"empty", func(t *testing.T, home string) {
			if err := os.Mkdir(home, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"existing store", func(t *testing.T, home string) {
			s, _ := openT(t, home, Limits{})
			mustWrite(t, s, Write{Queue: []Queued{queued(1, 0, 1, "x")}})
			s.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tmpfs(t, "1m")
			home := filepath.Join(dir, "home")
			tc.setup(t, home)
			if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				t.Fatalf("remount read-only: %v", err)
			}
			s, _, err := Open(home, Limits{}, 100*time.Millisecond)
			if err == nil {
				s.Close()
				t.Fatal("Open of a read-only home succeeded")
			}
			if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), "not writable") || !strings.Contains(err.Error(), home) {
				t.Errorf("Open: %v, want a 'not writable' error naming %s and wrapping EROFS", err, home)
			}
		})
	}
}

// TestDiskFullDamaged: a damaged store on a full disk: Open fails saying
// so and leaves the file in place; with space back, the next Open
// salvages it.
func TestDiskFullDamaged(t *testing.T) {
	dir := tmpfs(t, "4m")
	home := filepath.Join(dir, "home")
	c := fill(t, home, 400, 100)
	path := dbPath(home)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(len(data)/2)); err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, dir)
	_, _, err = Open(home, Limits{}, time.Second)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Open of a damaged store on a full disk: %v, want ErrNoSpace", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(data)/2) {
		t.Fatalf("the damaged file is not left in place: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	snap := c.reopen(t, home)
	if n := c.check(t, snap); n == 0 || len(snap.Damaged) == 0 {
		t.Errorf("salvaged %d messages, Damaged %q", n, snap.Damaged)
	}
}
