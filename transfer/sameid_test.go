package transfer

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// xferOf is the transfer with local id.
func xferOf(t *testing.T, m *Manager, id int) *xfer {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.all[id]
	if x == nil {
		t.Fatalf("no transfer %d", id)
	}
	return x
}

// offerID is the local id of the offer the manager lists from p with tid,
// or 0.
func offerID(m *Manager, p *fakePeer, tid uint64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if x := m.byTID[tkey{p.key, tid, false}]; x != nil && x.state == Offered {
		return x.local
	}
	return 0
}

// receive writes data as file 0 of x's first bytes, as a data connection
// does.
func receive(t *testing.T, m *Manager, x *xfer, data []byte) {
	t.Helper()
	w := &fileWriter{m: m, x: x}
	defer w.close()
	if se := w.write(0, 0, data); se != nil {
		t.Logf("writing %d bytes: %v", len(data), se.err)
	}
}

// TestSameIDOtherSenderKeepsPartial: while alice's transfer has data on
// disk, mallory offers a transfer with the same id, the receiver's user
// (or -accept-from) takes it if shown, and mallory cancels: alice's
// partial file is still there, whole.
func TestSameIDOtherSenderKeepsPartial(t *testing.T) {
	t.Parallel()
	s := newFakeSide(t, true, nil)
	alice, mallory := s.n.addPeer("alice", true), s.n.addPeer("mallory", true)
	const tid = 0x96f7344ab9fe7995
	s.m.onControl(alice.offer(tid, "big.bin", 5<<20), time.Now())
	id := offerID(s.m, alice, tid)
	if id == 0 {
		t.Fatal("alice's offer is not shown")
	}
	if err := s.m.Accept(id); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	receive(t, s.m, xferOf(t, s.m, id), data)
	parts, _ := filepath.Glob(filepath.Join(s.dl, partialDir, "*.part"))
	if len(parts) != 1 {
		t.Fatalf("partial files: %v", parts)
	}
	part := parts[0]

	s.m.onControl(mallory.offer(tid, "hello.txt", 5), time.Now())
	if mid := offerID(s.m, mallory, tid); mid != 0 {
		t.Logf("mallory's offer with alice's id is shown as %d: accepted", mid)
		if err := s.m.Accept(mid); err != nil {
			t.Fatal(err)
		}
		receive(t, s.m, xferOf(t, s.m, mid), []byte("hello"))
	}
	s.m.onControl(mallory.msg(wire.Payload{Kind: wire.KindCancel, Transfer: tid, Code: wire.CodeUser}), time.Now())

	got, err := os.ReadFile(part)
	t.Logf("alice's partial file had %d bytes; after mallory's offer and cancel with the same id: %d bytes, %v", len(data), len(got), err)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("alice's partial file was deleted or changed")
	}
	for _, in := range s.m.List() {
		if in.Peer == "alice" && in.State.Final() {
			t.Errorf("alice's transfer ended: %+v", in)
		}
	}
}

// TestReceiverResumesAfterRestart: an accepted transfer with data on disk
// is taken in again by the next run, paused, and finds its partial file
// (its resume offset is what is on disk); so is one kept by an earlier
// version, whose partial files were named by the transfer id.
func TestReceiverResumesAfterRestart(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			n := newFakeNode()
			alice := n.addPeer("alice", true)
			dl, home := t.TempDir(), t.TempDir()
			start := func() *Manager {
				m, err := New(Config{Node: n, Downloads: dl, StateDir: home})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					m.Close()
					for range m.Events() {
					}
				})
				return m
			}
			m := start()
			const tid = 0x1234
			m.onControl(alice.offer(tid, "big.bin", 5<<20), time.Now())
			id := offerID(m, alice, tid)
			if err := m.Accept(id); err != nil {
				t.Fatal(err)
			}
			data := make([]byte, 300<<10)
			rand.Read(data)
			x := xferOf(t, m, id)
			receive(t, m, x, data)
			m.Close()
			for range m.Events() {
			}
			if legacy { // as an earlier version kept it: no local name, files named by the id
				states, _ := filepath.Glob(filepath.Join(dl, partialDir, "*.json"))
				b, _ := os.ReadFile(states[0])
				var s saved
				json.Unmarshal(b, &s)
				s.Local = ""
				os.Remove(states[0])
				plant(t, filepath.Join(dl, partialDir, fmt.Sprintf("%016x-%x.json", uint64(tid), alice.key[:4])), s)
				os.Rename(filepath.Join(dl, filepath.FromSlash(partialName(x, 0))), filepath.Join(dl, partialDir, fmt.Sprintf("%016x-0.part", uint64(tid))))
			}

			m = start()
			in := m.List()
			if len(in) != 1 || in[0].Peer != "alice" || in[0].State != Paused || in[0].Direction != "receive" {
				t.Fatalf("after a restart: %+v, want alice's transfer paused", in)
			}
			y := xferOf(t, m, in[0].ID)
			st, err := m.root.Stat(partialName(y, 0))
			t.Logf("taken in again: %+v; its partial file: %v", in[0], err)
			if err != nil || st.Size() != int64(len(data)) {
				t.Errorf("the partial file is not found under the transfer's name: %v", err)
			}
		})
	}
}

// TestStateNamesTellPeersApart: two outgoing transfers with the same id
// to two peers whose keys share their first 4 bytes (about 2^32 key
// generations away) are kept in two state files, not one.
func TestStateNamesTellPeersApart(t *testing.T) {
	t.Parallel()
	s := newFakeSide(t, true, nil)
	var k1, k2 [32]byte
	rand.Read(k1[:])
	rand.Read(k2[:])
	copy(k2[:4], k1[:4])
	var paths []string
	for _, k := range [][32]byte{k1, k2} {
		x := &xfer{out: true, tid: 0x5ec0000000000003, peerKey: k}
		x.stateName = outStateName(x) // as Send does
		paths = append(paths, s.m.statePath(x))
	}
	t.Logf("state files: %s", paths)
	if paths[0] == paths[1] {
		t.Errorf("both transfers are kept in %s", paths[0])
	}
}
