package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferCaptureShowsNoFileBytes records the LAN (TCP on the chat
// port) while alice sends bob a 16 MiB random file, then looks for 32-byte
// windows of the file, taken all along it, in the capture and in every
// reassembled TCP stream: there must be none. Random bytes, so a window
// found by chance in ciphertext is practically impossible.
func TestTransferCaptureShowsNoFileBytes(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	cp := startCapture(t, lab, "-B", "131072", "tcp", "port", "7117") // a 128 MiB buffer: the transfer is fast
	dl := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob", "-downloads", dl, "-accept-from", "alice")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "secret.bin")
	const size = 16 << 20
	sum := randomFile(t, src, size)
	am := alice.Mark()
	exchangeMessage(t, alice, "bob")
	alice.Send("/send bob " + src)
	alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
	pcap := cp.stop(t)

	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileSHA(t, filepath.Join(dl, "secret.bin")); got != sum {
		t.Fatalf("bob's copy has SHA-256 %s, want %s", got, sum)
	}
	frames, err := parsePcap(pcap)
	if err != nil {
		t.Fatalf("%v (%d bytes)", err, len(pcap))
	}
	payload := 0
	for _, f := range frames {
		if f.isTCP(port) {
			payload += len(f.Payload)
		}
	}
	streams := tcpStreams(frames)
	t.Logf("capture: %d bytes, %d frames, %d TCP payload bytes on port %d in %d streams", len(pcap), len(frames), payload, port, len(streams))
	// The file went over this LAN: the capture holds at least its size.
	if payload < size {
		t.Fatalf("only %d TCP payload bytes captured for a %d-byte file: the capture missed the transfer", payload, size)
	}

	// 64 windows of 32 bytes spread over the file, at odd offsets so they
	// straddle any chunk and segment boundaries.
	const win = 32
	found := 0
	for k := range 64 {
		off := k*(size-win)/63 + k%7
		off = min(off, size-win)
		needle := data[off : off+win]
		if i := bytes.Index(pcap, needle); i >= 0 {
			found++
			t.Errorf("the file's bytes %d..%d are in the capture in the clear (pcap offset %d)", off, off+win, i)
			continue
		}
		for id, st := range streams {
			if bytes.Contains(st, needle) {
				found++
				t.Errorf("the file's bytes %d..%d are in the clear in TCP stream %s", off, off+win, id)
				break
			}
		}
	}
	t.Logf("%d of 64 windows of 32 bytes of the file found in the capture", found)
	noVersion1(t, pcap, streams)
}
