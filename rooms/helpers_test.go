package rooms

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"
)

// testSigner is a node's keys made from a name, so tests are repeatable.
func testSigner(t testing.TB, name string) *Signer {
	t.Helper()
	seed := sha256.Sum256([]byte("seed " + name))
	id := sha256.Sum256([]byte("identity " + name))
	return NewSigner(id, ed25519.NewKeyFromSeed(seed[:]))
}

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// testMsg is a signed text message by s in the open room name.
func testMsg(t testing.TB, s *Signer, name string, seq uint64, text string) *Message {
	t.Helper()
	m := &Message{Kind: KindText, Room: OpenID(name), Seq: seq, Time: t0.UnixMilli(), Name: name, Nick: "nick", Text: text}
	m.Sign(s)
	return m
}
