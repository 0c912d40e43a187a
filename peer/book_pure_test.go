package peer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests drive the address book directly: keys, labels, pins,
// eviction and tombstones, with explicit times. (book_test.go has the
// node-level tests.)

const ownName = "me"

func testKey(i int) [32]byte {
	var k [32]byte
	k[0], k[1] = byte(i), byte(i>>8)
	k[31] = 0x5a
	return k
}

func testPeer(i int, nick, host string) *peerState {
	k := testKey(i)
	return &peerState{key: k, id: KeyID(&k), nick: nick, host: host}
}

func memBook(maxPeers, maxTombs int) *book {
	ps, err := loadPins("")
	if err != nil {
		panic(err)
	}
	return newBook(ps, maxPeers, maxTombs)
}

// join admits p and gives it its first label, as the node does on a
// verified hello; it returns the label changes.
func join(t *testing.T, b *book, p *peerState) []labelChange {
	t.Helper()
	if !b.admit(p) {
		t.Fatalf("no room for %s", p.nick)
	}
	nick := p.nick
	p.nick = ""
	return b.setNick(p, nick, ownName)
}

// checkLabels: every peer in the book with a label is found by it, and no
// two peers show the same label.
func checkLabels(t *testing.T, b *book) {
	t.Helper()
	seen := map[string]*peerState{}
	for _, p := range b.peers {
		if p.label == "" {
			continue
		}
		if q := seen[p.label]; q != nil {
			t.Fatalf("two peers (%s, %s) show as %q", q.id, p.id, p.label)
		}
		seen[p.label] = p
		if b.labels[p.label] != p {
			t.Fatalf("label %q of %s finds %v", p.label, p.id, b.labels[p.label])
		}
	}
	for l, p := range b.labels {
		if p.label != l || b.peers[p.key] != p {
			t.Fatalf("labels[%q] is %v, which shows as %q", l, p, p.label)
		}
	}
}

// TestBookLabels: a peer shows as its nickname unless the nickname is
// ours, pinned to another key or already shown for another peer; then as
// nick@host, or nick@id when that is taken too.
func TestBookLabels(t *testing.T) {
	type add struct {
		i          int
		nick, host string
		label      string
		clash      clashKind
	}
	for _, tc := range []struct {
		name string
		pin  map[string]int // name -> peer number pinned before
		adds []add
	}{
		{"distinct names", nil, []add{
			{1, "alice", "a", "alice", noClash},
			{2, "bob", "b", "bob", noClash},
		}},
		{"our own name", nil, []add{
			{1, ownName, "laptop", ownName + "@laptop", clashOwn},
		}},
		{"taken", nil, []add{
			{1, "bob", "laptop1", "bob", noClash},
			{2, "bob", "laptop2.local", "bob@laptop2", clashTaken},
			{3, "bob", "laptop2", "bob@" + KeyID(ptr(testKey(3)))[:8], clashTaken},
			{4, "bob", "", "bob@" + KeyID(ptr(testKey(4)))[:8], clashTaken},
		}},
		{"pinned to another key", map[string]int{"bob": 9}, []add{
			{1, "bob", "evil", "bob@evil", clashPinned},
			{9, "bob", "home", "bob", noClash}, // the pin holder shows as its name
		}},
		{"pinned to this key", map[string]int{"bob": 1}, []add{
			{1, "bob", "home", "bob", noClash},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := memBook(16, 16)
			for name, i := range tc.pin {
				b.pins.pin(name, testKey(i), t0, false)
			}
			for _, a := range tc.adds {
				p := testPeer(a.i, a.nick, a.host)
				changes := join(t, b, p)
				c := changes[len(changes)-1]
				if c.p != p || c.old != "" || c.new != a.label || c.clash != a.clash || p.label != a.label {
					t.Fatalf("%d %s@%s: change %+v label %q, want %q clash %d", a.i, a.nick, a.host, c, p.label, a.label, a.clash)
				}
				checkLabels(t, b)
			}
		})
	}
}

func ptr(k [32]byte) *[32]byte { return &k }

