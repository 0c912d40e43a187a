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
	"testing/synctest"
)

func mustIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSealOpen(t *testing.T) {
	alice, bob, eve := mustIdentity(t), mustIdentity(t), mustIdentity(t)
	want := wire.Payload{Kind: wire.KindMsg, Boot: 1, Counter: 1, Stream: 9, Seq: 1, Base: 1, Text: "secret 秘密"}
	sp := newSessPair(t, alice, bob)
	pkt := sp.seal(&want)
	if regexp.MustCompile("secret").Match(pkt) {
		t.Fatal("plaintext visible in the packet")
	}
	o, err := wire.ParseOuter(pkt)
	if err != nil || o.Key != alice.Public || o.Type != wire.TypeData {
		t.Fatalf("outer: %v", err)
	}
	got, err := sp.open(pkt)
	if err != nil || got.Text != want.Text {
		t.Fatalf("open: %q %v", got.Text, err)
	}
	// Once only.
	if _, err := sp.open(pkt); err != errCounter {
		t.Fatalf("replay opened: %v", err)
	}
	// Nobody else can open it, even knowing alice's public key and having
	// a session of its own with her.
	ep := newSessPair(t, alice, eve)
	ep.seal(&want)
	if _, err := ep.open(pkt); err == nil {
		t.Fatal("eve opened it")
	}
	// Two seals of the same payload differ (the counter).
	if string(sp.seal(&want)) == string(pkt) {
		t.Fatal("nonce reused")
	}
}

// TestTamper flips every bit of a sealed packet: each flip is rejected,
// either by the header checks or by authentication, and none is accepted
// as coming from alice with altered content.
func TestTamper(t *testing.T) {
	alice, bob := mustIdentity(t), mustIdentity(t)
	sp := newSessPair(t, alice, bob)
	pkt := sp.seal(&wire.Payload{Kind: wire.KindMsg, Boot: 1, Counter: 1, Stream: 9, Seq: 1, Base: 1, Text: "pay bob 10"})
	for i := 0; i < len(pkt)*8; i++ {
		b := append([]byte(nil), pkt...)
		b[i/8] ^= 1 << (i % 8)
		if _, err := sp.open(b); err == nil {
			t.Fatalf("bit %d flipped and the packet still opened", i)
		}
	}
	if _, err := sp.open(pkt); err != nil {
		t.Fatalf("the packet itself does not open: %v", err)
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

// TestNoncesNeverRepeat: a session key is one sender's in one session (the
// recipient's index names it), so no (sender, index, counter) may appear
// twice in the whole conversation.
func TestNoncesNeverRepeat(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(21)
		var mu sync.Mutex
		type nonce struct {
			key     [32]byte
			to      uint32
			counter uint64
		}
		seen := map[nonce]bool{}
		sealed, dups := 0, 0
		mn.Tap(func(_, _ netip.AddrPort, b []byte, _ bool) {
			o, err := wire.ParseOuter(b)
			if err != nil || o.Type != wire.TypeData {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			sealed++
			k := nonce{o.Key, o.To, o.Counter}
			if seen[k] {
				dups++
			}
			seen[k] = true
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
	})
}
