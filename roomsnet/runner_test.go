package roomsnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/bubble"
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
	pause  chan bool // true: the reader of the runner's events stops; false: it goes on
	home   string
	st     *store.Store
}

// Every test runs in a synctest bubble (virtual time) with the node's
// production timings: a wait of minutes takes none, and the bubble fails
// the test if a goroutine of the nodes, runners or stores outlives Close.

// eventually waits on the bubble's clock until cond holds or limit
// passed: each round lets every goroutine settle (synctest.Wait), then
// moves the clock on by a step (to the nodes' next timer at most).
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		synctest.Wait()
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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
// A gate, if given, stands between the node's events and the runner
// (resend_test.go's holds some back).
func start(t *testing.T, mn *peer.MemNet, name, home string, id *peer.Identity, signer *rooms.Signer, gate ...func(<-chan peer.Event) <-chan peer.Event) *member {
	t.Helper()
	if !bubble.In() {
		t.Fatal("start: run the test inside synctest.Test (production timings on a real clock take seconds)")
	}
	st, snap, err := store.Open(home, store.Limits{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tr := mn.Listen()
	n, err := peer.New(peer.Config{Name: name, Host: "host-" + name, Identity: id, Home: home, Store: st, Saved: &snap, Timing: peer.DefaultTiming()}, tr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Node: n, Signer: signer, Nick: name, Dir: home + "/rooms"})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{t: t, name: name, node: n, tr: tr, id: id, signer: signer, run: r, evs: make(chan Event), pause: make(chan bool), home: home, st: st}
	in := n.Events()
	for _, g := range gate {
		in = g(in)
	}
	rest := r.Filter(in)
	go func() {
		for e := range rest {
			if e.Idx != 0 {
				n.Shown(e.Idx) // as the shell does once the line is out
			}
		}
	}()
	quit := make(chan struct{})
	go m.forward(r.Events(), quit)
	t.Cleanup(func() { close(quit) }) // after m.stop (cleanups run last first)
	t.Cleanup(m.stop)
	return m
}

// forward reads the runner's events as fast as they come (unless paused)
// and hands them to m.evs in order, holding as many as the test has not
// read yet: the reader never holds the runner up. (It used to be a
// channel buffer of 100,000 events, 20 MB per member that the garbage
// collector scanned and the race detector tracked.) Events read before the
// runner closed stay readable until quit.
func (m *member) forward(in <-chan Event, quit <-chan struct{}) {
	var q []Event
	paused := false
	for {
		var out chan Event
		var head Event
		if len(q) > 0 {
			out, head = m.evs, q[0]
		}
		src := in
		if paused {
			src = nil
		}
		select {
		case p := <-m.pause:
			paused = p
		case e, ok := <-src:
			if !ok {
				in = nil
				continue
			}
			q = append(q, e)
		case out <- head:
			q[0] = Event{}
			q = q[1:]
		case <-quit:
			return
		}
	}
}

// startAll starts a member of each name, each with a new identity and
// home.
func startAll(t *testing.T, mn *peer.MemNet, names ...string) []*member {
	t.Helper()
	var ms []*member
	for _, name := range names {
		id, sg := newIdentity(t)
		ms = append(ms, start(t, mn, name, t.TempDir(), id, sg))
	}
	return ms
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
			if !eventually(10*time.Second, func() bool {
				p, ok := a.node.Peer(peer.KeyID(&b.id.Public))
				return ok && p.Online
			}) {
				a.t.Fatalf("%s does not see %s", a.name, b.name)
			}
		}
	}
}

