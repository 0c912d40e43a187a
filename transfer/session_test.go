package transfer

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"testing"
)

// aeads are the two directions' AEADs of a connection.
func aeads(key *[32]byte, h *hello, rn [16]byte) (toR, toS cipher.AEAD, err error) {
	k, err := sessionKeys(key, h, rn)
	if err != nil {
		return nil, nil, err
	}
	return k.toReceiver, k.toSender, nil
}

func testSession(t testing.TB) (*hello, [32]byte, [16]byte) {
	t.Helper()
	h := &hello{sender: [32]byte{1}, receiver: [32]byte{2}, transfer: 77, nonce: [16]byte{3}}
	return h, [32]byte{9}, [16]byte{4}
}

// TestFramesRoundTrip: frames written are read back in order, and the
// hello survives its encoding.
func TestFramesRoundTrip(t *testing.T) {
	t.Parallel()
	h, key, rn := testSession(t)
	h.tag = [tagLen]byte{5, 6}
	back, err := readHello(bytes.NewReader(h.marshal()))
	if err != nil || back.sender != h.sender || back.nonce != h.nonce || back.tag != h.tag {
		t.Fatalf("hello round trip: %+v, %v", back, err)
	}
	if bytes.Contains(h.marshal(), h.receiver[:]) || bytes.Contains(h.marshal(), []byte{0, 0, 0, 0, 0, 0, 0, 77}) {
		t.Fatal("the hello carries the receiver's key or the transfer id in the clear")
	}
	toR, _, err := aeads(&key, h, rn)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := newFrameWriter(&buf, toR)
	big := bytes.Repeat([]byte("x"), maxChunk) // the largest a receiver takes
	w.write(frameData, 0, 0, []byte("hello"))
	w.write(frameData, 1, 5, big)
	w.write(frameAbort, 0, 0, []byte{1})
	w.flush()
	if bytes.Contains(buf.Bytes(), []byte("hello")) || bytes.Contains(buf.Bytes(), big[:64]) {
		t.Fatal("plaintext on the wire")
	}
	r := newFrameReader(&buf, toR)
	for i, want := range []frame{{frameData, 0, 0, []byte("hello")}, {frameData, 1, 5, big}, {frameAbort, 0, 0, []byte{1}}} {
		f, err := r.read()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.typ != want.typ || f.file != want.file || f.off != want.off || !bytes.Equal(f.data, want.data) {
			t.Fatalf("frame %d: %+v", i, f)
		}
	}
}

// TestFramesTampering: a frame altered, dropped, repeated or reordered, or
// read with keys of another session, transfer or identity, fails.
func TestFramesTampering(t *testing.T) {
	t.Parallel()
	h, key, rn := testSession(t)
	write := func() [][]byte {
		toR, _, _ := aeads(&key, h, rn)
		var frames [][]byte
		for i := range 3 {
			var buf bytes.Buffer
			w := newFrameWriter(&buf, toR)
			w.seq = uint64(i) // frame i of the stream, cut out alone
			w.write(frameData, 0, uint64(i), []byte{byte(i)})
			w.flush()
			frames = append(frames, buf.Bytes())
		}
		return frames
	}
	fr := write()
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := append([]byte{}, fr[0]...)
	flip[10] ^= 1
	tests := []struct {
		name   string
		stream []byte
		mod    func(h *hello, key *[32]byte, rn *[16]byte)
	}{
		{"flipped bit", flip, nil},
		{"dropped frame", cat(fr[1]), nil},
		{"reordered", cat(fr[1], fr[0]), nil},
		{"other receiver nonce", fr[0], func(h *hello, key *[32]byte, rn *[16]byte) { rn[0] ^= 1 }},
		{"other sender nonce", fr[0], func(h *hello, key *[32]byte, rn *[16]byte) { h.nonce[0] ^= 1 }},
		{"other transfer", fr[0], func(h *hello, key *[32]byte, rn *[16]byte) { h.transfer++ }},
		{"other sender", fr[0], func(h *hello, key *[32]byte, rn *[16]byte) { h.sender[0] ^= 1 }},
		{"other receiver", fr[0], func(h *hello, key *[32]byte, rn *[16]byte) { h.receiver[0] ^= 1 }},
		{"other key", fr[0], func(h *hello, key *[32]byte, rn *[16]byte) { key[0] ^= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h2, key2, rn2 := *h, key, rn
			if tt.mod != nil {
				tt.mod(&h2, &key2, &rn2)
			}
			toR, _, _ := aeads(&key2, &h2, rn2)
			_, err := newFrameReader(bytes.NewReader(tt.stream), toR).read()
			if !errors.Is(err, errProtocol) {
				t.Fatalf("err = %v, want a protocol error", err)
			}
		})
	}
	// The untouched stream reads.
	toR, _, _ := aeads(&key, h, rn)
	r := newFrameReader(bytes.NewReader(cat(fr...)), toR)
	for i := range 3 {
		if f, err := r.read(); err != nil || f.off != uint64(i) {
			t.Fatalf("frame %d: %+v %v", i, f, err)
		}
	}
	// The two directions have different keys.
	_, toS, _ := aeads(&key, h, rn)
	if _, err := newFrameReader(bytes.NewReader(fr[0]), toS).read(); !errors.Is(err, errProtocol) {
		t.Fatalf("a frame to the receiver opened with the key to the sender: %v", err)
	}
}
