package roomsnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// hasBinding reports whether m holds who's signing key first-hand.
func hasBinding(m, who *member) bool {
	m.run.mu.Lock()
	defer m.run.mu.Unlock()
	_, ok := m.run.bound[who.id.Public]
	return ok
}

// waitBinding waits until m holds who's signing key (it comes when they
// meet).
func waitBinding(t *testing.T, m, who *member) {
	t.Helper()
	if !eventually(10*time.Second, func() bool { return hasBinding(m, who) }) {
		t.Fatalf("%s never got %s's binding", m.name, who.name)
	}
}

// TestInviteOfflineAfterRestart: alice and bob meet (nothing else: no
// message between them, so no name pinned); both restart, bob stays
// offline. Alice finds bob by name and invites him to her private
// #secret: no error, and a message of hers waits for him. Bob, back,
// is told of the invitation and gets her messages, the one said while
// he was away and the next, each once.
func TestInviteOfflineAfterRestart(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(11)
		ms := startAll(t, mn, "alice", "bob")
		a, b := ms[0], ms[1]
		joinRoom(t, a, "#secret", true)
		meet(a, b)
		waitBinding(t, a, b)
		a.stop()
		b.stop()
		a = a.restart(mn) // bob stays offline

		bobID := peer.KeyID(&b.id.Public)
		if _, err := a.node.Resolve("bob"); !errors.Is(err, peer.ErrUnknownPeer) {
			t.Fatalf("the node resolves bob (%v): this test is meant for a name only the rooms know", err)
		}
		id, label, err := a.run.Known("bob")
		if err != nil || id != bobID || label != "bob" {
			t.Fatalf("Known(bob) = %q %q %v, want %s bob", id, label, err, bobID)
		}
		if _, _, err := a.run.Known("carol"); !errors.Is(err, peer.ErrUnknownPeer) {
			t.Errorf("Known(carol): %v, want ErrUnknownPeer", err)
		}
		room, err := a.run.Invite(id, "#secret")
		if err != nil || room != "#secret" {
			t.Fatalf("invite of offline bob: %q %v", room, err)
		}
		a.post("#secret", "while you were away")

		b = b.restart(mn)
		meet(a, b)
		b.wait("invitation", func(e Event) bool { return e.Kind == EvInvited && e.Room == "#secret" && e.Peer == "alice" })
		a.wait("bob's join", func(e Event) bool { return e.Kind == EvJoined && e.Room == "#secret" && e.Peer == "bob" })
		a.post("#secret", "welcome")
		got := b.texts("#secret", 2)
		if fmt.Sprint(got) != "[alice: while you were away alice: welcome]" {
			t.Fatalf("bob got %q", got)
		}
		b.none(2 * time.Second) // each once
		b.post("#secret", "thanks")
		if got := a.texts("#secret", 1); got[0] != "bob: thanks" {
			t.Fatalf("alice got %q", got)
		}
	})
}

// TestBindingsDamaged: alice's file of signing keys has a flipped bit:
// her restart reports it (a warning with a code), keeps none of it, and
// an invitation of bob (known to the node: his name is pinned) needs him
// online again (ErrNoBinding, as before the file existed); once he is
// met, it works. The damaged file is kept aside, and the next save
// writes a good one.
func TestBindingsDamaged(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(12)
		ms := startAll(t, mn, "alice", "bob")
		a, b := ms[0], ms[1]
		joinRoom(t, a, "#secret", true)
		meet(a, b)
		if _, err := b.node.Send(peer.KeyID(&a.id.Public), "hi alice"); err != nil { // pins bob's name at alice
			t.Fatal(err)
		}
		waitBinding(t, a, b)
		if !eventually(10*time.Second, func() bool { return b.node.Waiting() == 0 }) {
			t.Fatal("bob's message not acknowledged")
		}
		a.stop()
		b.stop()
		path := filepath.Join(a.home, "rooms", bindingsFile)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)-70] ^= 0x10 // in bob's binding signature
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}

		a = a.restart(mn)
		w := a.wait("warning", func(e Event) bool { return e.Kind == EvWarning })
		if w.Code != "bindings-damaged" || w.File != bindingsFile || w.Err == nil {
			t.Fatalf("warning %+v, want code bindings-damaged, file %s, an error", w, bindingsFile)
		}
		if _, err := os.Stat(path + ".damaged"); err != nil {
			t.Errorf("damaged file not kept aside: %v", err)
		}
		p, err := a.node.Resolve("bob")
		if err != nil {
			t.Fatalf("bob's pinned name: %v", err)
		}
		if _, err := a.run.Invite(p.ID, "#secret"); !errors.Is(err, ErrNoBinding) {
			t.Fatalf("invite with the bindings damaged: %v, want ErrNoBinding", err)
		}

		b = b.restart(mn)
		meet(a, b)
		waitBinding(t, a, b)
		if _, err := a.run.Invite(p.ID, "#secret"); err != nil {
			t.Fatalf("invite of bob met again: %v", err)
		}
		b.wait("invitation", func(e Event) bool { return e.Kind == EvInvited && e.Room == "#secret" })
		a.stop()
		raw, err = os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decodeBindings(raw); err != nil || len(got) != 1 || got[0].identity != b.id.Public {
			t.Fatalf("bindings file rewritten: %d entries, %v", len(got), err)
		}
	})
}