// wait returns the first event matching f within a minute (virtual); it
// fails with the events it passed over.
func (m *member) wait(what string, f func(Event) bool) Event {
	m.t.Helper()
	timeout := time.After(time.Minute)
	var seen []string
	for {
		select {
		case e := <-m.evs:
			if f(e) {
				return e
			}
			seen = append(seen, fmt.Sprintf("%s %s %s seq %d %q", e.Kind, e.Room, e.Peer, e.Seq, e.Text))
		case <-timeout:
			m.t.Logf("%s: passed over %q", m.name, seen)
			m.run.mu.Lock()
			m.t.Logf("%s: emitted %d handed %d evq %d evBytes %d; node waiting %d", m.name, m.run.emitted, m.run.handed, len(m.run.evq), m.run.evBytes, m.node.Waiting())
			m.run.mu.Unlock()
			_, names, _, err := m.run.Names("#lunch")
			m.t.Fatalf("%s: no %s (members %+v %v; stats %+v %+v)", m.name, what, names, err, m.run.Stats(), m.run.CoreStats())
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

// post says text in room, as the user's line does.
func (m *member) post(room, text string) {
	m.t.Helper()
	if err := m.run.Post(room, text, false); err != nil {
		m.t.Fatalf("%s: post in %s: %v", m.name, room, err)
	}
}

// postN says n messages in room, the i-th fmt.Sprintf(format, i).
func (m *member) postN(room, format string, n int) {
	m.t.Helper()
	for i := range n {
		m.post(room, fmt.Sprintf(format, i))
	}
}

func joinRoom(t *testing.T, m *member, name string, private bool) {
	t.Helper()
	if _, err := m.run.Join(name, private); err != nil {
		t.Fatalf("%s: join %s: %v", m.name, name, err)
	}
}

// inRoom joins each of ms to the open room and waits until each saw
// every other's join.
func inRoom(room string, ms ...*member) {
	for _, m := range ms {
		joinRoom(m.t, m, room, false)
	}
	allJoined(ms...)
}

// inLunch starts alice and bob, has them meet and join #lunch, and
// waits until each saw the other's join.
func inLunch(t *testing.T, mn *peer.MemNet) (a, b *member) {
	ms := startAll(t, mn, "alice", "bob")
	meet(ms...)
	inRoom("#lunch", ms...)
	return ms[0], ms[1]
}

// allJoined waits until each member saw every other's join.
func allJoined(ms ...*member) {
	for _, x := range ms {
		seen := map[string]bool{x.name: true}
		for len(seen) < len(ms) {
			e := x.wait("joins", func(e Event) bool { return e.Kind == EvJoined })
			seen[e.Peer] = true
		}
	}
}

// TestOpenRoomFanOut: three laptops in #lunch get each other's messages
// once each, in order; a fourth sees #lunch in its rooms list (three
// members) and gets none of its messages.
func TestOpenRoomFanOut(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(1)
		ms := startAll(t, mn, "alice", "bob", "carol", "dave")
		a, b, c, d := ms[0], ms[1], ms[2], ms[3]
		meet(ms...)
		joinRoom(t, a, "#Lunch", false)
		joinRoom(t, b, "#lunch", false)
		joinRoom(t, c, "#LUNCH", false)
		allJoined(a, b, c)
		for i := range 3 {
			a.post("#lunch", fmt.Sprintf("a%d", i))
			b.post("#lunch", fmt.Sprintf("b%d", i))
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
		if !eventually(5*time.Second, func() bool {
			for _, in := range d.run.Rooms() {
				if in.Name == "#lunch" && !in.Joined && in.Members == 3 {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("dave's rooms: %+v", d.run.Rooms())
		}
		if s := d.run.CoreStats(); s.NotJoined != 0 {
			t.Errorf("dave was sent %d room messages", s.NotJoined)
		}
	})
}

// restart stops m and starts the same identity, signing key and home on
// a new address.
func (m *member) restart(mn *peer.MemNet) *member {
	m.stop()
	return start(m.t, mn, m.name, m.home, m.id, m.signer)
}

// TestCatchUpFromAnyMember: carol is away while alice and bob each say
// five things in #lunch; bob quits before carol returns. Carol, back
// (a restart on the same home) and meeting only alice, gets all ten:
// alice's on alice's streams, bob's relayed by alice (bob is gone), each
// once, in each author's order, bob's marked earlier. A restart of
// carol's shows none of them again.
func TestCatchUpFromAnyMember(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(2)
		ms := startAll(t, mn, "alice", "bob", "carol")
		a, b, c := ms[0], ms[1], ms[2]
		meet(ms...)
		inRoom("#lunch", ms...)
		c.stop()
		for i := range 5 {
			a.post("#lunch", fmt.Sprintf("a%d", i))
			b.post("#lunch", fmt.Sprintf("b%d", i))
		}
		a.texts("#lunch", 5) // alice has bob's five
		b.stop()
		c = c.restart(mn)
		meet(a, c)
		var fromA, fromB []string
		earlierB := true
		for len(fromA)+len(fromB) < 10 {
			e := c.wait("a message", func(e Event) bool { return e.Kind == EvMessage })
			if e.Peer == "alice" {
				fromA = append(fromA, e.Text)
			} else {
				fromB = append(fromB, e.Text)
				earlierB = earlierB && e.Earlier
			}
		}
		if fmt.Sprint(fromA) != "[a0 a1 a2 a3 a4]" || fmt.Sprint(fromB) != "[b0 b1 b2 b3 b4]" {
			t.Fatalf("carol got alice %q, bob %q", fromA, fromB)
		}
		if !earlierB {
			t.Error("bob's messages relayed by alice not marked earlier")
		}
		c.none(time.Second)
		c = c.restart(mn)
		meet(a, c)
		c.none(2 * time.Second)
	})
}

// TestLateJoinerSeesLast100: a newcomer to #lunch is shown its last 100
// messages (of 150), marked earlier, in order.
func TestLateJoinerSeesLast100(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(3)
		ms := startAll(t, mn, "alice", "dave")
		a, d := ms[0], ms[1]
		meet(ms...)
		joinRoom(t, a, "#lunch", false)
		a.postN("#lunch", "m%03d", 150)
		eventually(5*time.Second, func() bool { return len(d.run.Rooms()) > 0 })
		joinRoom(t, d, "#lunch", false)
		var got []string
		for len(got) < 100 {
			e := d.wait("history", func(e Event) bool { return e.Kind == EvMessage })
			if !e.Earlier {
				t.Fatalf("history message %q not marked earlier", e.Text)
			}
			got = append(got, e.Text)
		}
		if got[0] != "m050" || got[99] != "m149" {
			t.Fatalf("dave got %s .. %s", got[0], got[99])
		}
		d.none(time.Second)
	})
}

// TestPrivateRoomInviteKick: alice's private #secret: dave, not invited,
// is refused (invite-only); bob, invited, is a member at once, gets its
// messages and is heard; once kicked, bob gets nothing more.
func TestPrivateRoomInviteKick(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(4)
		ms := startAll(t, mn, "alice", "bob", "dave")
		a, b, d := ms[0], ms[1], ms[2]
		meet(ms...)
		joinRoom(t, a, "#secret", true)
		eventually(5*time.Second, func() bool { return len(d.run.Rooms()) > 0 })
		if _, err := d.run.Join("#Secret", false); !errors.Is(err, rooms.ErrInviteOnly) {
			t.Fatalf("dave's join: %v, want invite-only", err)
		}
		// (bob's binding, sent when he met alice, may still be on its way)
		var err error
		eventually(5*time.Second, func() bool {
			_, err = a.run.Invite(peer.KeyID(&b.id.Public), "#secret")
			return !errors.Is(err, ErrNoBinding)
		})
		if err != nil {
			t.Fatal(err)
		}
		b.wait("invitation", func(e Event) bool { return e.Kind == EvInvited && e.Room == "#secret" && e.Peer == "alice" })
		a.wait("bob's join", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "bob" })
		a.post("#secret", "for members")
		if got := b.texts("#secret", 1); got[0] != "alice: for members" {
			t.Fatalf("bob got %q", got)
		}
		b.post("#secret", "bob here")
		if got := a.texts("#secret", 1); got[0] != "bob: bob here" {
			t.Fatalf("alice got %q", got)
		}
		if _, err := a.run.Kick(peer.KeyID(&b.id.Public), "#secret"); err != nil {
			t.Fatal(err)
		}
		b.wait("removal", func(e Event) bool { return e.Kind == EvLeft && e.Code == "kicked" })
		a.post("#secret", "after bob")
		b.none(time.Second)
		d.none(100 * time.Millisecond)
		if err := b.run.Post("#secret", "still here?", false); !errors.Is(err, rooms.ErrNotJoined) {
			t.Errorf("kicked bob posts: %v", err)
		}
	})
}

