package rooms

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	alice := testSigner(t, "alice")
	m := testMsg(t, alice, "#午饭", 7, "今天吃什么？")
	b := m.AppendEncode(nil)
	if len(b) != m.Size() {
		t.Fatalf("encoded %d bytes, Size says %d", len(b), m.Size())
	}
	got, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *m {
		t.Fatalf("decoded %+v, want %+v", got, m)
	}
	if err := got.Verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	big := testMsg(t, alice, "#"+strings.Repeat("\U00020000", 32), 1, strings.Repeat("x", MaxTextBytes))
	big.Nick = strings.Repeat("\U00020000", 32)
	big.Sign(alice)
	if n := len(big.AppendEncode(nil)); n != MaxMessageBytes {
		t.Fatalf("largest message is %d bytes, MaxMessageBytes %d", n, MaxMessageBytes)
	}
	if _, err := DecodeMessage(big.AppendEncode(nil)); err != nil {
		t.Fatalf("largest message: %v", err)
	}
}

// TestMessageSignatureCoversAll: changing any byte of an encoded message
// (any field) makes it fail to decode or fail to verify.
func TestMessageSignatureCoversAll(t *testing.T) {
	alice := testSigner(t, "alice")
	m := testMsg(t, alice, "#lunch", 3, "noon?")
	b := m.AppendEncode(nil)
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		got, err := DecodeMessage(c)
		if err == nil && got.Verify() == nil {
			t.Fatalf("byte %d changed: still decodes and verifies", i)
		}
	}
	// Another author's name on it: the signature does not verify under
	// the claimed author's key.
	mallory := testSigner(t, "mallory")
	forged := *m
	forged.Author = mallory.Public
	if err := forged.Verify(); !errors.Is(err, ErrSignature) {
		t.Fatalf("author swapped: %v, want %v", err, ErrSignature)
	}
}

func TestDecodeMessageBounds(t *testing.T) {
	alice := testSigner(t, "alice")
	mk := func(f func(m *Message)) []byte {
		m := testMsg(t, alice, "#lunch", 1, "hi")
		f(m)
		m.Sign(alice)
		return m.AppendEncode(nil)
	}
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"ok", mk(func(*Message) {}), nil},
		{"seq 0", mk(func(m *Message) { m.Seq = 0 }), ErrBadField},
		{"empty text", mk(func(m *Message) { m.Text = "" }), ErrEmpty},
		{"text too big", mk(func(m *Message) { m.Text = strings.Repeat("a", MaxTextBytes+1) }), ErrTooBig},
		{"topic ok", mk(func(m *Message) { m.Kind, m.Text = KindTopic, strings.Repeat("a", MaxTopicBytes) }), nil},
		{"topic too big", mk(func(m *Message) { m.Kind, m.Text = KindTopic, strings.Repeat("a", MaxTopicBytes+1) }), ErrTooBig},
		{"empty topic", mk(func(m *Message) { m.Kind, m.Text = KindTopic, "" }), nil},
		{"join", mk(func(m *Message) { m.Kind, m.Text = KindJoin, "" }), nil},
		{"kind 9", mk(func(m *Message) { m.Kind = 9 }), ErrBadField},
		{"name not folded", mk(func(m *Message) { m.Name, m.Room = "#Lunch", OpenID("#Lunch") }), ErrNotCanonical},
		{"name too long", mk(func(m *Message) { m.Name = "#" + strings.Repeat("a", 33); m.Room = OpenID(m.Name) }), ErrNotCanonical},
		{"open id not of name", mk(func(m *Message) { m.Room = OpenID("#dinner") }), ErrWrongID},
		{"private id free", mk(func(m *Message) { m.Private, m.Room = true, ID{1} }), nil},
		{"bad nick", mk(func(m *Message) { m.Nick = "a b" }), ErrBadField},
		{"text not utf8", mk(func(m *Message) { m.Text = "\xff" }), ErrBadField},
		{"truncated", mk(func(*Message) {})[:50], ErrShort},
		{"trailing", append(mk(func(*Message) {}), 0), ErrTrailing},
		{"version 2", append([]byte{2}, mk(func(*Message) {})[1:]...), ErrVersion},
		{"flags", func() []byte { b := mk(func(*Message) {}); b[2] = 0x80; return b }(), ErrBadField},
		{"huge", make([]byte, MaxMessageBytes+1), ErrTooBig},
	}
	for _, tt := range tests {
		_, err := DecodeMessage(tt.b)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
	}
}

// FuzzDecodeMessage: the decoder never panics, and what it accepts
// encodes back to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	alice := testSigner(f, "alice")
	f.Add(testMsg(f, alice, "#lunch", 1, "hi").AppendEncode(nil))
	f.Add(testMsg(f, alice, "#午饭", 1<<40, strings.Repeat("饭", 100)).AppendEncode(nil))
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		if got := m.AppendEncode(nil); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded differently:\n%x\n%x", got, b)
		}
		if m.Size() > MaxMessageBytes {
			t.Fatalf("accepted %d bytes", m.Size())
		}
	})
}

// TestDocumentedSizes: the sizes doc.go states are the code's.
func TestDocumentedSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want int
	}{
		{"MaxMessageBytes", MaxMessageBytes, 33210},
		{"MaxSummaryBytes", MaxSummaryBytes, 2348},
		{"message fixed part", msgFixed, 115},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d, doc.go says %d", tt.name, tt.got, tt.want)
		}
	}
}