// TestBookLabelNotForgeable: a host name cannot be chosen to collide with
// the nick@id label a later peer needs: no two peers ever show as the same
// label.
func TestBookLabelNotForgeable(t *testing.T) {
	b := memBook(16, 16)
	victim := testPeer(1, "bob", "")
	v8 := victim.id[:8]
	join(t, b, testPeer(2, "bob", "laptop"))    // shows as bob
	join(t, b, testPeer(3, "bob", v8))          // shows as bob@<victim's id>
	join(t, b, testPeer(4, "bob", v8+"-2.lan")) // and the next fallback too
	join(t, b, victim)
	checkLabels(t, b)
	if !strings.HasPrefix(victim.label, "bob@") {
		t.Fatalf("victim shows as %q", victim.label)
	}
	// A peer with a host of its own gets the id label when its host label
	// is taken.
	other := testPeer(5, "bob", "laptop")
	join(t, b, other)
	checkLabels(t, b)
}

// TestBookPinHolderTakesName: the holder of a nickname's pin takes the
// plain nickname from a peer that shows as it without the pin, and both
// changes are returned (so the user is told).
func TestBookPinHolderTakesName(t *testing.T) {
	b := memBook(16, 16)
	first := testPeer(1, "bob", "laptop1")
	join(t, b, first) // nobody pinned bob: it shows as bob
	real := testPeer(2, "bob", "laptop2")
	join(t, b, real) // bob@laptop2
	changes := b.trust(real, ownName, t0)
	want := []labelChange{
		{p: first, old: "bob", new: "bob@laptop1", clash: clashPinned},
		{p: real, old: "bob@laptop2", new: "bob", clash: noClash},
	}
	if !slices.Equal(changes, want) {
		t.Fatalf("changes %+v, want %+v", changes, want)
	}
	checkLabels(t, b)
	if b.byName("bob") != real {
		t.Fatal("bob does not find the trusted peer")
	}
}

// TestBookLabelsStable: labels of existing peers never change except
// through a returned labelChange, whatever peers join, rename, are trusted
// or exchange messages.
func TestBookLabelsStable(t *testing.T) {
	b := memBook(8, 16)
	peers := map[int]*peerState{}
	type op struct {
		what string // join, nick, trust, msg
		i    int
		nick string
		host string
	}
	ops := []op{
		{"join", 1, "bob", "laptop1"},
		{"join", 2, "bob", "laptop1"},
		{"join", 3, "alice", "a"},
		{"msg", 2, "", ""},
		{"join", 4, "bob", ""},
		{"nick", 1, "robert", ""},
		{"nick", 4, "bob", ""},
		{"nick", 2, "alice", ""},
		{"nick", 2, "bob", ""},
		{"msg", 4, "", ""},
		{"trust", 2, "", ""},
		{"nick", 1, "bob", ""},
		{"join", 5, ownName, "x"},
		{"trust", 4, "", ""},
		{"msg", 3, "", ""},
		{"nick", 3, "bob", ""},
		{"nick", 5, "alice", ""},
		{"nick", 2, "carol", ""},
		{"msg", 2, "", ""},
		{"nick", 4, "carol", ""},
		{"trust", 4, "", ""},
	}
	for step, o := range ops {
		before := map[*peerState]string{}
		for _, p := range b.peers {
			before[p] = p.label
		}
		var changes []labelChange
		switch o.what {
		case "join":
			peers[o.i] = testPeer(o.i, o.nick, o.host)
			changes = join(t, b, peers[o.i])
		case "nick":
			changes = b.setNick(peers[o.i], o.nick, ownName)
		case "trust":
			changes = b.trust(peers[o.i], ownName, t0.Add(time.Duration(step)*time.Second))
		case "msg":
			b.exchanged(peers[o.i], ownName, t0.Add(time.Duration(step)*time.Second))
		}
		checkLabels(t, b)
		reported := map[*peerState]labelChange{}
		for _, c := range changes {
			if prev, ok := reported[c.p]; ok && prev.new != c.old {
				t.Fatalf("step %d %+v: changes of %s do not chain: %+v then %+v", step, o, c.p.id, prev, c)
			}
			if _, ok := reported[c.p]; !ok && c.old != before[c.p] {
				t.Fatalf("step %d %+v: change %+v, but %s showed as %q", step, o, c, c.p.id, before[c.p])
			}
			reported[c.p] = c
		}
		for p, old := range before {
			c, ok := reported[p]
			switch {
			case !ok && p.label != old:
				t.Fatalf("step %d %+v: %s changed from %q to %q silently", step, o, p.id, old, p.label)
			case ok && c.new != p.label:
				t.Fatalf("step %d %+v: %s reported as %q but shows as %q", step, o, p.id, c.new, p.label)
			}
		}
	}
}