// TestForgedRelayDropped: a member relays alice's message with its text
// changed, and again with another author's name on it: carol drops both
// and counts them as forged; she shows alice's real message once.
func TestForgedRelayDropped(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(5)
		ms := startAll(t, mn, "alice", "mallory", "carol")
		a, m, c := ms[0], ms[1], ms[2]
		meet(ms...)
		for _, x := range ms {
			joinRoom(t, x, "#lunch", false)
		}
		allJoined(ms...)
		c.stop() // carol is away while alice speaks
		a.post("#lunch", "lunch at noon")
		m.texts("#lunch", 1)
		m.run.mu.Lock()
		log := m.run.st.Log(rooms.OpenID("#lunch"))
		m.run.mu.Unlock()
		orig := log[len(log)-1]
		altered := *orig
		altered.Text = "lunch cancelled"
		renamed := *orig
		renamed.Nick = "bob"
		c = c.restart(mn)
		for _, f := range []*rooms.Message{&altered, &renamed} {
			if _, err := m.node.SendApp(c.id.Public, "carol", appRelay, f.AppendEncode(nil)); err != nil {
				t.Fatal(err)
			}
		}
		meet(m, c)
		eventually(10*time.Second, func() bool { return c.run.CoreStats().Forged >= 2 })
		if n := c.run.CoreStats().Forged; n != 2 {
			t.Fatalf("forged relays counted: %d, want 2", n)
		}
		meet(a, c)
		if got := c.texts("#lunch", 1); got[0] != "alice: lunch at noon" {
			t.Fatalf("carol got %q", got)
		}
		c.none(time.Second)
	})
}

