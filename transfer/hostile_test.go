package transfer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// TestHostileNamesRefused: offers naming files outside the downloads
// folder are refused as a whole (the sender is told bad-offer) and nothing
// is written; a name with a newline is made safe.
func TestHostileNamesRefused(t *testing.T) {
	t.Parallel()
	a, b, _ := pair(t)
	alice, _ := b.node.Resolve("alice")
	aliceKey, _ := b.node.PeerKey(alice.ID)
	for i, name := range []string{"../../.bashrc", "/etc/passwd", `C:\x`, `..\..\x`} {
		b.m.onControl(peer.FileMsg{PeerID: alice.ID, Peer: "alice", Key: aliceKey,
			Payload: wire.Payload{Kind: wire.KindOffer, Transfer: uint64(100 + i), Files: []wire.FileEntry{{Name: "ok.txt", Size: 1}, {Name: name, Size: 1}}}}, time.Now())
	}
	// The first refusal is said at once, the next ones of that peer
	// together, with their count, refusalEvery later.
	if e := b.await(t, "refusal", kind(EvFailed)); e.Code != CodeBadOffer || e.Count != 1 {
		t.Errorf("first refusal: %+v", e)
	}
	b.m.mu.Lock()
	b.m.tickPeersLocked(time.Now().Add(refusalEvery))
	b.m.mu.Unlock()
	if e := b.await(t, "refusals", kind(EvFailed)); e.Code != CodeBadOffer || e.Count != 3 {
		t.Errorf("the next refusals: %+v, want one bad-offer event with Count 3", e)
	}
	if l := b.m.List(); len(l) != 0 {
		t.Errorf("refused offers are listed: %+v", l)
	}
	b.m.onControl(peer.FileMsg{PeerID: alice.ID, Peer: "alice", Key: aliceKey,
		Payload: wire.Payload{Kind: wire.KindOffer, Transfer: 200, Files: []wire.FileEntry{{Name: "a\nb\x1b[2J.txt", Size: 1}}}}, time.Now())
	if e := b.await(t, "offer", kind(EvOffer)); e.Files[0] != "a_b_[2J.txt" {
		t.Errorf("offer shows %q", e.Files)
	}
	if ents, _ := os.ReadDir(b.dl); len(ents) != 1 {
		t.Errorf("written: %v", ents)
	}
	_ = a
}

// TestHashMismatchDiscarded: a sender whose data is not what it offered
// (the file changed, size and time kept) gets hash-mismatch, and the
// receiver keeps nothing.
func TestHashMismatchDiscarded(t *testing.T) {
	t.Parallel()
	a, b, bobID := pair(t)
	src := filepath.Join(t.TempDir(), "lie.bin")
	writeRandom(t, src, 2*chunkSize)
	st, _ := os.Stat(src)
	if _, err := a.m.Send(bobID, []string{src}); err != nil {
		t.Fatal(err)
	}
	off := b.await(t, "offer", kind(EvOffer))
	writeRandom(t, src, 2*chunkSize) // other bytes, same size
	os.Chtimes(src, st.ModTime(), st.ModTime())
	b.m.Accept(off.ID)
	if e := b.await(t, "failed", kind(EvFailed)); e.Code != CodeHashMismatch {
		t.Errorf("receiver: %+v", e)
	}
	if e := a.await(t, "failed", kind(EvFailed)); e.Code != CodeHashMismatch {
		t.Errorf("sender: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(b.dl, "lie.bin")); err == nil {
		t.Error("the file that did not verify got its name")
	}
	if parts, _ := os.ReadDir(filepath.Join(b.dl, partialDir)); len(parts) != 0 {
		t.Errorf("left behind: %v", parts)
	}
}
