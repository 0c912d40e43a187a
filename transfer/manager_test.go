package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// side is one node with its transfer manager, on loopback.
type side struct {
	node *peer.Node
	tr   *peer.NetTransport
	m    *Manager
	dl   string
	ev   chan Event
	addr netip.AddrPort
}

func newSide(t testing.TB, name string, acceptFrom ...string) *side {
	t.Helper()
	return newSideWith(t, name, func(c *Config) { c.AcceptFrom = acceptFrom })
}

// newSideWith is newSide with the manager's Config adjusted by set.
func newSideWith(t testing.TB, name string, set func(*Config)) *side {
	t.Helper()
	s := newSideRaw(t, name, set)
	go func() {
		for e := range s.m.Events() {
			noteEventErr(e)
			s.ev <- e
		}
		close(s.ev)
	}()
	return s
}

// newSideRaw is newSideWith with nobody reading the manager's Events (the
// test reads them; s.ev stays empty).
func newSideRaw(t testing.TB, name string, set func(*Config)) *side {
	t.Helper()
	tr, err := peer.Listen(peer.NetConfig{Bind: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	node, err := peer.New(peer.Config{Name: name}, tr)
	if err != nil {
		t.Fatal(err)
	}
	s := &side{node: node, tr: tr, dl: t.TempDir(), ev: make(chan Event, 1024),
		addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(tr.LocalPort()))}
	cfg := Config{Node: node, Streams: tr, Downloads: s.dl, StateDir: t.TempDir()}
	set(&cfg)
	s.m, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range node.Events() {
		}
	}()
	t.Cleanup(func() { s.m.Close(); node.Close() })
	return s
}

// pair makes two sides that know each other.
func pair(t testing.TB, acceptFrom ...string) (a, b *side, bID string) {
	t.Helper()
	return link(t, newSide(t, "alice"), newSide(t, "bob", acceptFrom...))
}

