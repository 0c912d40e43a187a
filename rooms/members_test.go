package rooms

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestListInviteKick(t *testing.T) {
	alice, bob, carol := testSigner(t, "alice"), testSigner(t, "bob"), testSigner(t, "carol")
	l1, err := NewList(alice, "#Secret", [16]byte{1}, t0)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := l1.Invite(alice, bob.Identity, bob.Public, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	l3, err := l2.Invite(alice, carol.Identity, carol.Public, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	l4, err := l3.Kick(alice, bob.Identity, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		l       *List
		version uint64
		members int
	}{{l1, 1, 1}, {l2, 2, 2}, {l3, 3, 3}, {l4, 4, 2}} {
		got, err := DecodeList(tt.l.AppendEncode(nil))
		if err != nil {
			t.Fatalf("list %d: %v", i+1, err)
		}
		if got.Version != tt.version || len(got.Members) != tt.members || got.Name != "#secret" {
			t.Fatalf("list %d: version %d, %d members, name %q", i+1, got.Version, len(got.Members), got.Name)
		}
	}
	if m, ok := l3.Member(carol.Identity); !ok || m.Added != t0.Add(2*time.Minute).UnixMilli() {
		t.Fatalf("carol in l3: %v %+v", ok, m)
	}
	if _, ok := l4.Member(bob.Identity); ok {
		t.Fatal("bob still in the list after the kick")
	}
	// Nobody but the creator invites or kicks.
	if _, err := l3.Invite(bob, testSigner(t, "dave").Identity, SignKey{}, t0); !errors.Is(err, ErrNotCreator) {
		t.Fatalf("bob invites: %v", err)
	}
	if _, err := l3.Kick(carol, bob.Identity, t0); !errors.Is(err, ErrNotCreator) {
		t.Fatalf("carol kicks: %v", err)
	}
}

// TestListForgery: a list only counts if its creator signed it.
func TestListForgery(t *testing.T) {
	alice, mallory := testSigner(t, "alice"), testSigner(t, "mallory")
	l, _ := NewList(alice, "#secret", [16]byte{1}, t0)
	// Mallory adds himself and signs with his own key, keeping alice's
	// room id and creator.
	forged := *l
	forged.Version = 9
	forged.Members = append(forged.Members, Member{Identity: mallory.Identity, Signing: mallory.Public})
	forged.sign(mallory)
	// Mallory claims the room: his key as creator, alice's nonce.
	claimed := forged
	claimed.Creator = mallory.Public
	claimed.sign(mallory)
	// A byte changed in a good list.
	altered := l.AppendEncode(nil)
	altered[len(altered)-70] ^= 1
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"good", l.AppendEncode(nil), nil},
		{"member added, signed by another", forged.AppendEncode(nil), ErrSignature},
		{"creator replaced", claimed.AppendEncode(nil), ErrWrongID},
		{"altered", altered, ErrSignature},
		{"truncated", l.AppendEncode(nil)[:100], ErrShort},
		{"trailing", append(l.AppendEncode(nil), 0), ErrTrailing},
	}
	for _, tt := range tests {
		if _, err := DecodeList(tt.b); !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestListBound(t *testing.T) {
	alice := testSigner(t, "alice")
	l, _ := NewList(alice, "#big", [16]byte{2}, t0)
	var err error
	for i := 1; i < MaxMembers; i++ {
		s := testSigner(t, string(rune('a'+i%26))+string(rune('0'+i/26)))
		if l, err = l.Invite(alice, s.Identity, s.Public, t0); err != nil {
			t.Fatalf("member %d: %v", i+1, err)
		}
	}
	b := l.AppendEncode(nil)
	if len(b) > MaxListBytes {
		t.Fatalf("full list %d bytes, MaxListBytes %d", len(b), MaxListBytes)
	}
	if _, err := DecodeList(b); err != nil {
		t.Fatal(err)
	}
	extra := testSigner(t, "extra")
	if _, err := l.Invite(alice, extra.Identity, extra.Public, t0); !errors.Is(err, ErrMembersFull) {
		t.Fatalf("65th member: %v, want %v", err, ErrMembersFull)
	}
}

func FuzzDecodeList(f *testing.F) {
	alice, bob := testSigner(f, "alice"), testSigner(f, "bob")
	l, _ := NewList(alice, "#secret", [16]byte{1}, t0)
	l, _ = l.Invite(alice, bob.Identity, bob.Public, t0)
	f.Add(l.AppendEncode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeList(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.AppendEncode(nil), b) {
			t.Fatal("re-encoded differently")
		}
	})
}