// TestMembersShownOnJoin: a newcomer is shown every member already in the
// room as joined (earlier), also one whose join is older than the history
// it is sent, once each; a restart shows none again.
func TestMembersShownOnJoin(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(6)
		ms := startAll(t, mn, "alice", "bob", "dave")
		a, b, d := ms[0], ms[1], ms[2]
		meet(ms...)
		inRoom("#lunch", a, b)
		b.post("#lunch", "bob once")
		// alice has "bob once" before her first m: in both logs it is older
		// than the last 100 (were it to reach her later, her last 100 would
		// hold it and dave would be sent 101 messages).
		a.texts("#lunch", 1)
		for i := range 120 { // pushes both joins out of the last 100
			a.post("#lunch", fmt.Sprintf("m%03d", i))
		}
		b.texts("#lunch", 120)  // (both hold the same last 100 that dave is sent)
		time.Sleep(time.Second) // virtual: dave joins later than the messages were said
		eventually(5*time.Second, func() bool { return len(d.run.Rooms()) > 0 })
		joinRoom(t, d, "#lunch", false)
		seen := map[string]int{}
		for seen["alice"] == 0 || seen["dave"] == 0 {
			e := d.wait("joins", func(e Event) bool { return e.Kind == EvJoined })
			seen[e.Peer]++
		}
		d.texts("#lunch", 100)
		d.none(500 * time.Millisecond)
		// bob said nothing in the last 100: he is a member dave has not heard.
		if seen["alice"] != 1 || seen["dave"] != 1 {
			t.Errorf("joins shown: %v", seen)
		}
		d = d.restart(mn)
		meet(a, b, d)
		timeout := time.After(time.Second)
		for {
			select {
			case e := <-d.evs:
				if e.Kind == EvJoined {
					t.Fatalf("after a restart: %s joined shown again", e.Peer)
				}
				continue
			case <-timeout:
			}
			break
		}
	})
}

