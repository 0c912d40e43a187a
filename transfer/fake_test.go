package transfer

import (
	"crypto/rand"
	"sync"
	"testing"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// fakePeer is a peer as the fake node knows it.
type fakePeer struct {
	id, name string
	key      [32]byte
	pinned   bool // its name is pinned to its key (peer.FileMsg.Pinned)
	online   bool
}

// msg is a control payload from p.
func (p *fakePeer) msg(pl wire.Payload) peer.FileMsg {
	return peer.FileMsg{PeerID: p.id, Peer: p.name, Key: p.key, Pinned: p.pinned, Payload: pl}
}

// offer is p's offer tid of one file.
func (p *fakePeer) offer(tid uint64, name string, size uint64) peer.FileMsg {
	return p.msg(wire.Payload{Kind: wire.KindOffer, Transfer: tid, Files: []wire.FileEntry{{Name: name, Size: size}}})
}

// sentPayload is a control payload the manager sent.
type sentPayload struct {
	to string
	pl wire.Payload
}

// fakeNode is a Node without a network: tests hand the manager control
// payloads (deliver) and read what it answered (sentTo).
type fakeNode struct {
	pub [32]byte

	mu    sync.Mutex
	h     func(peer.FileMsg)
	peers map[string]*fakePeer
	sent  []sentPayload // the first 4,096
	nsent int
}

func newFakeNode() *fakeNode {
	n := &fakeNode{peers: map[string]*fakePeer{}}
	rand.Read(n.pub[:])
	return n
}

// addPeer makes a peer the node knows, online.
func (n *fakeNode) addPeer(name string, pinned bool) *fakePeer {
	p := &fakePeer{name: name, pinned: pinned, online: true}
	rand.Read(p.key[:])
	p.id = peer.KeyID(&p.key)
	n.mu.Lock()
	n.peers[p.id] = p
	n.mu.Unlock()
	return p
}

// setOnline says whether p is online from now on.
func (n *fakeNode) setOnline(p *fakePeer, on bool) {
	n.mu.Lock()
	p.online = on
	n.mu.Unlock()
}

func (n *fakeNode) SendFile(id string, pl wire.Payload) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nsent++
	if len(n.sent) < 4096 {
		n.sent = append(n.sent, sentPayload{id, pl})
	}
	return nil
}

func (n *fakeNode) Peer(id string) (peer.PeerInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.peers[id]
	if p == nil {
		return peer.PeerInfo{}, false
	}
	return peer.PeerInfo{Name: p.name, Nick: p.name, ID: p.id, Online: p.online}, true
}

func (n *fakeNode) PeerKey(id string) ([32]byte, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.peers[id]; p != nil {
		return p.key, true
	}
	return [32]byte{}, false
}

func (n *fakeNode) SetFileHandler(h func(peer.FileMsg)) {
	n.mu.Lock()
	n.h = h
	n.mu.Unlock()
}

func (n *fakeNode) PublicKey() [32]byte { return n.pub }

// deliver hands the manager a control payload, as the node does.
func (n *fakeNode) deliver(f peer.FileMsg) {
	n.mu.Lock()
	h := n.h
	n.mu.Unlock()
	h(f)
}

// sentTo is what the manager sent to p, of kind k.
func (n *fakeNode) sentTo(p *fakePeer, k wire.Kind) []wire.Payload {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []wire.Payload
	for _, s := range n.sent {
		if s.to == p.id && s.pl.Kind == k {
			out = append(out, s.pl)
		}
	}
	return out
}

// fakeSide is a manager on a fake node; its events are collected, unless
// the test wants a reader that never reads.
type fakeSide struct {
	m  *Manager
	n  *fakeNode
	dl string

	mu  sync.Mutex
	evs []Event
}

// newFakeSide starts a manager on a fake node (inside a synctest bubble,
// if the test runs in one). read: collect its events; otherwise nobody
// reads them until the end.
func newFakeSide(t testing.TB, read bool, set func(*Config)) *fakeSide {
	t.Helper()
	s := &fakeSide{n: newFakeNode(), dl: t.TempDir()}
	cfg := Config{Node: s.n, Downloads: s.dl, StateDir: t.TempDir()}
	if set != nil {
		set(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.m = m
	done := make(chan struct{})
	if read {
		go func() {
			defer close(done)
			for e := range m.Events() {
				s.mu.Lock()
				noteEventErr(e)
				s.evs = append(s.evs, e)
				s.mu.Unlock()
			}
		}()
	} else {
		close(done)
	}
	t.Cleanup(func() {
		m.Close()
		<-done
		for range m.Events() { // a stalled reader's backlog
		}
	})
	return s
}

// events is what the manager said so far that f accepts.
func (s *fakeSide) events(f func(Event) bool) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.evs {
		if f == nil || f(e) {
			out = append(out, e)
		}
	}
	return out
}

// listed is the transfers /transfers shows that f accepts.
func (s *fakeSide) listed(f func(Info) bool) []Info {
	var out []Info
	for _, in := range s.m.List() {
		if f(in) {
			out = append(out, in)
		}
	}
	return out
}
