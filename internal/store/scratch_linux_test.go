package store

import (
	"os"
	"syscall"
	"testing"
)

// scratchDir is a temporary directory for the damage tests, which write,
// open, rename and remove thousands of store files: on a tmpfs
// (/dev/shm) where the machine has one, so that none of it goes through a
// disk's journal and bbolt's syncs of a fresh file (at creation and when
// it grows; withoutSync cannot reach those) cost no disk flush. What
// these tests check is what Open makes of the bytes, which the file
// system does not change. Elsewhere it is t.TempDir().
func scratchDir(t testing.TB) string {
	t.Helper()
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Type != tmpfsMagic {
		return t.TempDir()
	}
	d, err := os.MkdirTemp("/dev/shm", "p2pchat-store-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(d); err != nil {
			t.Errorf("remove %s: %v", d, err)
		}
	})
	return d
}