// TestSlowReaderLosesNothing: while nobody reads carol's room events,
// alice's messages are not dropped: carol's runner stops taking the
// node's events, the node holds back its acknowledgements, alice's
// queue to carol fills and her /to #lunch is refused (ErrQueueFull, as
// /to is); once the reader comes back every message is shown, in order.
func TestSlowReaderLosesNothing(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(7)
		ms := startAll(t, mn, "alice", "carol")
		a, c := ms[0], ms[1]
		meet(ms...)
		inRoom("#lunch", a, c)
		c.pause <- true // carol's reader stops
		big := strings.Repeat("x", 30<<10)
		const n = 300 // 9 MiB of text: more than every queue on the way
		refused := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			once := false
			for i := range n {
				for {
					err := a.run.Post("#lunch", fmt.Sprintf("%03d %s", i, big), false)
					if err == nil {
						break
					}
					if !errors.Is(err, peer.ErrQueueFull) {
						done <- err
						return
					}
					if !once {
						once = true
						close(refused)
					}
					time.Sleep(10 * time.Millisecond) // virtual: alice tries again, as a user would
				}
			}
			done <- nil
		}()
		select {
		case <-refused:
		case err := <-done:
			t.Fatalf("alice said all %d while carol read nothing: %v", n, err)
		case <-time.After(2 * time.Minute): // virtual: fires only if nothing else can move
			t.Fatal("alice's posts were never refused while carol read nothing")
		}
		c.pause <- false
		got := c.texts("#lunch", n)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for i, s := range got {
			if !strings.HasPrefix(s, fmt.Sprintf("alice: %03d ", i)) {
				t.Fatalf("message %d is %.20q", i, s)
			}
		}
		if s := c.run.Stats(); s.EventsDropped != 0 {
			t.Errorf("events dropped: %d", s.EventsDropped)
		}
		if s := a.run.Stats(); s.SendErrors != 0 {
			t.Errorf("alice's fan-out failed %d times", s.SendErrors)
		}
	})
}

// TestSummaryFloodBounded: a member that sends alice 50 summaries of
// #lunch (150 messages) while it acknowledges nothing gets one batch of
// relays queued at alice (the last 100), not 50: the others are refused
// and counted (RelayBusy).
func TestSummaryFloodBounded(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(8)
		ms := startAll(t, mn, "alice", "mallory")
		a, m := ms[0], ms[1]
		meet(ms...)
		joinRoom(t, a, "#lunch", false)
		a.postN("#lunch", "m%03d", 150)
		joinRoom(t, m, "#lunch", false)
		m.texts("#lunch", 100) // its own join's history: now alice has nothing in flight
		eventually(5*time.Second, func() bool { return a.node.Waiting() == 0 })
		// From now on nothing alice sends mallory arrives: her relays stay
		// unacknowledged.
		aliceAddr := a.tr.Addr()
		mn.DropIf(func(from, to netip.AddrPort, b []byte, tcp bool) bool { return from == aliceAddr })
		var empty rooms.Summary
		empty.Room = rooms.OpenID("#lunch")
		empty.Fresh = true
		for range 50 {
			if err := m.node.SendAppOnce(a.id.Public, appSummary, empty.AppendEncode(nil)); err != nil {
				t.Fatal(err)
			}
		}
		eventually(5*time.Second, func() bool { return a.run.Stats().RelayBusy >= 49 })
		if s := a.run.Stats(); s.RelayBusy != 49 {
			t.Errorf("summaries refused while a batch was in flight: %d, want 49", s.RelayBusy)
		}
		if w := a.node.Waiting(); w > rooms.LateJoinHistory+1 {
			t.Errorf("alice holds %d payloads for mallory, want at most one batch (%d)", w, rooms.LateJoinHistory+1)
		}
	})
}
