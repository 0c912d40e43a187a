package rooms

import (
	"errors"
	"testing"
)

func TestBinding(t *testing.T) {
	alice, mallory := testSigner(t, "alice"), testSigner(t, "mallory")
	sig := alice.BindingSig()
	tests := []struct {
		name string
		id   Key
		pub  SignKey
		sig  [64]byte
		err  error
	}{
		{"alice's own", alice.Identity, alice.Public, sig, nil},
		{"mallory claims alice's signing key", mallory.Identity, alice.Public, sig, ErrSignature},
		{"alice's identity, mallory's key", alice.Identity, mallory.Public, sig, ErrSignature},
		{"mallory's binding replayed for alice", alice.Identity, mallory.Public, mallory.BindingSig(), ErrSignature},
	}
	for _, tt := range tests {
		if err := VerifyBinding(tt.id, tt.pub, tt.sig); !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
	}
	if PrivateID(alice.Public, [16]byte{1}) == PrivateID(mallory.Public, [16]byte{1}) || PrivateID(alice.Public, [16]byte{1}) == PrivateID(alice.Public, [16]byte{2}) {
		t.Fatal("private ids collide")
	}
}
