package transfer

import (
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// TestSlowTransferFinishesOnce: a transfer that takes longer than the
// data connection's handshake bound (10 s) finishes, once: one file in the
// downloads folder, whole, and the sender sees it done. On a slow link
// (Wi-Fi) the receiver's answer after the last byte used to fail on the
// deadline set for the handshake, and the transfer started over, saving
// another copy each time.
func TestSlowTransferFinishesOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		size int
		rate int64 // bytes per second of virtual time
	}{
		{"16 MiB at 1 MiB/s", 16 << 20, 1 << 20},
		{"3 MiB at 200 kB/s", 3 << 20, 200_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := aliceAndBob(t)
				l := connect(a, b, linkOpts{rate: tc.rate})
				src := filepath.Join(t.TempDir(), "f.bin")
				want := writeRandom(t, src, tc.size)
				done, took := vTransfer(t, a, b, src, 3*time.Minute)
				t.Logf("done: %v after %v of virtual time, %d data connections, downloads: %q", done, took, conns(l), downloads(t, b.dl))
				if !done {
					t.Errorf("the transfer (%v at the link's rate) is not done after 3 minutes", time.Duration(int64(tc.size)*int64(time.Second)/tc.rate))
				}
				if files := downloads(t, b.dl); len(files) != 1 {
					t.Errorf("the downloads folder holds %q, want only f.bin", files)
				}
				checkOneCopy(t, b.dl, "f.bin", want)
				noPartial(t, b.dl)
			})
		})
	}
}

// TestResumeAfterVerified: the receiver verifies a file and names it, and
// then its answer is lost with the connection (the link broke at that
// moment): the next connection finishes the transfer without sending the
// file again, and the downloads folder holds one copy of it.
func TestResumeAfterVerified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files int
	}{
		{"one file", 1},
		{"the first of two files", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := aliceAndBob(t)
				defer noPartial(t, b.dl)
				// The first connection breaks at the receiver's second
				// write: its first verdict, after its status and the resume frame.
				l := connect(a, b, linkOpts{recvFail: func(conn, n int) bool { return conn == 1 && n == 3 }})
				dir := filepath.Join(t.TempDir(), "d")
				want := map[string][]byte{}
				for i := range tc.files {
					name := string(rune('a'+i)) + ".bin"
					want[name] = writeRandom(t, filepath.Join(dir, name), 3*chunkSize+i)
				}
				src := dir
				if tc.files == 1 {
					src = filepath.Join(dir, "a.bin")
				}
				done, took := vTransfer(t, a, b, src, time.Minute)
				t.Logf("done: %v after %v, %d data connections, downloads: %q", done, took, conns(l), downloads(t, b.dl))
				if !done {
					t.Error("the transfer is not done after a minute")
				}
				if tc.files == 1 {
					if files := downloads(t, b.dl); len(files) != 1 {
						t.Errorf("the downloads folder holds %q, want only a.bin", files)
					}
					checkOneCopy(t, b.dl, "a.bin", want["a.bin"])
					return
				}
				if files := downloads(t, b.dl); len(files) != 1 || files[0] != "d" {
					t.Errorf("the downloads folder holds %q, want only the folder d", files)
				}
				for name, w := range want {
					checkOneCopy(t, filepath.Join(b.dl, "d"), name, w)
				}
			})
		})
	}
}

func conns(l *vlink) int { n, _ := l.dialed(); return n }

// TestSlowVerification: the receiver reads each file back from its disk
// to verify it, which for a big file on a slow disk takes minutes (here
// 10 s per MiB, in virtual time): the sender, whose next file's data waits
// meanwhile and whose verdict comes late, does not take that for a dead
// peer. The transfer finishes on its first connection, once.
func TestSlowVerification(t *testing.T) {
	// Not parallel: it sets testHooks, which every manager of the process
	// runs (a parallel test's transfer would run this one's hook).
	tests := []struct {
		name  string
		files int
	}{
		{"one file", 1},
		{"the first of two files", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := aliceAndBob(t)
				defer noPartial(t, b.dl)
				slow := func(point string) {
					if point == hookVerifyChunk {
						time.Sleep(10 * time.Second)
					}
				}
				testHooks.Store(&slow)
				defer testHooks.Store(nil)
				l := connect(a, b, linkOpts{})
				dir := filepath.Join(t.TempDir(), "d")
				for i := range tc.files {
					writeRandom(t, filepath.Join(dir, string(rune('a'+i))+".bin"), 8<<20)
				}
				src := dir
				if tc.files == 1 {
					src = filepath.Join(dir, "a.bin")
				}
				done, took := vTransfer(t, a, b, src, 10*time.Minute)
				t.Logf("done: %v after %v, %d data connections", done, took, conns(l))
				if !done {
					t.Error("the transfer is not done after 10 minutes")
				}
				if n := conns(l); n != 1 {
					t.Errorf("%d data connections: the sender took a verification for a dead peer", n)
				}
			})
		})
	}
}
