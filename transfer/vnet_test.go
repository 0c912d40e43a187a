package transfer

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// A virtual network for tests on virtual time (testing/synctest): two
// managers whose control payloads go straight to each other and whose data
// connections are net.Pipe, shaped to a rate in virtual time. Nothing in it
// touches a real socket, so timeouts of 10 s and more cost nothing.

// vnet connects vnodes. mu guards every field of every vnode.
type vnet struct {
	mu    sync.Mutex
	nodes []*vnode
}

// vnode is one side: a transfer.Node with no network.
type vnode struct {
	net  *vnet
	name string
	pub  [32]byte
	addr netip.AddrPort // what its peers dial
	h    func(peer.FileMsg)
	m    *Manager
	dl   string
	ev   chan Event
}

func (n *vnode) id() string { return peer.KeyID(&n.pub) }

func (n *vnode) find(id string) *vnode {
	for _, o := range n.net.nodes {
		if o.id() == id {
			return o
		}
	}
	return nil
}

func (n *vnode) SendFile(id string, pl wire.Payload) error {
	n.net.mu.Lock()
	o := n.find(id)
	var h func(peer.FileMsg)
	if o != nil {
		h = o.h
	}
	n.net.mu.Unlock()
	if h == nil {
		return peer.ErrUnknownPeer
	}
	h(peer.FileMsg{PeerID: n.id(), Peer: n.name, Key: n.pub, Pinned: true, Payload: pl})
	return nil
}

func (n *vnode) Peer(id string) (peer.PeerInfo, bool) {
	n.net.mu.Lock()
	defer n.net.mu.Unlock()
	o := n.find(id)
	if o == nil {
		return peer.PeerInfo{}, false
	}
	return peer.PeerInfo{Name: o.name, ID: id, Addr: o.addr.String(), Online: true}, true
}

func (n *vnode) PeerKey(id string) ([32]byte, bool) {
	n.net.mu.Lock()
	defer n.net.mu.Unlock()
	if o := n.find(id); o != nil {
		return o.pub, true
	}
	return [32]byte{}, false
}

func (n *vnode) SetFileHandler(h func(peer.FileMsg)) {
	n.net.mu.Lock()
	n.h = h
	n.net.mu.Unlock()
}

func (n *vnode) PublicKey() [32]byte { return n.pub }

// addNode starts a manager on a new vnode (inside the bubble).
func (vn *vnet) addNode(t *testing.T, name string) *vnode {
	dl := t.TempDir()
	t.Helper()
	k := byte(len(vn.nodes) + 1)
	n := &vnode{net: vn, name: name, pub: [32]byte{k, 0xee}, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, k}), 7777),
		dl: dl, ev: make(chan Event, 4096)}
	vn.mu.Lock()
	vn.nodes = append(vn.nodes, n)
	vn.mu.Unlock()
	m, err := New(Config{Node: n, Downloads: dl, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n.m = m
	go func() {
		for e := range m.Events() {
			noteEventErr(e)
			n.ev <- e
		}
		close(n.ev)
	}()
	return n
}

// aliceAndBob are two nodes of a new virtual network, closed when t ends.
func aliceAndBob(t *testing.T) (a, b *vnode) {
	t.Helper()
	vn := &vnet{}
	a, b = vn.addNode(t, "alice"), vn.addNode(t, "bob")
	t.Cleanup(func() {
		b.m.Close()
		a.m.Close()
	})
	return a, b
}

// shaped is one end of a data connection sending at rate bytes per second
// of virtual time; failWrite, if set, is asked before each write whether
// it fails (the link breaks: the connection is closed).
type shaped struct {
	net.Conn
	rate      int64
	mu        sync.Mutex
	writes    int
	failWrite func(n int) bool
	onWrite   func(n int, p []byte) // sees write n before it goes
}

func (c *shaped) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	n := c.writes
	c.mu.Unlock()
	if c.onWrite != nil {
		c.onWrite(n, b)
	}
	if c.failWrite != nil && c.failWrite(n) {
		c.Conn.Close()
		return 0, errors.New("vnet: link broken")
	}
	if c.rate > 0 {
		time.Sleep(time.Duration(int64(len(b)) * int64(time.Second) / c.rate))
	}
	return c.Conn.Write(b)
}

// vlink is the data path from one vnode to another: mu guards its
// fields, written by the sender's dialing goroutines.
type vlink struct {
	mu     sync.Mutex
	conns  int      // data connections dialed
	hellos [][]byte // the first write of each (its hello)
}

