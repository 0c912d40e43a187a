package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferDiskFull: bob's -downloads is a 6 MiB tmpfs (mounted on a
// temp dir, unmounted in the cleanup) and alice sends a 12 MiB file. The
// disk fills up: bob is told that the file cannot be written, with the
// system's reason, and alice that bob could not write it; the transfer
// pauses (resumable) and keeps its partial file. Once the tmpfs grows
// (space freed), it resumes from the partial file and arrives verified.
func TestTransferDiskFull(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	dl := smallTmpfs(t, "6m")
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob", "-downloads", dl, "-accept-from", "alice")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "big.iso")
	const size = 12 << 20
	sum := randomFile(t, src, size)
	am, bm := alice.Mark(), bob.Mark()
	exchangeMessage(t, alice, "bob")
	alice.Send("/send bob " + src)

	full := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-failed", nil)))
	t.Logf("bob: %s: %s", full.Code, full.Reason)
	if full.Code != "disk-error" || !full.Resumable || !strings.Contains(full.Reason, "no space left on device") || !strings.Contains(full.Reason, "big.iso") {
		t.Errorf("bob, disk full: %+v; want a resumable disk-error naming the file and the reason", full)
	}
	af := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, isTF("transfer-failed", nil)))
	t.Logf("alice: %s: %s", af.Code, af.Reason)
	if af.Code != "disk-error" || !af.Resumable || !strings.Contains(af.Reason, "could not write") {
		t.Errorf("alice, bob's disk full: %+v; want a resumable failure saying bob could not write the file", af)
	}
	if _, err := bob.Await(bm, 0, isTF("transfer-done", nil)); err == nil {
		t.Fatal("the file arrived on a full disk")
	}

	// While the disk stays full the sender keeps trying (a data connection
	// every few seconds, each refused by the full disk): that is said once
	// on each side, not once a try. Wait for three more tries.
	tries := func(b []byte) bool { return bytes.Count(b, []byte("transfer: receive session ended")) >= 4 }
	if !bob.Stderr().WaitFor(0, transferTimeout, bob.Done(), tries) {
		t.Fatalf("bob did not see the sender try again on the full disk:\n%s", bob.Stderr())
	}
	for _, p := range []*Proc{alice, bob} {
		fails := countEvents(p, isTF("transfer-failed", nil))
		resumes := countEvents(p, IsKind("transfer-resumed"))
		if fails != 1 || resumes != 0 {
			t.Errorf("%s, after 4 tries on the full disk: %d transfer-failed and %d transfer-resumed events, want 1 and 0", p, fails, resumes)
		}
	}

	// The partial file is kept, with what fitted.
	parts, _ := filepath.Glob(filepath.Join(dl, ".p2pchat-partial", "*.part"))
	if len(parts) != 1 {
		t.Fatalf("partial files on the full disk: %v, want one", parts)
	}
	st, err := os.Stat(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	kept := st.Size()
	t.Logf("partial file on the full disk: %d bytes", kept)
	if kept < 1<<20 {
		t.Errorf("the partial file has %d bytes: what fitted was not kept", kept)
	}

	// Space freed: it resumes from the partial file and completes.
	mustMount(t, "-o", "remount,size=64m", dl)
	r := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("transfer-resumed")))
	if r.Bytes < kept {
		t.Errorf("resumed at %d bytes, but %d were on disk", r.Bytes, kept)
	}
	done := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
	alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
	if got := fileSHA(t, done.Path); got != sum {
		t.Fatalf("after the space was freed the file has SHA-256 %s, want %s", got, sum)
	}
	t.Logf("resumed at %d of %d bytes once the space was freed, and verified", r.Bytes, size)
}

// smallTmpfs mounts a tmpfs of size (mount's size= option) on a fresh
// temp dir and unmounts it in the cleanup.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustMount(t, "-t", "tmpfs", "-o", "size="+size+",mode=0755", "p2pchat-test", dir)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

func mustMount(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Fatalf("mount %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