// TestBookRenamesPinNothing: a peer that renames through names without a
// message exchanged pins none of them: the real owner who comes later shows
// under its own name, with no impostor warning.
func TestBookRenamesPinNothing(t *testing.T) {
	b := memBook(16, 16)
	mallory := testPeer(1, "mallory", "evil")
	join(t, b, mallory)
	for _, n := range []string{"alice", "carol", "mallory"} {
		b.setNick(mallory, n, ownName)
	}
	if b.pins.len() != 0 {
		t.Fatalf("renames pinned %d names", b.pins.len())
	}
	alice := testPeer(2, "alice", "laptop")
	c := join(t, b, alice)
	if alice.label != "alice" || c[len(c)-1].clash != noClash {
		t.Fatalf("the real alice shows as %q (%+v)", alice.label, c)
	}
}

// TestBookExchangedPins: a message exchanged pins the name the peer shows
// under; a key holds at most one pin (the name of its last message); a name
// pinned to another key, our own name, or a name the peer is not shown
// under (someone else shows as it) is not pinned.
func TestBookExchangedPins(t *testing.T) {
	b := memBook(16, 16)
	bob := testPeer(1, "bob", "laptop")
	join(t, b, bob)
	b.exchanged(bob, ownName, t0)
	if k, ok := b.pins.lookup("bob"); !ok || k != bob.key {
		t.Fatal("a message with bob did not pin bob")
	}
	// bob renames and talks under the new name: the key's pin moves.
	b.setNick(bob, "robert", ownName)
	b.exchanged(bob, ownName, t0.Add(time.Second))
	if _, ok := b.pins.lookup("bob"); ok {
		t.Fatal("the key still holds its old pin")
	}
	if k, ok := b.pins.lookup("robert"); !ok || k != bob.key || b.pins.len() != 1 {
		t.Fatalf("robert not pinned to the key, or more than one pin (%d)", b.pins.len())
	}
	// Someone else calling itself robert cannot take the pin by talking.
	fake := testPeer(2, "robert", "evil")
	join(t, b, fake)
	b.exchanged(fake, ownName, t0.Add(2*time.Second))
	if k, _ := b.pins.lookup("robert"); k != bob.key {
		t.Fatal("a message from another key took the pin")
	}
	// Our own name is never pinned.
	me := testPeer(3, ownName, "x")
	join(t, b, me)
	b.exchanged(me, ownName, t0)
	if _, ok := b.pins.lookup(ownName); ok {
		t.Fatal("our own name was pinned")
	}
}

// TestBookNewcomerCannotTakeName: while the first carol (nobody pinned the
// name yet) shows as carol, a second carol that talks to us is shown as
// carol@host and does not get the pin: otherwise renaming away and back
// would take the plain name from the first one, and after a restart the
// first would look like the impostor.
func TestBookNewcomerCannotTakeName(t *testing.T) {
	b := memBook(16, 16)
	carol := testPeer(1, "carol", "laptop")
	join(t, b, carol)
	mallory := testPeer(2, "carol", "evil")
	join(t, b, mallory)
	b.exchanged(mallory, ownName, t0) // a message with carol@evil
	if k, ok := b.pins.lookup("carol"); ok && k == mallory.key {
		t.Fatal("a message with carol@evil pinned carol to it")
	}
	b.setNick(mallory, "x", ownName)
	changes := b.setNick(mallory, "carol", ownName)
	if carol.label != "carol" {
		t.Fatalf("the first carol now shows as %q (changes %+v)", carol.label, changes)
	}
	checkLabels(t, b)
}

