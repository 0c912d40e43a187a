package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Helpers of the file transfer tests.

// transferTimeout bounds one transfer in the tests (a 256 MiB file moves
// in a few seconds on the lab's bridge).
const transferTimeout = 2 * time.Minute

// tfEvent is the part of a transfer event the tests read.
type tfEvent struct {
	Event     string   `json:"event"`
	ID        int      `json:"id"`
	Files     []string `json:"files"`
	Bytes     int64    `json:"bytes"`
	Total     int64    `json:"total"`
	Path      string   `json:"path"`
	SHA256    string   `json:"sha256"`
	Last      bool     `json:"last"`
	Code      string   `json:"code"`
	Resumable bool     `json:"resumable"`
	Reason    string   `json:"reason"`
	Count     int      `json:"count"` // bad-offer: the refused offers the line stands for
}

func decodeTF(t *testing.T, e Event) tfEvent {
	t.Helper()
	var v tfEvent
	if err := e.Decode(&v); err != nil {
		t.Fatalf("%s: %v", e.Raw, err)
	}
	return v
}

// tfOf decodes e if it is a transfer-failed event.
func tfOf(e Event) (tfEvent, bool) {
	var v tfEvent
	if e.Event != "transfer-failed" || e.Decode(&v) != nil {
		return v, false
	}
	return v, true
}

func isTF(kind string, f func(tfEvent) bool) func(Event) bool {
	return func(e Event) bool {
		if e.Event != kind {
			return false
		}
		var v tfEvent
		if e.Decode(&v) != nil {
			return false
		}
		return f == nil || f(v)
	}
}

// randomFile writes n random bytes to path and returns their SHA-256.
func randomFile(t *testing.T, path string, n int64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// exchangeMessage sends to a message from from and waits for
// its acknowledgement: the receiver then has from's name pinned to its key,
// which -accept-from needs before it accepts anything by name.
func exchangeMessage(t *testing.T, from *Proc, to string) {
	t.Helper()
	m := from.Mark()
	for _, id := range from.SendTo(t, to, "files for you") {
		from.WaitFrom(t, m, transferTimeout, IsDelivered(to, id))
	}
}
