package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferInjectedConnection: mallory, on the same LAN, sees the
// hello of alice's data connection to bob (it travels in the clear: here
// taken from a capture of the LAN), opens her own connection to bob's
// chat port while the file moves, replays that hello and sends a frame of
// garbage. The transfer goes on: neither side reports it failed or
// paused, and bob ends with one file, whole.
func TestTransferInjectedConnection(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	alice, bobHost, mallory := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	limitRateOrSkip(t, alice, 80_000_000) // 100 MB: about 10 s
	cp := startCapture(t, lab, "tcp", "port", "7117", "and", "less", "400")
	dl := t.TempDir()
	a := StartNode(t, alice, "alice")
	bob := StartNode(t, bobHost, "bob", "-downloads", dl)
	a.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "f.bin")
	const size = 100_000_000
	sum := randomFile(t, src, size)
	bm, am := bob.Mark(), a.Mark()
	a.Send(fmt.Sprintf("/send bob %q", src))
	off := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("offer")))
	bob.Send(fmt.Sprintf("/accept %d", off.ID))
	bob.WaitFrom(t, bm, transferTimeout, IsKind("progress"))

	// The hello: the first segment of a connection to bob's chat port
	// that starts with "p2pf".
	frames, err := parsePcap(cp.stop(t))
	if err != nil {
		t.Fatal(err)
	}
	var hello []byte
	for _, f := range frames {
		if f.isTCP(port) && bytes.HasPrefix(f.Payload, []byte("p2pf")) && len(f.Payload) > 5 {
			n := map[byte]int{1: 93, 2: 69}[f.Payload[4]] // the hello's length in each version
			if n > 0 && len(f.Payload) >= n {
				hello = f.Payload[:n]
				break
			}
		}
	}
	if hello == nil {
		t.Fatalf("no data connection hello in the capture (%d frames)", len(frames))
	}

	// Mallory replays it, then sends a frame of garbage.
	junk := make([]byte, 4+200)
	binary.BigEndian.PutUint32(junk, 200)
	rand.Read(junk[4:])
	payload := filepath.Join(t.TempDir(), "inject")
	if err := os.WriteFile(payload, append(append([]byte(nil), hello...), junk...), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d || exit 1; cat %s >&3; timeout 4 cat <&3 >/dev/null; exit 0", bobHost.IP, port, payload)
	if out, err := mallory.Command(context.Background(), "bash", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("mallory's connection: %v: %s", err, out)
	}
	t.Logf("mallory replayed a %d-byte hello (version %d) and 204 bytes of garbage", len(hello), hello[4])

	last := isTF("transfer-done", func(e tfEvent) bool { return e.Last })
	e, err := bob.Await(bm, time.Minute, func(e Event) bool { return last(e) || IsKind("transfer-failed")(e) })
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	if got := decodeTF(t, e); got.Event != "transfer-done" {
		t.Fatalf("bob: %+v, want the transfer done", got)
	}
	if _, err := a.Await(am, time.Minute, last); err != nil {
		t.Errorf("alice never says done: %v", err)
	}
	for who, p := range map[string]*Proc{"alice": a, "bob": bob} {
		evs, _, _ := p.Snapshot(map[string]int{"alice": am, "bob": bm}[who])
		for _, e := range evs {
			if IsKind("transfer-failed")(e) || IsKind("transfer-resumed")(e) {
				t.Errorf("%s: %s", who, e.Raw)
			}
		}
	}
	if got := fileSHA(t, filepath.Join(dl, "f.bin")); got != sum {
		t.Errorf("f.bin has SHA-256 %s, want %s", got, sum)
	}
	if files := listDownloads(t, dl); len(files) != 1 {
		t.Errorf("the downloads folder holds %q, want f.bin only", files)
	}
}
