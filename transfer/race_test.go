package transfer

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestCancelWhileFilesChange: the user cancels an incoming transfer just
// as the receiver creates its partial file, or just as it gives the
// verified file its name; or the partial file is damaged on disk after it
// was written (a disk error, another program). Whatever the moment, what
// the user is told and what is on disk agree: a transfer cancelled or
// failed leaves nothing (no partial file, no file under its name); a
// transfer done left the file, whole, with the offered SHA-256.
func TestCancelWhileFilesChange(t *testing.T) {
	// Not parallel: it sets testHooks, which every manager of the process
	// runs (a parallel test's transfer would run this one's hook).
	tests := []struct {
		name   string
		point  string
		act    func(b *vnode, id int)
		cancel bool // the test cancels (else the transfer must not end done with other bytes)
	}{
		{"cancel as the partial file is created", hookOpen, func(b *vnode, id int) { b.m.Cancel(id) }, true},
		{"cancel while the file is verified", hookFinalize, func(b *vnode, id int) { b.m.Cancel(id) }, true},
		{"cancel as the file gets its name", hookLinked, func(b *vnode, id int) { b.m.Cancel(id) }, true},
		{"the partial file damaged on disk", hookFinalize, func(b *vnode, id int) {
			parts, _ := filepath.Glob(filepath.Join(b.dl, partialDir, "*.part"))
			for _, p := range parts {
				f, err := os.OpenFile(p, os.O_RDWR, 0)
				if err != nil {
					continue
				}
				f.WriteAt([]byte("damaged"), 1000)
				f.Close()
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := aliceAndBob(t)
				connect(a, b, linkOpts{})
				src := filepath.Join(t.TempDir(), "f.bin")
				want := writeRandom(t, src, 3*chunkSize)
				if _, err := a.m.Send(b.id(), []string{src}); err != nil {
					t.Fatal(err)
				}
				off, ok := b.awaitV(10*time.Second, kind(EvOffer))
				if !ok {
					t.Fatal("no offer")
				}
				var once sync.Once
				hook := func(point string) {
					if point == tc.point {
						once.Do(func() { tc.act(b, off.ID) })
					}
				}
				testHooks.Store(&hook)
				defer testHooks.Store(nil)
				b.m.Accept(off.ID)
				end := func(e Event) bool { return e.Kind == EvDone && e.Last || e.Kind == EvFailed && !e.Resumable }
				e, ok := b.awaitV(time.Minute, end)
				if !ok {
					t.Fatal("the receiver's transfer did not end within a minute")
				}
				time.Sleep(5 * time.Second) // whatever still runs, settles
				synctest.Wait()
				parts, _ := os.ReadDir(filepath.Join(b.dl, partialDir))
				files := downloads(t, b.dl)
				t.Logf("receiver: %s (%s); downloads: %q; partial folder: %d entries", e.Kind, e.Code, files, len(parts))
				if len(parts) != 0 {
					t.Errorf("left in the partial folder: %d entries (%v)", len(parts), parts[0].Name())
				}
				switch e.Kind {
				case EvDone:
					if tc.cancel {
						// Cancel came too late: it must have said so.
						if in := b.m.List()[0]; in.State != Done {
							t.Errorf("the receiver says done, then %s", in.State)
						}
					}
					checkOneCopy(t, b.dl, "f.bin", want)
				default:
					if len(files) != 0 {
						t.Errorf("the transfer ended %s (%s) but the downloads folder holds %q", e.Kind, e.Code, files)
					}
				}
			})
		})
	}
}

// TestNamedBeforeACrash: a run that gave a verified file its name and
// stopped before it recorded the file done (killed, power cut) leaves the
// file under its name and the partial file, the same file on disk; the
// next run, verifying the partial file again, keeps that name instead of
// making a second ("f (1).bin"). Here the hook does what that run did.
func TestNamedBeforeACrash(t *testing.T) {
	// Not parallel: it sets testHooks, which every manager of the process
	// runs (a parallel test's transfer would run this one's hook).
	synctest.Test(t, func(t *testing.T) {
		a, b := aliceAndBob(t)
		defer noPartial(t, b.dl)
		connect(a, b, linkOpts{})
		src := filepath.Join(t.TempDir(), "f.bin")
		want := writeRandom(t, src, 3*chunkSize)
		var once sync.Once
		hook := func(point string) {
			if point != hookFinalize {
				return
			}
			once.Do(func() {
				parts, _ := filepath.Glob(filepath.Join(b.dl, partialDir, "*.part"))
				for _, p := range parts {
					if err := os.Link(p, filepath.Join(b.dl, "f.bin")); err != nil {
						t.Error(err)
					}
				}
			})
		}
		testHooks.Store(&hook)
		defer testHooks.Store(nil)
		done, _ := vTransfer(t, a, b, src, time.Minute)
		t.Logf("done: %v; downloads: %q", done, downloads(t, b.dl))
		if !done {
			t.Error("not done")
		}
		if files := downloads(t, b.dl); len(files) != 1 {
			t.Errorf("the downloads folder holds %q, want f.bin only", files)
		}
		checkOneCopy(t, b.dl, "f.bin", want)
	})
}