// link makes a (alice) and b (bob) know each other.
func link(t testing.TB, a, b *side) (*side, *side, string) {
	t.Helper()
	a.node.AddPeer(b.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.node.WaitPeer(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.node.WaitPeer(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	p, err := a.node.Resolve("bob")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, p.ID
}

// await returns the first event of s that f accepts.
func (s *side) await(t testing.TB, what string, f func(Event) bool) Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-s.ev:
			if !ok {
				t.Fatalf("events closed waiting for %s", what)
			}
			if f(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within 20 s", what)
		}
	}
}

func kind(k EventKind) func(Event) bool { return func(e Event) bool { return e.Kind == k } }

func writeRandom(t testing.TB, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	var seed [32]byte
	rand.Read(seed[:])
	mrand.NewChaCha8(seed).Read(b) // as random to the transfer; crypto/rand's getrandom took 0.4 s of CPU for the package's files
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSendFolderAccepted: a file and a folder with nested folders and
// Chinese names arrive whole, under their names, verified; a second
// transfer of the same file does not overwrite the first.
func TestSendFolderAccepted(t *testing.T) {
	t.Parallel()
	a, b, bobID := pair(t)
	src := t.TempDir()
	big := writeRandom(t, filepath.Join(src, "big.bin"), 3*chunkSize+17)
	small := writeRandom(t, filepath.Join(src, "照片", "2024", "海边.jpg"), 1000)
	writeRandom(t, filepath.Join(src, "照片", "empty"), 0)

	id, err := a.m.Send(bobID, []string{filepath.Join(src, "big.bin"), filepath.Join(src, "照片")})
	if err != nil {
		t.Fatal(err)
	}
	a.await(t, "offered", kind(EvOffered))
	off := b.await(t, "offer", kind(EvOffer))
	if len(off.Files) != 3 || off.Total != int64(len(big)+len(small)) {
		t.Fatalf("offer: %+v", off)
	}
	if ents, _ := os.ReadDir(b.dl); len(ents) != 1 { // only the partial folder
		t.Fatalf("something was written before the accept: %v", ents)
	}
	if err := b.m.Accept(off.ID); err != nil {
		t.Fatal(err)
	}
	last := b.await(t, "last file done", func(e Event) bool { return e.Kind == EvDone && e.Last })
	a.await(t, "sender done", func(e Event) bool { return e.Kind == EvDone && e.Last && e.ID == id })
	_ = last
	for name, want := range map[string][]byte{"big.bin": big, "照片/2024/海边.jpg": small, "照片/empty": {}} {
		got, err := os.ReadFile(filepath.Join(b.dl, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	if !a.m.Wait(context.Background()) {
		t.Error("Wait: the transfer did not end done")
	}

	// Again: it lands next to the first, as "big (1).bin".
	if _, err := a.m.Send(bobID, []string{filepath.Join(src, "big.bin")}); err != nil {
		t.Fatal(err)
	}
	off = b.await(t, "offer", kind(EvOffer))
	b.m.Accept(off.ID)
	e := b.await(t, "done", kind(EvDone))
	if e.Path != filepath.Join(b.dl, "big (1).bin") {
		t.Errorf("second copy at %s", e.Path)
	}
	if parts, _ := os.ReadDir(filepath.Join(b.dl, partialDir)); len(parts) != 0 {
		t.Errorf("left in the partial folder: %v", parts)
	}
}

// TestRejectAndCancel: a rejected offer fails on the sender with
// "rejected"; a transfer cancelled by the receiver fails on the sender
// with "peer-cancelled"; nothing is left on disk.
func TestRejectAndCancel(t *testing.T) {
	t.Parallel()
	a, b, bobID := pair(t)
	src := t.TempDir()
	writeRandom(t, filepath.Join(src, "f"), 1000)
	if _, err := a.m.Send(bobID, []string{filepath.Join(src, "f")}); err != nil {
		t.Fatal(err)
	}
	off := b.await(t, "offer", kind(EvOffer))
	if err := b.m.Reject(off.ID); err != nil {
		t.Fatal(err)
	}
	if e := a.await(t, "failed", kind(EvFailed)); e.Code != CodeRejected || e.Resumable {
		t.Errorf("sender: %+v", e)
	}
	if a.m.Wait(context.Background()) {
		t.Error("Wait says all done after a reject")
	}

	if _, err := a.m.Send(bobID, []string{filepath.Join(src, "f")}); err != nil {
		t.Fatal(err)
	}
	off = b.await(t, "offer", kind(EvOffer))
	if err := b.m.Cancel(off.ID); err != nil {
		t.Fatal(err)
	}
	if e := a.await(t, "failed", kind(EvFailed)); e.Code != CodePeerCancelled {
		t.Errorf("sender: %+v", e)
	}
	if e := b.await(t, "failed", kind(EvFailed)); e.Code != CodeCancelled {
		t.Errorf("receiver: %+v", e)
	}

	// The sender cancels.
	id, err := a.m.Send(bobID, []string{filepath.Join(src, "f")})
	if err != nil {
		t.Fatal(err)
	}
	b.await(t, "offer", kind(EvOffer))
	a.await(t, "offered", kind(EvOffered))
	if err := a.m.Cancel(id); err != nil {
		t.Fatal(err)
	}
	if e := b.await(t, "failed", kind(EvFailed)); e.Code != CodePeerCancelled {
		t.Errorf("receiver: %+v", e)
	}
	if ents, _ := os.ReadDir(filepath.Join(b.dl, partialDir)); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestAcceptFrom: an offer from a peer named in AcceptFrom is accepted
// without asking, once that name is pinned to the offering key (a message
// was exchanged under it); before that, the first key to claim the name is
// not trusted with the user's disk, and the offer waits.
func TestAcceptFrom(t *testing.T) {
	t.Parallel()
	a, b, bobID := pair(t, "alice")
	src := t.TempDir()
	want := writeRandom(t, filepath.Join(src, "auto.txt"), 5000)
	first, err := a.m.Send(bobID, []string{filepath.Join(src, "auto.txt")})
	if err != nil {
		t.Fatal(err)
	}
	off := b.await(t, "offer", kind(EvOffer))
	for _, in := range b.m.List() { // auto-accepting happens with the offer, or never
		if in.ID == off.ID && in.State != Offered {
			t.Fatalf("an offer under a name pinned to nobody was accepted: %+v", in)
		}
	}
	a.m.Cancel(first)
	b.await(t, "cancelled", kind(EvFailed))
	// A message under the name pins it: now the offer is accepted at once.
	ids, err := a.node.Send(bobID, "here comes a file")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.node.Flush(ctx); err != nil || len(ids) != 1 {
		t.Fatal(err)
	}
	if _, err := a.m.Send(bobID, []string{filepath.Join(src, "auto.txt")}); err != nil {
		t.Fatal(err)
	}
	b.await(t, "accepted", kind(EvAccepted))
	b.await(t, "done", kind(EvDone))
	if got, _ := os.ReadFile(filepath.Join(b.dl, "auto.txt")); !bytes.Equal(got, want) {
		t.Error("content differs")
	}
}

// TestGiveUpUnansweredOffer: with GiveUpAfter (a script's /send), an offer
// nobody answers fails with CodeTimeout once that long has passed, not
// before; the receiver is told (its offer goes away) and GaveUp counts it.
func TestGiveUpUnansweredOffer(t *testing.T) {
	t.Parallel()
	const limit = 600 * time.Millisecond
	a, b, bobID := link(t, newSideWith(t, "alice", func(c *Config) { c.GiveUpAfter = limit }), newSide(t, "bob"))
	src := filepath.Join(t.TempDir(), "f")
	writeRandom(t, src, 1000)
	if _, err := a.m.Send(bobID, []string{src}); err != nil {
		t.Fatal(err)
	}
	offered := a.await(t, "offered", kind(EvOffered))
	off := b.await(t, "offer", kind(EvOffer))
	e := a.await(t, "given up", kind(EvFailed))
	if e.Code != CodeTimeout || e.Resumable {
		t.Fatalf("sender: %+v, want a final timeout", e)
	}
	if waited := e.Time.Sub(offered.Time); waited < limit {
		t.Errorf("given up %v after the offer, before the %v bound", waited, limit)
	}
	t.Logf("sender: %s %s, %v", e.Code, e.Note, e.Err)
	if r := b.await(t, "offer withdrawn", kind(EvFailed)); r.ID != off.ID || r.Code != CodePeerFailed {
		t.Errorf("receiver: %+v, want its offer %d ended as peer-failed", r, off.ID)
	}
	if n := a.m.GaveUp(); n != 1 {
		t.Errorf("GaveUp = %d, want 1", n)
	}
	if a.m.Wait(context.Background()) {
		t.Error("Wait says all done after a timeout")
	}
}

// TestGiveUpReceiverGone: with GiveUpAfter, an accepted transfer whose
// receiver is gone (its manager closed right after the accept: every data
// connection is refused) fails with CodeTimeout, naming the lack of
// progress, once that long has passed without any.
func TestGiveUpReceiverGone(t *testing.T) {
	t.Parallel()
	const limit = 700 * time.Millisecond
	a, b, bobID := link(t, newSideWith(t, "alice", func(c *Config) { c.GiveUpAfter = limit }), newSide(t, "bob"))
	src := filepath.Join(t.TempDir(), "f")
	writeRandom(t, src, 32<<20)
	if _, err := a.m.Send(bobID, []string{src}); err != nil {
		t.Fatal(err)
	}
	off := b.await(t, "offer", kind(EvOffer))
	if err := b.m.Accept(off.ID); err != nil {
		t.Fatal(err)
	}
	b.m.Close()
	acc := a.await(t, "accepted", kind(EvAccepted))
	e := a.await(t, "given up", func(e Event) bool { return e.Kind == EvFailed && !e.Resumable })
	if e.Code != CodeTimeout || e.Note != NoteStalled {
		t.Fatalf("sender: %+v, want a timeout for lack of progress", e)
	}
	if waited := e.Time.Sub(acc.Time); waited < limit {
		t.Errorf("given up %v after the accept, before the %v bound", waited, limit)
	}
	t.Logf("sender: %s %s, %v", e.Code, e.Note, e.Err)
	if a.m.Wait(context.Background()) {
		t.Error("Wait says all done after a timeout")
	}
}

// TestBusy: Config.Busy is told when files start to move (after the
// accept, not before) and when they stop, on both sides, once each.
func TestBusy(t *testing.T) {
	t.Parallel()
	record := func(c chan bool) func(*Config) {
		return func(cfg *Config) { cfg.Busy = func(b bool) { c <- b } }
	}
	ac, bc := make(chan bool, 8), make(chan bool, 8)
	a, b, bobID := link(t, newSideWith(t, "alice", record(ac)), newSideWith(t, "bob", record(bc)))
	src := filepath.Join(t.TempDir(), "f.bin")
	writeRandom(t, src, 5*chunkSize)
	id, err := a.m.Send(bobID, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	off := b.await(t, "offer", kind(EvOffer))
	if len(ac)+len(bc) != 0 {
		t.Fatalf("busy before the accept: %d calls at the sender, %d at the receiver", len(ac), len(bc))
	}
	if err := b.m.Accept(off.ID); err != nil {
		t.Fatal(err)
	}
	b.await(t, "received", func(e Event) bool { return e.Kind == EvDone && e.Last })
	a.await(t, "sender done", func(e Event) bool { return e.Kind == EvDone && e.Last && e.ID == id })
	for who, c := range map[string]chan bool{"sender": ac, "receiver": bc} {
		for _, want := range []bool{true, false} {
			select {
			case got := <-c:
				if got != want {
					t.Fatalf("%s: Busy(%v), want Busy(%v)", who, got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no Busy(%v) within 10 s", who, want)
			}
		}
		if len(c) != 0 {
			t.Errorf("%s: %d more Busy calls", who, len(c))
		}
	}
}
