package transfer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkTransfer sends a 64 MiB file between two managers on loopback,
// accepted by -accept-from: the whole data path (disk read, AES-GCM both
// ways, SHA-256 at the receiver, disk write, verification and rename).
// Run it with -cpu 1,2 to see what a second processor gives.
func BenchmarkTransfer(b *testing.B) {
	const size = 64 << 20
	a, r, bobID := pair(b, "alice")
	src := filepath.Join(b.TempDir(), "payload.bin")
	writeRandom(b, src, size)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		id, err := a.m.Send(bobID, []string{src})
		if err != nil {
			b.Fatal(err)
		}
		done := r.await(b, "received", func(e Event) bool { return e.Kind == EvDone && e.Last })
		a.await(b, "sender done", func(e Event) bool { return e.Kind == EvDone && e.Last && e.ID == id })
		b.StopTimer()
		if err := os.Remove(done.Path); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkFrames seals and opens full data frames in memory.
func BenchmarkFrames(b *testing.B) {
	h, key, rn := testSession(b)
	toR, _, err := sessionKeys(&key, h, rn)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	fw := newFrameWriter(&buf, toR)
	fr := newFrameReader(&buf, toR)
	data := make([]byte, chunkSize)
	b.SetBytes(chunkSize)
	for range b.N {
		if err := fw.write(frameData, 0, 0, data); err != nil {
			b.Fatal(err)
		}
		if err := fw.flush(); err != nil {
			b.Fatal(err)
		}
		if _, err := fr.read(); err != nil {
			b.Fatal(err)
		}
	}
}
