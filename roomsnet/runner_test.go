package roomsnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// member is one node with its rooms runner, as main wires them.
type member struct {
	t      *testing.T
	name   string
	node   *peer.Node
	tr     *peer.MemTransport
	id     *peer.Identity
	signer *rooms.Signer
	run    *Runner
	evs    chan Event
	home   string
	st     *store.Store
}

var fastTiming = peer.Timing{RTO: 20 * time.Millisecond, MaxRTO: 200 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Expire: 700 * time.Millisecond, FailAfter: time.Second}

func newIdentity(t *testing.T) (*peer.Identity, *rooms.Signer) {
	dir := t.TempDir()
	id, err := peer.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return id, rooms.NewSigner(id.Public, priv)
}

// start runs name's node and runner on home (durable: a store in it).
func start(t *testing.T, mn *peer.MemNet, name, home string, id *peer.Identity, signer *rooms.Signer) *member {
	t.Helper()
	st, snap, err := store.Open(home, store.Limits{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tr := mn.Listen()
	n, err := peer.New(peer.Config{Name: name, Host: "host-" + name, Identity: id, Home: home, Store: st, Saved: &snap, Timing: fastTiming}, tr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Node: n, Signer: signer, Nick: name, Dir: home + "/rooms"})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{t: t, name: name, node: n, tr: tr, id: id, signer: signer, run: r, evs: make(chan Event, 100000), home: home, st: st}
	rest := r.Filter(n.Events())
	go func() {
		for e := range rest {
			if e.Idx != 0 {
				n.Shown(e.Idx) // as the shell does once the line is out
			}
		}
	}()
	go func() {
		for e := range r.Events() {
			m.evs <- e
		}
	}()
	t.Cleanup(m.stop)
	return m
}

func (m *member) stop() {
	if m.node == nil {
		return
	}
	m.node.Close()
	m.run.Close()
	m.st.Close()
	m.node = nil
}

// meet makes a and b find each other and waits until both see the other.
func meet(ms ...*member) {
	for _, a := range ms {
		for _, b := range ms {
			if a != b {
				a.node.Discovered(b.id.Public, b.tr.Addr())
			}
		}
	}
	for _, a := range ms {
		for _, b := range ms {
			if a == b {
				continue
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if p, ok := a.node.Peer(peer.KeyID(&b.id.Public)); ok && p.Online {
					break
				}
				if time.Now().After(deadline) {
					a.t.Fatalf("%s does not see %s", a.name, b.name)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// wait returns the first event matching f within 10 s.
func (m *member) wait(what string, f func(Event) bool) Event {
	m.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-m.evs:
			if f(e) {
				return e
			}
		case <-timeout:
			m.t.Fatalf("%s: no %s", m.name, what)
		}
	}
}

// texts collects n room messages of room, in arrival order.
func (m *member) texts(room string, n int) []string {
	m.t.Helper()
	var out []string
	for len(out) < n {
		e := m.wait(fmt.Sprintf("message %d in %s", len(out)+1, room), func(e Event) bool { return e.Kind == EvMessage && e.Room == room })
		out = append(out, e.Peer+": "+e.Text)
	}
	return out
}

// none checks that no room message arrives for d.
func (m *member) none(d time.Duration) {
	m.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e := <-m.evs:
			if e.Kind == EvMessage {
				m.t.Fatalf("%s got %s: %q", m.name, e.Room, e.Text)
			}
		case <-timeout:
			return
		}
	}
}

func joinRoom(t *testing.T, m *member, name string, private bool) {
	t.Helper()
	if _, err := m.run.Join(name, private); err != nil {
		t.Fatalf("%s: join %s: %v", m.name, name, err)
	}
}

// TestOpenRoomFanOut: three laptops in #lunch get each other's messages
// once each, in order; a fourth sees #lunch in its rooms list (three
// members) and gets none of its messages.
func TestOpenRoomFanOut(t *testing.T) {
	mn := peer.NewMemNet(1)
	var ms []*member
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		id, sg := newIdentity(t)
		ms = append(ms, start(t, mn, name, t.TempDir(), id, sg))
	}
	a, b, c, d := ms[0], ms[1], ms[2], ms[3]
	meet(ms...)
	joinRoom(t, a, "#Lunch", false)
	joinRoom(t, b, "#lunch", false)
	b.wait("alice's join", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "alice" })
	joinRoom(t, c, "#LUNCH", false)
	c.wait("alice's join", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "alice" })
	c.wait("bob's join", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "bob" })
	a.wait("carol's join", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "carol" })
	b.wait("carol's join", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "carol" })
	for i := range 3 {
		if err := a.run.Post("#lunch", fmt.Sprintf("a%d", i), false); err != nil {
			t.Fatal(err)
		}
		if err := b.run.Post("#lunch", fmt.Sprintf("b%d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	got := c.texts("#lunch", 6)
	var fromA, fromB []string
	for _, s := range got {
		if s[0] == 'a' {
			fromA = append(fromA, s)
		} else {
			fromB = append(fromB, s)
		}
	}
	if fmt.Sprint(fromA) != "[alice: a0 alice: a1 alice: a2]" || fmt.Sprint(fromB) != "[bob: b0 bob: b1 bob: b2]" {
		t.Errorf("carol got %q", got)
	}
	if got := b.texts("#lunch", 3); fmt.Sprint(got) != "[alice: a0 alice: a1 alice: a2]" {
		t.Errorf("bob got %q", got)
	}
	c.none(500 * time.Millisecond) // nothing twice
	d.none(200 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := false
		for _, in := range d.run.Rooms() {
			if in.Name == "#lunch" && !in.Joined && in.Members == 3 {
				ok = true
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dave's rooms: %+v", d.run.Rooms())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := d.run.CoreStats(); s.NotJoined != 0 {
		t.Errorf("dave was sent %d room messages", s.NotJoined)
	}
}