// TestBookByName: a label finds its peer; a plain nickname finds the one
// peer claiming it, none when two do; an id finds its peer.
func TestBookByName(t *testing.T) {
	b := memBook(16, 16)
	b1 := testPeer(1, "bob", "laptop1")
	b2 := testPeer(2, "bob", "laptop2")
	al := testPeer(3, "alice", "a")
	for _, p := range []*peerState{b1, b2, al} {
		join(t, b, p)
	}
	b.setNick(al, "ally", ownName) // label changes to ally
	for _, tc := range []struct {
		name string
		want *peerState
	}{
		{"bob", b1}, {"bob@laptop2", b2}, {"ally", al}, {"alice", nil}, {"carol", nil}, {"", nil},
	} {
		if got := b.byName(tc.name); got != tc.want {
			t.Errorf("byName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Two peers claim a nickname pinned to a third key, so neither shows
	// as it: the plain nickname is ambiguous.
	b.pins.pin("robert", testKey(9), t0, false)
	b.setNick(b1, "robert", ownName)
	b.setNick(b2, "robert", ownName)
	if b1.label != "robert@laptop1" || b2.label != "robert@laptop2" {
		t.Fatalf("labels %q %q", b1.label, b2.label)
	}
	if got := b.byName("robert"); got != nil {
		t.Errorf("ambiguous nickname found %v", got)
	}
	for _, p := range []*peerState{b1, b2, al} {
		if b.byID(p.id) != p {
			t.Errorf("byID(%s) does not find it", p.id)
		}
	}
	if b.byID("0000000000000000") != nil {
		t.Error("unknown id found a peer")
	}
}

// owes makes p hold something that keeps it in the book.
var owes = map[string]func(p *peerState){
	"online":   func(p *peerState) { p.online = true },
	"outgoing": func(p *peerState) { p.out = newOutStream(1); p.out.push(1, "m", false, t0) },
	"buffered": func(p *peerState) {
		p.in.receive(inPkt{1, 3, 1, ""}.payload(), budget(), nil)
	},
}

// TestBookEviction: a full book forgets the offline peer seen longest ago
// that owes and is owed nothing; a peer that is online, has messages
// waiting for it or buffered from it is never forgotten; with no such
// peer a newcomer is refused.
func TestBookEviction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		held      map[int]string // peer number -> what it owes (keeps it)
		forgotten int            // 0: refused
	}{
		{"oldest offline goes", nil, 1},
		{"online kept", map[int]string{1: "online"}, 2},
		{"messages to it kept", map[int]string{1: "outgoing"}, 2},
		{"messages from it kept", map[int]string{1: "buffered", 2: "online"}, 3},
		{"all held: refused", map[int]string{1: "online", 2: "outgoing", 3: "buffered"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := memBook(3, 16)
			var ps []*peerState
			for i := 1; i <= 3; i++ {
				p := testPeer(i, fmt.Sprintf("p%d", i), "h")
				p.lastSeen = t0.Add(time.Duration(i) * time.Minute)
				join(t, b, p)
				if f := tc.held[i]; f != "" {
					owes[f](p)
				}
				ps = append(ps, p)
			}
			newcomer := testPeer(10, "new", "h")
			ok := b.admit(newcomer)
			if ok != (tc.forgotten != 0) {
				t.Fatalf("admit = %v", ok)
			}
			if len(b.peers) > 3 {
				t.Fatalf("book holds %d, max 3", len(b.peers))
			}
			for i, p := range ps {
				gone := b.peers[p.key] == nil
				if gone != (i+1 == tc.forgotten) {
					t.Fatalf("peer %d gone=%v, want forgotten peer %d", i+1, gone, tc.forgotten)
				}
				if gone && (b.byID(p.id) != nil || b.labels[p.label] != nil) {
					t.Fatalf("forgotten peer %d still found", i+1)
				}
			}
			if ok && b.byID(newcomer.id) != newcomer {
				t.Fatal("newcomer not found by id")
			}
		})
	}
}

// TestBookForgottenPeerRecognised: a forgotten peer that comes back is
// recognised: its old seqs are duplicates (not shown again), its next
// message is shown.
func TestBookForgottenPeerRecognised(t *testing.T) {
	const S = 77
	b := memBook(1, 16)
	rb := budget()
	p := testPeer(1, "bob", "h")
	join(t, b, p)
	for seq := uint64(1); seq <= 3; seq++ {
		p.in.receive(inPkt{S, seq, seq, ""}.payload(), rb, nil)
	}
	join(t, b, testPeer(2, "alice", "h")) // bob is forgotten for room
	if b.peers[p.key] != nil {
		t.Fatal("bob not forgotten")
	}
	back := testPeer(1, "bob", "h")
	join(t, b, back) // alice is forgotten
	if back.in.id != S || back.in.next != 4 {
		t.Fatalf("back with stream %d next %d, want %d 4", back.in.id, back.in.next, S)
	}
	// Its message 3 again (our ack was lost before we forgot it): a
	// duplicate, acknowledged, not shown again.
	if got, v := back.in.receive(inPkt{S, 3, 3, ""}.payload(), rb, nil); v != inDuplicate || len(got) != 0 {
		t.Fatalf("old message: shown %v verdict %d", shownSeqs(got), v)
	}
	if got, v := back.in.receive(inPkt{S, 4, 3, ""}.payload(), rb, nil); v != inAccepted || !slices.Equal(shownSeqs(got), []uint64{4}) {
		t.Fatalf("new message: shown %v verdict %d", shownSeqs(got), v)
	}
	// A peer that never sent us a message leaves a tombstone too (when it
	// was forgotten, for refusing answers to older challenges), with no
	// stream to restore.
	if ts, ok := b.tombs[testKey(2)]; !ok || ts.stream != 0 || ts.forgot.IsZero() {
		t.Fatalf("alice's tombstone: %+v, %v", ts, ok)
	}
}

// TestBookTombstonesBounded: at most maxTombs tombstones are kept, and the
// ones dropped are the oldest, also when a peer came back and was forgotten
// again in between.
func TestBookTombstonesBounded(t *testing.T) {
	const maxTombs = 2
	b := memBook(1, maxTombs)
	// cycle admits peer i (forgetting whoever is in the book) and gives it
	// a stream to us, so that it leaves a tombstone when forgotten.
	cycle := func(i int) *peerState {
		p := testPeer(i, fmt.Sprintf("p%d", i), "h")
		join(t, b, p)
		if p.in.id == 0 {
			p.in.receive(inPkt{uint64(100 + i), 1, 1, ""}.payload(), budget(), nil)
		}
		return p
	}
	// K, A, K again, B, C: forgotten in the order K, A, K, B (C is in the
	// book). The tombstones kept are the two newest: K (its second) and B.
	cycle(1) // K
	cycle(2) // A (K forgotten)
	cycle(1) // K back (A forgotten), its tombstone taken
	cycle(3) // B (K forgotten again)
	cycle(4) // C (B forgotten)
	if len(b.tombs) != maxTombs {
		t.Fatalf("%d tombstones, want %d", len(b.tombs), maxTombs)
	}
	for _, tc := range []struct {
		i    int
		kept bool
	}{{1, true}, {2, false}, {3, true}} {
		if _, ok := b.tombs[testKey(tc.i)]; ok != tc.kept {
			t.Errorf("tombstone of peer %d kept=%v, want %v (tombstones of the oldest go first)", tc.i, ok, tc.kept)
		}
	}
	// Many more: the count and the order list stay bounded.
	for i := 5; i < 200; i++ {
		cycle(i)
		cycle(1) // keeps coming back, leaving holes in the order
		if len(b.tombs) > maxTombs || len(b.tombOrder) > 2*maxTombs {
			t.Fatalf("after %d: %d tombstones, order list %d", i, len(b.tombs), len(b.tombOrder))
		}
	}
}

// TestBookMayReturn: a forgotten key comes back only with the answer to a
// challenge made after it was forgotten. Challenge times are rounded down
// to challengeTick, so one from the same tick as the forget may be older
// than it, and is refused (a recorded answer replayed within 10 ms of the
// forget got in before).
func TestBookMayReturn(t *testing.T) {
	forgot := t0.Add(5 * time.Millisecond)
	b := memBook(4, 4)
	b.now = func() time.Time { return forgot }
	p := testPeer(1, "bob", "h")
	b.admit(p)
	b.forget(p)
	for _, c := range []struct {
		name string
		key  [32]byte
		made time.Time
		want bool
	}{
		{"never forgotten", testKey(2), t0, true},
		{"challenge ticks before the forget", p.key, t0.Add(-challengeTick), false},
		{"challenge of the forget's own tick (maybe older)", p.key, t0, false},
		{"challenge of the next tick", p.key, t0.Add(challengeTick), true},
	} {
		if got := b.mayReturn(c.key, c.made); got != c.want {
			t.Errorf("%s: mayReturn = %v, want %v", c.name, got, c.want)
		}
	}
}