// binderKey is the signing key of every binder: a binding is taken by
// its identity key, whatever the signing key, and under -race a key
// costs as much as a signature (TestBindingsBounded makes 4,700 of them).
var binderKey = sync.OnceValue(func() ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return priv
})

// binder is a peer's identity and its binding payload (app 4).
func binder(t *testing.T) (rooms.Key, []byte) {
	t.Helper()
	var id rooms.Key
	rand.Read(id[:]) // (the binding signs any 32 bytes: no X25519 key needed here)
	sg := rooms.NewSigner(id, binderKey())
	sig := sg.BindingSig()
	return id, append(append([]byte(nil), sg.Public[:]...), sig[:]...)
}

// TestDecodeBindings: a bindings file is taken whole or not at all: a
// flipped bit anywhere, an entry whose binding does not verify (even
// with a checksum made to match), a file cut short or too long is
// damaged.
func TestDecodeBindings(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	var good []savedBinding
	for i := range 3 {
		k, data := binder(t)
		e := savedBinding{identity: k, seen: int64(1000 + i), label: fmt.Sprintf("peer%d", i)}
		copy(e.sk[:], data[:32])
		copy(e.sig[:], data[32:])
		good = append(good, e)
	}
	// A checksum made to match a body changed after it.
	resum := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[len(bindingsMagic):], crc32.Checksum(b[len(bindingsMagic)+4:], castagnoli))
		return b
	}
	wrongKey := slices.Clone(good)
	wrongKey[1].sk[0] ^= 1 // another signing key for peer1, its proof unchanged
	cases := []struct {
		name string
		file []byte
		want int // entries taken; -1: damaged
	}{
		{"good", encodeBindings(good), 3},
		{"empty", encodeBindings(nil), 0},
		{"bit flipped", func() []byte { b := encodeBindings(good); b[len(b)/2] ^= 4; return b }(), -1},
		{"wrong key, checksum matching", encodeBindings(wrongKey), -1},
		{"signature changed, checksum matching", func() []byte {
			b := encodeBindings(good)
			b[len(bindingsMagic)+4+2+64+5] ^= 1
			return resum(b)
		}(), -1},
		{"cut short", resum(encodeBindings(good)[:len(encodeBindings(good))-3]), -1},
		{"trailing bytes", resum(append(encodeBindings(good), 0)), -1},
		{"too many entries", func() []byte {
			b := encodeBindings(good)
			binary.BigEndian.PutUint16(b[len(bindingsMagic)+4:], maxSavedBound+1)
			return resum(b)
		}(), -1},
		{"not a bindings file", []byte("p2pchat room seqs v1\n"), -1},
		{"control in a label", func() []byte {
			bad := slices.Clone(good)
			bad[2].label = "eve\x1b[2J"
			return encodeBindings(bad)
		}(), -1},
	}
	for _, c := range cases {
		got, err := decodeBindings(c.file)
		switch {
		case c.want < 0 && (err == nil || !errors.Is(err, errDamagedBindings)):
			t.Errorf("%s: %d entries, %v; want damaged", c.name, len(got), err)
		case c.want >= 0 && (err != nil || len(got) != c.want):
			t.Errorf("%s: %d entries, %v; want %d", c.name, len(got), err, c.want)
		case c.want == 3 && !slices.Equal(got, good):
			t.Errorf("%s: %+v, want %+v", c.name, got, good)
		}
	}
}

