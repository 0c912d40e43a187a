package peer

import (
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
)

func mustIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sealed(t testing.TB, from, to *Identity, p *wire.Payload) []byte {
	t.Helper()
	b, err := from.seal(nil, from.sharedKey(&to.Public), p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	alice, bob, eve := mustIdentity(t), mustIdentity(t), mustIdentity(t)
	want := wire.Payload{Kind: wire.KindMsg, Boot: 1, Counter: 1, Stream: 9, Seq: 1, Base: 1, Text: "secret 秘密"}
	pkt := sealed(t, alice, bob, &want)
	if regexp.MustCompile("secret").Match(pkt) {
		t.Fatal("plaintext visible in the packet")
	}
	o, err := wire.ParseOuter(pkt)
	if err != nil || o.Key != alice.Public {
		t.Fatalf("outer: %v", err)
	}
	got, err := open(&o, bob.sharedKey(&alice.Public))
	if err != nil || got.Text != want.Text {
		t.Fatalf("open: %q %v", got.Text, err)
	}
	// Nobody else can open it, even knowing alice's public key.
	if _, err := open(&o, eve.sharedKey(&alice.Public)); err != errOpen {
		t.Fatalf("eve opened it: %v", err)
	}
	// Two seals of the same payload differ (random nonce).
	if string(sealed(t, alice, bob, &want)) == string(pkt) {
		t.Fatal("nonce reused")
	}
}

// TestTamper flips every bit of a sealed packet: each flip is rejected,
// either by the header checks or by authentication, and none is accepted
// as coming from alice with altered content.
func TestTamper(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	pkt := sealed(t, alice, bob, &wire.Payload{Kind: wire.KindMsg, Boot: 1, Counter: 1, Stream: 9, Seq: 1, Base: 1, Text: "pay bob 10"})
	shared := bob.sharedKey(&alice.Public)
	for i := 0; i < len(pkt)*8; i++ {
		b := append([]byte(nil), pkt...)
		b[i/8] ^= 1 << (i % 8)
		o, err := wire.ParseOuter(b)
		if err != nil {
			continue
		}
		key := shared
		if o.Key != alice.Public {
			key = bob.sharedKey(&o.Key) // the receiver would use the claimed key
		}
		if _, err := open(&o, key); err == nil {
			t.Fatalf("bit %d flipped and the packet still opened", i)
		}
	}
}

func TestReplayWindow(t *testing.T) {
	var w replayWindow
	steps := []struct {
		boot, counter uint64
		want          bool
	}{
		{10, 1, true}, {10, 1, false}, // replay
		{10, 3, true}, {10, 2, true}, {10, 2, false}, // reordering ok, once
		{10, 5000, true}, {10, 3, false}, // far behind the window
		{10, 5000 - windowSize + 1, true}, {10, 5000 - windowSize, false},
		{9, 6000, false}, // an older process
		{11, 1, true},    // restarted: new boot resets
		{10, 5001, false},
		{11, 0, false},
	}
	for i, s := range steps {
		if got, _ := w.check(s.boot, s.counter); got != s.want {
			t.Fatalf("step %d: check(%d,%d) = %v, want %v", i, s.boot, s.counter, got, s.want)
		}
	}
}

func TestLoadIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	a, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, identityFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	b, err := LoadIdentity(dir)
	if err != nil || b.Public != a.Public {
		t.Fatalf("reload gave another key: %v", err)
	}
	if len(a.ID()) != 16 || !regexp.MustCompile(`^([0-9a-f]{4} ){7}[0-9a-f]{4}$`).MatchString(a.Fingerprint()) {
		t.Fatalf("id %q fingerprint %q", a.ID(), a.Fingerprint())
	}
	os.WriteFile(filepath.Join(dir, identityFile), []byte("garbage"), 0o600)
	if _, err := LoadIdentity(dir); err == nil {
		t.Fatal("damaged key file accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := LoadIdentity(file); err == nil {
		t.Fatal("a file as home directory accepted")
	}
}

func TestCanonicalKey(t *testing.T) {
	id := mustIdentity(t)
	if !wire.CanonicalKey(&id.Public) {
		t.Fatal("a generated key is not canonical")
	}
	flipped := id.Public
	flipped[31] |= 0x80
	aliasP := [32]byte{0: 0xed, 31: 0x7f}
	for i := 1; i < 31; i++ {
		aliasP[i] = 0xff
	}
	below := aliasP
	below[0] = 0xec
	for _, tt := range []struct {
		key  [32]byte
		want bool
	}{{flipped, false}, {aliasP, false}, {below, true}} {
		if got := wire.CanonicalKey(&tt.key); got != tt.want {
			t.Errorf("CanonicalKey(%x) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// TestNoncesNeverRepeat: both directions between two peers share one key,
// so no nonce may appear twice in their whole conversation (nonces are a
// per-run random prefix and the packet counter).
func TestNoncesNeverRepeat(t *testing.T) {
	mn := NewMemNet(21)
	var mu sync.Mutex
	seen := map[[24]byte]bool{}
	sealed, dups := 0, 0
	mn.Tap(func(_, _ netip.AddrPort, b []byte, _ bool) {
		o, err := wire.ParseOuter(b)
		if err != nil || o.Type != wire.TypeSealed {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		sealed++
		if seen[o.Nonce] {
			dups++
		}
		seen[o.Nonce] = true
	})
	a, b := startNode(t, mn, "alice"), startNode(t, mn, "bob")
	introduce(a, b)
	a.waitJoined("bob")
	b.waitJoined("alice")
	const n = 100
	for i := 0; i < n; i++ {
		a.Send("bob", fmt.Sprint("a", i))
		b.Send("alice", fmt.Sprint("b", i))
	}
	b.waitMessage("alice", fmt.Sprint("a", n-1))
	a.waitMessage("bob", fmt.Sprint("b", n-1))
	mu.Lock()
	defer mu.Unlock()
	if sealed < 4*n || dups > 0 {
		t.Fatalf("%d sealed packets, %d repeated nonces", sealed, dups)
	}
}