func (l *vlink) dialed() (int, [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns, append([][]byte(nil), l.hellos...)
}

// linkOpts shape a vlink: the sender's rate (bytes a second of virtual
// time, 0: no limit); recvFail breaks the receiver's end of connection
// conn at its nth write; fake, if it returns a function, answers
// connection conn instead of the receiver.
type linkOpts struct {
	rate     int64
	recvFail func(conn, n int) bool
	fake     func(conn int) func(net.Conn)
}

// connect makes from's data connections reach to's stream handler.
func connect(from, to *vnode, o linkOpts) *vlink {
	l := &vlink{}
	from.m.dial = func(addr netip.AddrPort) (net.Conn, error) {
		if addr != to.addr {
			return nil, errors.New("vnet: no route")
		}
		l.mu.Lock()
		l.conns++
		k := len(l.hellos)
		l.hellos = append(l.hellos, nil)
		l.mu.Unlock()
		a, b := net.Pipe()
		sa := &shaped{Conn: a, rate: o.rate, onWrite: func(n int, p []byte) {
			if n == 1 {
				l.mu.Lock()
				l.hellos[k] = append([]byte(nil), p...)
				l.mu.Unlock()
			}
		}}
		if o.fake != nil {
			if f := o.fake(k + 1); f != nil {
				go f(b)
				return sa, nil
			}
		}
		rb := &shaped{Conn: b}
		if o.recvFail != nil {
			rb.failWrite = func(n int) bool { return o.recvFail(k+1, n) }
		}
		go to.m.serveStream(rb, bufio.NewReader(rb), netip.AddrPortFrom(from.addr.Addr(), 40000))
		return sa, nil
	}
	return l
}

// awaitV returns the first event of n that f accepts within d of virtual
// time, or false.
func (n *vnode) awaitV(d time.Duration, f func(Event) bool) (Event, bool) {
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-n.ev:
			if !ok {
				return Event{}, false
			}
			if f(e) {
				return e, true
			}
		case <-deadline:
			return Event{}, false
		}
	}
}

// downloads lists the files in dl, the partial folder left out.
func downloads(t *testing.T, dl string) []string {
	t.Helper()
	ents, err := os.ReadDir(dl)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != partialDir {
			out = append(out, e.Name())
		}
	}
	return out
}

// vTransfer offers the file at src from a to b, accepts it and waits up to
// d (virtual) for the sender to see it done; it reports whether it did and
// how long it took.
func vTransfer(t *testing.T, a, b *vnode, src string, d time.Duration) (bool, time.Duration) {
	t.Helper()
	start := time.Now()
	if _, err := a.m.Send(b.id(), []string{src}); err != nil {
		t.Fatal(err)
	}
	off, ok := b.awaitV(10*time.Second, kind(EvOffer))
	if !ok {
		t.Fatal("no offer")
	}
	if err := b.m.Accept(off.ID); err != nil {
		t.Fatal(err)
	}
	end := func(e Event) bool { return e.Kind == EvDone && e.Last || e.Kind == EvFailed && !e.Resumable }
	if _, ok = a.awaitV(d, end); ok {
		_, ok = b.awaitV(d, end)
	}
	return ok && a.m.List()[0].State == Done && b.m.List()[0].State == Done, time.Since(start)
}

// checkOneCopy says whether dl holds one copy of name with want's bytes
// (no "name (1)"), and nothing partial.
func checkOneCopy(t *testing.T, dl, name string, want []byte) {
	t.Helper()
	ext := filepath.Ext(name)
	for _, f := range downloads(t, dl) {
		if f != name && strings.HasPrefix(f, strings.TrimSuffix(name, ext)+" (") {
			t.Errorf("a second copy of %s: %s", name, f)
		}
	}
	got, err := os.ReadFile(filepath.Join(dl, name))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
		t.Errorf("%s: %d bytes (%v), want %d bytes with the offered SHA-256", name, len(got), err, len(want))
	}
}

// noPartial says whether the partial folder of dl is empty.
func noPartial(t *testing.T, dl string) {
	t.Helper()
	if parts, _ := os.ReadDir(filepath.Join(dl, partialDir)); len(parts) != 0 {
		var names []string
		for _, p := range parts {
			names = append(names, p.Name())
		}
		t.Errorf("left in the partial folder: %v", names)
	}
}
