package wire

import (
	"errors"

	"golang.org/x/crypto/nacl/box"
)

// ErrOpen means a sealed packet failed authentication.
var ErrOpen = errors.New("packet failed authentication")

// SharedKey precomputes the box key between a private key and a peer's
// public key.
func SharedKey(peerKey, private *[32]byte) *[32]byte {
	var k [32]byte
	box.Precompute(&k, peerKey, private)
	return &k
}

// Seal appends a complete sealed packet of p from the key from, for the peer
// whose shared key is given, under nonce, which the caller guarantees is
// never used twice under one key. plain is scratch space for the clear
// text, returned grown for the next call.
func Seal(b []byte, from, shared *[32]byte, p *Payload, nonce *[24]byte, plain []byte) (pkt, scratch []byte) {
	b = AppendHeader(b, TypeSealed, from)
	b = append(b, nonce[:]...)
	plain = p.AppendMarshal(plain[:0])
	return box.SealAfterPrecomputation(b, plain, nonce, shared), plain
}

// Open decrypts and parses the sealed packet o, decrypting into scratch,
// which it returns grown for the next call (the Payload holds no reference
// to it).
func Open(o *Outer, shared *[32]byte, scratch []byte) (Payload, []byte, error) {
	plain, ok := box.OpenAfterPrecomputation(scratch[:0], o.Box, &o.Nonce, shared)
	if !ok {
		return Payload{}, scratch, ErrOpen
	}
	pl, err := ParsePayload(plain)
	return pl, plain, err
}
