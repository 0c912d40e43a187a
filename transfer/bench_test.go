package transfer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkTransfer sends a 64 MiB file between two managers on loopback,
// accepted by -accept-from: the whole data path (disk read, AES-GCM both
// ways, SHA-256 at the receiver, disk write, verification and rename).
// Run it with -cpu 1,2 to see what a second processor gives.
func BenchmarkTransfer(b *testing.B) {
	const size = 64 << 20
	a, r, bobID := pair(b, "alice")
	pin(b, a, bobID) // -accept-from trusts a name pinned to its key only
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

// pin exchanges a message from a to the peer with id, so that the peer has
// a's name pinned to its key.
func pin(tb testing.TB, a *side, id string) {
	tb.Helper()
	if _, err := a.node.Send(id, "files for you"); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.node.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkFrames seals and opens full data frames in memory.
func BenchmarkFrames(b *testing.B) {
	h, key, rn := testSession(b)
	toR, _, err := aeads(&key, h, rn)
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