// TestBindingsBounded: of more bindings than maxSavedBound, the file keeps
// the ones seen last (a binding seen again is as new), and a restart
// restores exactly those; in memory, past maxBound, the one seen longest
// ago goes, counted.
func TestBindingsBounded(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		_, sg := newIdentity(t)
		dir := filepath.Join(t.TempDir(), "rooms")
		now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		r, err := New(Config{Signer: sg, Nick: "alice", Dir: dir, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		total := maxSavedBound + 100
		keys := make([]rooms.Key, total)
		datas := make([][]byte, total)
		for i := range total {
			keys[i], datas[i] = binder(t)
		}
		take := func(i int) {
			now = now.Add(time.Millisecond)
			r.mu.Lock()
			r.takeBindingLocked(keys[i], fmt.Sprintf("p%d", i), datas[i])
			r.mu.Unlock()
		}
		for i := range total {
			take(i)
		}
		take(0) // seen again: the newest now
		r.Close()
		r2, err := New(Config{Signer: sg, Nick: "alice", Dir: dir, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		r2.mu.Lock()
		n := len(r2.bound)
		_, has0 := r2.bound[keys[0]]
		_, has100 := r2.bound[keys[100]]
		_, has101 := r2.bound[keys[101]]
		_, hasLast := r2.bound[keys[total-1]]
		r2.mu.Unlock()
		if n != maxSavedBound || !has0 || has100 || !has101 || !hasLast {
			t.Errorf("restored %d bindings (want %d); seen again %v (want true), 100th %v (want false), 101st %v, last %v (want true)",
				n, maxSavedBound, has0, has100, has101, hasLast)
		}
		if id, label, err := r2.Known("p101"); err != nil || id != peer.KeyID(&keys[101]) || label != "p101" {
			t.Errorf("Known(p101) = %q %q %v", id, label, err)
		}

		// In memory: maxBound at most, the one seen longest ago forgotten.
		r2.mu.Lock()
		for range maxBound {
			k, data := binder(t)
			r2.takeBindingLocked(k, "", data)
		}
		n, ev := len(r2.bound), r2.stats.BoundEvicted
		_, has0 = r2.bound[keys[0]]
		r2.mu.Unlock()
		if n != maxBound || ev != maxSavedBound || has0 {
			t.Errorf("in memory: %d bindings (want %d), %d evicted (want %d), the oldest kept %v", n, maxBound, ev, maxSavedBound, has0)
		}
	})
}

// appNode is a Node that takes every payload and records none (for the
// runner's own bookkeeping).
type appNode struct{ sent int }

func (n *appNode) SendApp(key [32]byte, label string, app byte, data []byte) (uint64, error) {
	n.sent++
	return uint64(n.sent), nil
}
func (n *appNode) SendAppTo(to []peer.AppDest, app byte, data []byte) ([]uint64, []error) {
	return make([]uint64, len(to)), make([]error, len(to))
}
func (n *appNode) AppRoom(to []peer.AppDest, size int) error             { return nil }
func (n *appNode) SendAppOnce(key [32]byte, app byte, data []byte) error { return nil }
func (n *appNode) Peers() []peer.PeerInfo                                { return nil }
func (n *appNode) Resolve(name string) (peer.PeerInfo, error) {
	return peer.PeerInfo{}, peer.ErrUnknownPeer
}
func (n *appNode) PeerKey(id string) ([32]byte, bool) { return [32]byte{}, false }

// TestBindingSentEvicts: the peers our binding went to in this run are
// at most maxBound; past it the one it went to first is forgotten (it
// would get it again), not all of them (before: the set was cleared, and
// every peer got our binding again).
func TestBindingSentEvicts(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		_, sg := newIdentity(t)
		n := &appNode{}
		r, err := New(Config{Node: n, Signer: sg, Nick: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		keys := make([]rooms.Key, maxBound+1)
		for i := range keys {
			binary.BigEndian.PutUint32(keys[i][:], uint32(i+1))
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, k := range keys {
			r.sendBindingLocked(k, "")
		}
		if len(r.bindSent) != maxBound || r.bindSent[keys[0]] || !r.bindSent[keys[1]] || !r.bindSent[keys[maxBound]] {
			t.Fatalf("after %d peers: %d remembered, the first %v (want false), the second %v, the last %v (want true)",
				len(keys), len(r.bindSent), r.bindSent[keys[0]], r.bindSent[keys[1]], r.bindSent[keys[maxBound]])
		}
		sent := n.sent
		r.sendBindingLocked(keys[1], "")
		if n.sent != sent {
			t.Error("a peer remembered got our binding again")
		}
	})
}
