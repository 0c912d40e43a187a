package rooms

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// tnode is one node's rooms, for tests.
type tnode struct {
	*State
	sg *Signer
}

func newNode(t testing.TB, name string) *tnode {
	sg := testSigner(t, name)
	st := New(sg, name)
	st.NextSeq = func(ID) uint64 { return 1 } // a store that never saw the room
	return &tnode{State: st, sg: sg}
}

func (n *tnode) id() Key { return n.sg.Identity }

// give hands m to n as if it came from from's stream.
func (n *tnode) give(from *tnode, m *Message, now time.Time) ([]Delivery, error) {
	return n.Receive(from.id(), m.AppendEncode(nil), false, now)
}

func (n *tnode) mustJoin(t testing.TB, name string, now time.Time) (ID, *Message) {
	t.Helper()
	id, m, err := n.Join(name, now)
	if err != nil {
		t.Fatalf("%s joins %s: %v", n.nick, name, err)
	}
	return id, m
}

func (n *tnode) mustPost(t testing.TB, id ID, text string, now time.Time) *Message {
	t.Helper()
	m, err := n.Post(id, KindText, text, now)
	if err != nil {
		t.Fatalf("%s posts: %v", n.nick, err)
	}
	return m
}

// catchUp has to ask from for what it lacks of room id until nothing
// more comes; it returns what to showed and the batches it took.
func catchUp(t testing.TB, to, from *tnode, id ID, now time.Time) (shown []Delivery, batches int) {
	t.Helper()
	for batches = 0; batches < 100; batches++ {
		sum, err := to.Summary(id, from.id(), now)
		if err != nil {
			t.Fatal(err)
		}
		b := sum.AppendEncode(nil)
		if len(b) > MaxSummaryBytes {
			t.Fatalf("summary of %d bytes", len(b))
		}
		batch, err := from.Relay(to.id(), b, now)
		if err != nil {
			t.Fatalf("relay: %v", err)
		}
		if len(batch) == 0 {
			return shown, batches
		}
		size := 0
		for _, m := range batch {
			size += m.Size()
			d, err := to.Receive(from.id(), m.AppendEncode(nil), true, now)
			if err != nil && !errors.Is(err, ErrDuplicate) {
				t.Fatalf("relayed %s seq %d: %v", m.Nick, m.Seq, err)
			}
			shown = append(shown, d...)
		}
		if len(batch) > MaxRelayMsgs || size > MaxRelayBytes {
			t.Fatalf("batch of %d messages, %d bytes", len(batch), size)
		}
	}
	t.Fatal("catch-up does not end")
	return nil, 0
}

// texts is what deliveries show, as "nick:text".
func texts(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		if d.Msg.Kind == KindText {
			out = append(out, d.Msg.Nick+":"+d.Msg.Text)
		}
	}
	return out
}

func TestOpenRoomJoinAndPost(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	ra, ja := alice.mustJoin(t, "#Lunch", t0)
	rb, jb := bob.mustJoin(t, "#lunch", t0)
	if ra != rb {
		t.Fatal("#Lunch and #lunch are two rooms")
	}
	if _, _, err := alice.Join("#LUNCH", t0); !errors.Is(err, ErrAlreadyJoined) {
		t.Fatalf("second join: %v", err)
	}
	for _, x := range []struct {
		to, from *tnode
		m        *Message
	}{{bob, alice, ja}, {alice, bob, jb}} {
		if _, err := x.to.give(x.from, x.m, t0); err != nil {
			t.Fatal(err)
		}
	}
	if got := alice.Recipients(ra); !slices.Equal(got, []Key{bob.id()}) {
		t.Fatalf("alice fans out to %x", got)
	}
	names := alice.Members(ra)
	if len(names) != 2 || !slices.ContainsFunc(names, func(m MemberInfo) bool { return m.Nick == "bob" && m.Identity == bob.id() }) {
		t.Fatalf("/names: %+v", names)
	}
	m := alice.mustPost(t, ra, "noon?", t0)
	d, err := bob.give(alice, m, t0)
	if err != nil || len(d) != 1 || d[0].Earlier || d[0].Msg.Text != "noon?" {
		t.Fatalf("bob got %+v, %v", d, err)
	}
	if _, err := bob.give(alice, m, t0); !errors.Is(err, ErrDuplicate) || bob.Stats().Duplicates != 1 {
		t.Fatalf("again: %v, duplicates %d", err, bob.Stats().Duplicates)
	}
	top, err := bob.Post(rb, KindTopic, "where to eat", t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	alice.give(bob, top, t0)
	if alice.Topic(ra) != "where to eat" {
		t.Fatalf("topic %q", alice.Topic(ra))
	}
	part, next, err := bob.Part(rb, "", t0)
	if err != nil || part.Kind != KindPart || next != part.Seq+1 {
		t.Fatalf("part: %v %d %v", part, next, err)
	}
	alice.give(bob, part, t0)
	if got := alice.Recipients(ra); len(got) != 0 {
		t.Fatalf("after bob's part alice fans out to %x", got)
	}
	if _, err := bob.Post(rb, KindText, "x", t0); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("post after part: %v", err)
	}
}

// TestExactlyOnceInOrder: whatever order an author's messages arrive in,
// each is shown once, in its order; duplicates are dropped and counted.
func TestExactlyOnceInOrder(t *testing.T) {
	tests := []struct {
		name    string
		arrive  []int // seqs of alice's text messages (her join is seq 1)
		want    []int
		dups    uint64
		heldEnd int
	}{
		{"in order", []int{2, 3, 4}, []int{2, 3, 4}, 0, 0},
		{"swapped", []int{3, 2, 4}, []int{2, 3, 4}, 0, 0},
		{"reversed", []int{5, 4, 3, 2}, []int{2, 3, 4, 5}, 0, 0},
		{"duplicates", []int{2, 2, 3, 2, 3}, []int{2, 3}, 3, 0},
		{"duplicate while held", []int{4, 4, 3, 2}, []int{2, 3, 4}, 1, 0},
		{"gap stays", []int{2, 4, 5}, []int{2}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice, bob := newNode(t, "alice"), newNode(t, "bob")
			id, join := alice.mustJoin(t, "#lunch", t0)
			bob.mustJoin(t, "#lunch", t0)
			msgs := map[int]*Message{1: join}
			for seq := 2; seq <= 5; seq++ {
				msgs[seq] = alice.mustPost(t, id, fmt.Sprint(seq), t0)
			}
			got := []int{}
			if _, err := bob.give(alice, join, t0); err != nil {
				t.Fatal(err)
			}
			for _, seq := range tt.arrive {
				d, _ := bob.give(alice, msgs[seq], t0)
				for _, x := range d {
					got = append(got, int(x.Msg.Seq))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("shown %v, want %v", got, tt.want)
			}
			if st := bob.Stats(); st.Duplicates != tt.dups {
				t.Fatalf("duplicates %d, want %d", st.Duplicates, tt.dups)
			}
			if r := bob.rooms[id]; r.held != tt.heldEnd {
				t.Fatalf("held %d, want %d", r.held, tt.heldEnd)
			}
		})
	}
}

// TestGapGivenUp: a gap nobody fills is waited on GapWait, then the
// messages after it are shown and the missing seqs counted.
func TestGapGivenUp(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, join := alice.mustJoin(t, "#lunch", t0)
	bob.mustJoin(t, "#lunch", t0)
	bob.give(alice, join, t0)
	m2 := alice.mustPost(t, id, "2", t0)
	m3 := alice.mustPost(t, id, "3", t0)
	m4 := alice.mustPost(t, id, "4", t0)
	_ = m2
	bob.give(alice, m4, t0)
	bob.give(alice, m3, t0.Add(time.Second))
	if d := bob.Tick(t0.Add(GapWait - time.Second)); len(d) != 0 {
		t.Fatalf("gap given up early: %v", texts(d))
	}
	d := bob.Tick(t0.Add(GapWait))
	if got := texts(d); !slices.Equal(got, []string{"alice:3", "alice:4"}) {
		t.Fatalf("after GapWait shown %v", got)
	}
	if st := bob.Stats(); st.Skipped != 1 {
		t.Fatalf("skipped %d, want 1", st.Skipped)
	}
	if _, err := bob.give(alice, m2, t0.Add(GapWait)); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("the given-up message late: %v", err)
	}
}

func TestHeldBounds(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, join := alice.mustJoin(t, "#lunch", t0)
	bob.mustJoin(t, "#lunch", t0)
	bob.give(alice, join, t0)
	alice.mustPost(t, id, "lost", t0) // seq 2, never arrives
	big := strings.Repeat("x", 8<<10)
	var msgs []*Message
	for range MaxAhead + 10 {
		msgs = append(msgs, alice.mustPost(t, id, big, t0))
	}
	for _, m := range msgs {
		bob.give(alice, m, t0)
	}
	r := bob.rooms[id]
	if r.held > MaxHeld || r.heldSz > MaxHeldBytes {
		t.Fatalf("holds %d messages, %d bytes", r.held, r.heldSz)
	}
	st := bob.Stats()
	if st.HeldFull == 0 || st.TooFarAhead == 0 {
		t.Fatalf("held-full %d, too-far-ahead %d: bounds not reached", st.HeldFull, st.TooFarAhead)
	}
	if got := uint64(r.held) + st.HeldFull + st.TooFarAhead; got != uint64(len(msgs)) {
		t.Fatalf("held %d + refused %d + %d != %d sent", r.held, st.HeldFull, st.TooFarAhead, len(msgs))
	}
}

// TestForgedRelays: a relay must be the author's own words.
func TestForgedRelays(t *testing.T) {
	alice, bob, carol, mallory := newNode(t, "alice"), newNode(t, "bob"), newNode(t, "carol"), newNode(t, "mallory")
	id, ja := alice.mustJoin(t, "#lunch", t0)
	carol.mustJoin(t, "#lunch", t0)
	_, jm := mallory.mustJoin(t, "#lunch", t0)
	carol.give(alice, ja, t0)
	carol.give(mallory, jm, t0)
	_ = bob
	good := alice.mustPost(t, id, "lunch at noon", t0)

	altered := *good
	altered.Text = "lunch is cancelled"
	otherName := *good // mallory's words under alice's key
	otherName.Text = "I owe mallory 100"
	otherName.Nick = "alice"
	otherName.Sign(mallory.sg)
	otherName.Author = alice.sg.Public
	impostor := *good // mallory signs with his key, claims alice's identity
	impostor.Seq = 1
	impostor.Sign(mallory.sg)
	impostor.Identity = alice.id()
	impostor.Sign(&Signer{Identity: alice.id(), Public: mallory.sg.Public, Private: mallory.sg.Private})

	tests := []struct {
		name string
		b    []byte
		err  error
		stat func(Stats) uint64
	}{
		{"altered text", altered.AppendEncode(nil), ErrSignature, func(s Stats) uint64 { return s.Forged }},
		{"another's words", otherName.AppendEncode(nil), ErrSignature, func(s Stats) uint64 { return s.Forged }},
		{"another's identity", impostor.AppendEncode(nil), ErrKeyMismatch, func(s Stats) uint64 { return s.KeyMismatch }},
		{"garbage", []byte{1, 1, 0, 9}, ErrShort, func(s Stats) uint64 { return s.Malformed }},
	}
	for _, tt := range tests {
		before := tt.stat(carol.Stats())
		d, err := carol.Receive(mallory.id(), tt.b, false, t0)
		if !errors.Is(err, tt.err) || len(d) != 0 {
			t.Errorf("%s: %v (shown %d), want %v", tt.name, err, len(d), tt.err)
		}
		if tt.stat(carol.Stats()) != before+1 {
			t.Errorf("%s: not counted", tt.name)
		}
	}
	// The genuine message, relayed by mallory, is taken and marked earlier.
	d, err := carol.give(mallory, good, t0)
	if err != nil || len(d) != 1 || !d[0].Earlier {
		t.Fatalf("genuine relay: %+v %v", d, err)
	}
	// A key bound to alice in her hello wins over what a message claims.
	dave := newNode(t, "dave")
	dave.Bound = func(id Key) (SignKey, bool) {
		if id == alice.id() {
			return alice.sg.Public, true
		}
		return SignKey{}, false
	}
	dave.mustJoin(t, "#lunch", t0)
	if _, err := dave.Receive(mallory.id(), impostor.AppendEncode(nil), false, t0); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("impostor first seen by dave: %v", err)
	}
}

// TestCatchUp: a member away while two others talked, one of whom left
// before it came back, gets everything from the third, exactly once, in
// each author's order.
func TestCatchUp(t *testing.T) {
	alice, bob, carol, dave := newNode(t, "alice"), newNode(t, "bob"), newNode(t, "carol"), newNode(t, "dave")
	nodes := []*tnode{alice, bob, carol, dave}
	var id ID
	joins := map[*tnode]*Message{}
	for _, n := range nodes {
		id, joins[n] = n.mustJoin(t, "#lunch", t0)
	}
	for _, n := range nodes {
		for _, o := range nodes {
			if n != o {
				n.give(o, joins[o], t0)
			}
		}
	}
	// dave is away: alice, bob, carol talk; only carol hears everything.
	now := t0.Add(time.Minute)
	for i := range 100 {
		var from *tnode
		switch i % 3 {
		case 0:
			from = alice
		case 1:
			from = bob
		default:
			from = carol
		}
		m := from.mustPost(t, id, fmt.Sprintf("%d", i), now)
		for _, o := range []*tnode{alice, bob, carol} {
			if o != from {
				o.give(from, m, now)
			}
		}
	}
	part, _, _ := bob.Part(id, "", now)
	alice.give(bob, part, now)
	carol.give(bob, part, now)
	// dave is back and meets carol only.
	now = now.Add(time.Hour)
	shown, batches := catchUp(t, dave, carol, id, now)
	got := texts(shown)
	if len(got) != 100 {
		t.Fatalf("dave was shown %d messages, want 100", len(got))
	}
	last := map[string]int{}
	for _, d := range shown {
		if !d.Earlier {
			t.Fatalf("caught-up message not marked earlier: %s", d.Msg.Text)
		}
		if d.Msg.Kind != KindText {
			continue
		}
		var n int
		fmt.Sscan(d.Msg.Text, &n)
		if prev, ok := last[d.Msg.Nick]; ok && n <= prev {
			t.Fatalf("%s's %d after its %d", d.Msg.Nick, n, prev)
		}
		last[d.Msg.Nick] = n
	}
	if last["bob"] == 0 {
		t.Fatal("nothing of bob, who left")
	}
	if dave.IsMember(id, bob.id()) {
		t.Fatal("bob's part not taken")
	}
	// Asking alice too brings nothing twice.
	again, _ := catchUp(t, dave, alice, id, now)
	if len(again) != 0 {
		t.Fatalf("second source showed %d more", len(again))
	}
	t.Logf("caught up in %d batches", batches)
}

func TestRelayBatchBounds(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, _ := alice.mustJoin(t, "#lunch", t0)
	bob.mustJoin(t, "#lunch", t0)
	now := t0.Add(2 * FreshFor)
	for range 300 {
		alice.mustPost(t, id, strings.Repeat("y", 4<<10), now)
	}
	sum, _ := bob.Summary(id, alice.id(), now)
	batch, err := alice.Relay(bob.id(), sum.AppendEncode(nil), now)
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, m := range batch {
		size += m.Size()
	}
	if len(batch) == 0 || len(batch) > MaxRelayMsgs || size > MaxRelayBytes {
		t.Fatalf("batch of %d messages, %d bytes", len(batch), size)
	}
	shown, _ := catchUp(t, bob, alice, id, now)
	if len(texts(shown)) != 300 {
		t.Fatalf("caught up %d of 300", len(texts(shown)))
	}
}

// TestLateJoiner: a newcomer to an open room is sent its last 100
// messages, marked earlier, and nothing older afterwards.
func TestLateJoiner(t *testing.T) {
	alice, bob, eve := newNode(t, "alice"), newNode(t, "bob"), newNode(t, "eve")
	id, ja := alice.mustJoin(t, "#lunch", t0)
	_, jb := bob.mustJoin(t, "#lunch", t0)
	bob.give(alice, ja, t0)
	alice.give(bob, jb, t0)
	for i := range 300 {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		to.give(from, from.mustPost(t, id, fmt.Sprint(i), t0), t0)
	}
	now := t0.Add(time.Hour)
	eve.mustJoin(t, "#lunch", now)
	shown, _ := catchUp(t, eve, alice, id, now)
	got := texts(shown)
	if len(got) != LateJoinHistory {
		t.Fatalf("eve was shown %d, want %d", len(got), LateJoinHistory)
	}
	if got[0] != "alice:200" || got[len(got)-1] != "bob:299" {
		t.Fatalf("eve's history runs %s .. %s", got[0], got[len(got)-1])
	}
	// Later, not fresh any more: bob has nothing for her she lacks.
	later := now.Add(2 * FreshFor)
	more, _ := catchUp(t, eve, bob, id, later)
	if len(more) != 0 {
		t.Fatalf("eve got %d more from bob: %v", len(more), texts(more))
	}
}

// TestPartitionHeals: two halves that each made #lunch are one room.
func TestPartitionHeals(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, _ := alice.mustJoin(t, "#lunch", t0)
	idb, _ := bob.mustJoin(t, "#LUNCH", t0)
	if id != idb {
		t.Fatal("two ids")
	}
	now := t0.Add(10 * time.Minute)
	alice.mustPost(t, id, "from the left", now)
	bob.mustPost(t, id, "from the right", now)
	a, _ := catchUp(t, alice, bob, id, now)
	b, _ := catchUp(t, bob, alice, id, now)
	if !slices.Equal(texts(a), []string{"bob:from the right"}) || !slices.Equal(texts(b), []string{"alice:from the left"}) {
		t.Fatalf("alice got %v, bob got %v", texts(a), texts(b))
	}
	if !alice.IsMember(id, bob.id()) || !bob.IsMember(id, alice.id()) {
		t.Fatal("the halves do not see each other as members")
	}
}

// TestPrivateRoom: only invited members get anything; a removed member
// gets nothing more; a newcomer sees from its invitation on.
func TestPrivateRoom(t *testing.T) {
	alice, bob, carol, mallory := newNode(t, "alice"), newNode(t, "bob"), newNode(t, "carol"), newNode(t, "mallory")
	l, _, err := alice.CreatePrivate("#Secret", [16]byte{7}, t0)
	if err != nil {
		t.Fatal(err)
	}
	id := l.Room
	l2, err := alice.Invite(id, bob.id(), bob.sg.Public, t0)
	if err != nil {
		t.Fatal(err)
	}
	rid, res, jb, err := bob.ApplyList(l2.AppendEncode(nil), t0)
	if err != nil || rid != id || res != ListInvited || jb == nil {
		t.Fatalf("bob invited: %v %v %v", res, jb, err)
	}
	alice.give(bob, jb, t0)
	m1 := alice.mustPost(t, id, "before carol", t0.Add(time.Minute))
	bob.give(alice, m1, t0.Add(time.Minute))

	// mallory, not invited, learns the room exists and cannot join it,
	// and members give it nothing.
	mallory.Heard(id, "#secret", true, 2, "", t0)
	if _, _, err := mallory.Join("#secret", t0); !errors.Is(err, ErrInviteOnly) {
		t.Fatalf("mallory joins: %v", err)
	}
	fake := &Summary{Room: id, Fresh: true}
	if batch, err := alice.Relay(mallory.id(), fake.AppendEncode(nil), t0); len(batch) != 0 || !errors.Is(err, ErrNotMember) {
		t.Fatalf("mallory's summary answered with %d messages, %v", len(batch), err)
	}
	if got := alice.Recipients(id); !slices.Equal(got, []Key{bob.id()}) {
		t.Fatalf("recipients %x", got)
	}
	// mallory's own message in the room, signed by him: dropped.
	mm := &Message{Kind: KindText, Private: true, Room: id, Seq: 1, Time: t0.UnixMilli(), Name: "#secret", Nick: "mallory", Text: "hi"}
	mm.Sign(mallory.sg)
	if _, err := alice.give(mallory, mm, t0); !errors.Is(err, ErrNotMember) {
		t.Fatalf("mallory's message: %v", err)
	}
	// bob cannot invite mallory; a list mallory signs is refused.
	if _, err := bob.Invite(id, mallory.id(), mallory.sg.Public, t0); !errors.Is(err, ErrNotCreator) {
		t.Fatalf("bob invites: %v", err)
	}
	forged := *l2
	forged.Version = 99
	forged.Members = append(slices.Clone(forged.Members), Member{Identity: mallory.id(), Signing: mallory.sg.Public})
	forged.sign(mallory.sg)
	if _, _, _, err := bob.ApplyList(forged.AppendEncode(nil), t0); !errors.Is(err, ErrSignature) || bob.Stats().BadLists != 1 {
		t.Fatalf("forged list: %v", err)
	}
	if _, _, _, err := mallory.ApplyList(l2.AppendEncode(nil), t0); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a list not naming mallory: %v", err)
	}

	// carol invited later sees from her invitation on.
	inv := t0.Add(2 * time.Minute)
	l3, _ := alice.Invite(id, carol.id(), carol.sg.Public, inv)
	bob.ApplyList(l3.AppendEncode(nil), inv)
	_, _, jc, _ := carol.ApplyList(l3.AppendEncode(nil), inv)
	alice.give(carol, jc, inv)
	m2 := alice.mustPost(t, id, "after carol", inv.Add(time.Second))
	bob.give(alice, m2, inv.Add(time.Second))
	shown, _ := catchUp(t, carol, bob, id, inv.Add(time.Second))
	if got := texts(shown); !slices.Equal(got, []string{"alice:after carol"}) {
		t.Fatalf("carol was shown %v", got)
	}

	// bob removed: gone from the room, fan-out and relays.
	l4, err := alice.Kick(id, bob.id(), inv.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, res, _, _ := bob.ApplyList(l4.AppendEncode(nil), inv); res != ListRemoved {
		t.Fatalf("bob after the kick: %v", res)
	}
	carol.ApplyList(l4.AppendEncode(nil), inv)
	if _, _, _, err := carol.ApplyList(l3.AppendEncode(nil), inv); !errors.Is(err, ErrStale) {
		t.Fatalf("old list again: %v", err)
	}
	if slices.Contains(alice.Recipients(id), bob.id()) || slices.Contains(carol.Recipients(id), bob.id()) {
		t.Fatal("bob still a recipient")
	}
	sum := &Summary{Room: id}
	if batch, _ := carol.Relay(bob.id(), sum.AppendEncode(nil), inv); len(batch) != 0 {
		t.Fatalf("removed bob relayed %d", len(batch))
	}
	m3 := alice.mustPost(t, id, "after bob", inv.Add(2*time.Minute))
	if _, err := bob.give(alice, m3, inv); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("bob receives after removal: %v", err)
	}
	// A private room never shadows an open one.
	alice.Heard(OpenID("#lunch"), "#lunch", false, 3, "", t0)
	if _, _, err := alice.CreatePrivate("#Lunch", [16]byte{8}, t0); !errors.Is(err, ErrOpenExists) {
		t.Fatalf("private #lunch over an open one: %v", err)
	}
}

// TestRejoinSeq: our seqs go on after a part and rejoin; with them lost,
// they start past any used and members take them at once.
func TestRejoinSeq(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, ja := alice.mustJoin(t, "#lunch", t0)
	bob.mustJoin(t, "#lunch", t0)
	bob.give(alice, ja, t0)
	bob.give(alice, alice.mustPost(t, id, "one", t0), t0)
	part, next, _ := alice.Part(id, "", t0)
	bob.give(alice, part, t0)
	saved := map[ID]uint64{id: next}
	alice.NextSeq = func(id ID) uint64 { return saved[id] }
	_, j2 := alice.mustJoin(t, "#lunch", t0.Add(time.Minute))
	if j2.Seq != next {
		t.Fatalf("rejoin seq %d, want %d", j2.Seq, next)
	}
	if d, err := bob.give(alice, j2, t0); err != nil || len(d) != 1 {
		t.Fatalf("rejoin: %v %v", d, err)
	}
	// alice loses her store.
	part, _, _ = alice.Part(id, "", t0)
	bob.give(alice, part, t0)
	alice.NextSeq = nil
	_, j3 := alice.mustJoin(t, "#lunch", t0.Add(2*time.Minute))
	d, err := bob.give(alice, j3, t0.Add(2*time.Minute))
	if err != nil || len(d) != 1 || d[0].Msg.Seq != j3.Seq || j3.Seq < uint64(t0.UnixMilli()) {
		t.Fatalf("join after a lost store: %v %v", d, err)
	}
	d, err = bob.give(alice, alice.mustPost(t, id, "back", t0.Add(2*time.Minute)), t0.Add(2*time.Minute))
	if err != nil || len(d) != 1 {
		t.Fatalf("message after: %v %v", d, err)
	}
}

func TestRoomBounds(t *testing.T) {
	alice := newNode(t, "alice")
	for i := range MaxRooms {
		alice.mustJoin(t, fmt.Sprintf("#r%d", i), t0)
	}
	if _, _, err := alice.Join("#one-more", t0); !errors.Is(err, ErrRoomsFull) {
		t.Fatalf("room %d: %v", MaxRooms+1, err)
	}
	if _, _, err := alice.CreatePrivate("#one-more", [16]byte{}, t0); !errors.Is(err, ErrRoomsFull) {
		t.Fatalf("private room %d: %v", MaxRooms+1, err)
	}
	// Open rooms heard of: bounded, the oldest forgotten.
	for i := range MaxKnownRooms + 50 {
		name := fmt.Sprintf("#k%d", i)
		alice.Heard(OpenID(name), name, false, 1, "", t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(alice.known); n != MaxKnownRooms {
		t.Fatalf("knows %d rooms", n)
	}
	if _, ok := alice.known[OpenID("#k0")]; ok {
		t.Fatal("the oldest room heard of is still known")
	}
	if alice.Stats().KnownEvicted != 50 {
		t.Fatalf("evicted %d", alice.Stats().KnownEvicted)
	}
	if got := len(alice.Rooms()); got != MaxRooms+MaxKnownRooms {
		t.Fatalf("/rooms lists %d", got)
	}
	if err := alice.Heard(OpenID("#x"), "#y", false, 1, "", t0); !errors.Is(err, ErrWrongID) {
		t.Fatalf("advert with a wrong id: %v", err)
	}
}

// TestAuthorBound: strangers with fresh keys cannot make a room track
// more than MaxAuthors authors, nor more than MaxMembers members.
func TestAuthorBound(t *testing.T) {
	bob := newNode(t, "bob")
	id, _ := bob.mustJoin(t, "#lunch", t0)
	for i := range MaxAuthors + 10 {
		s := newNode(t, fmt.Sprint("stranger", i))
		s.mustJoin(t, "#lunch", t0)
		m := s.mustPost(t, id, "spam", t0)
		bob.give(s, m, t0)
	}
	r := bob.rooms[id]
	if len(r.authors) > MaxAuthors || len(r.members) > MaxMembers {
		t.Fatalf("%d authors, %d members", len(r.authors), len(r.members))
	}
	if st := bob.Stats(); st.AuthorsFull == 0 {
		t.Fatal("no author refused")
	}
}

func TestLogBounds(t *testing.T) {
	alice := newNode(t, "alice")
	id, _ := alice.mustJoin(t, "#lunch", t0)
	for i := range MaxLog + 5 {
		alice.mustPost(t, id, fmt.Sprint(i), t0)
	}
	log := alice.Log(id)
	if len(log) != MaxLog || log[0].Text != "5" {
		t.Fatalf("log of %d from %q", len(log), log[0].Text)
	}
	for range 200 {
		alice.mustPost(t, id, strings.Repeat("z", 30<<10), t0)
	}
	if r := alice.rooms[id]; r.logSize > MaxLogBytes {
		t.Fatalf("log of %d bytes", r.logSize)
	}
	old := alice.Log(id)[0]
	alice.Tick(t0.Add(MaxAge + time.Second))
	if n := len(alice.Log(id)); n != 0 {
		t.Fatalf("%d messages older than MaxAge kept", n)
	}
	if alice.Stats().LogEvicted == 0 {
		t.Fatal("evictions not counted")
	}
	// A message older than anyone keeps is not taken.
	bob := newNode(t, "bob")
	bob.mustJoin(t, "#lunch", t0.Add(MaxAge+time.Hour))
	if _, err := bob.give(alice, old, t0.Add(MaxAge+time.Hour)); !errors.Is(err, ErrStale) || bob.Stats().Stale != 1 {
		t.Fatalf("a message older than MaxAge: %v", err)
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	alice := newNode(t, "alice")
	id, _ := alice.mustJoin(t, "#lunch", t0)
	s, _ := alice.Summary(id, Key{}, t0)
	got, err := DecodeSummary(s.AppendEncode(nil))
	if err != nil || got.Room != id || !got.Fresh || len(got.Authors) != 1 || got.Authors[0].Seq != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	dup := &Summary{Room: id, Authors: []Pos{{Seq: 1}, {Seq: 2}}}
	if _, err := DecodeSummary(dup.AppendEncode(nil)); !errors.Is(err, ErrBadField) {
		t.Fatalf("author twice: %v", err)
	}
	big := &Summary{Room: id}
	for i := range MaxSummaryAuthors + 1 {
		var k Prefix
		k[0], k[1] = byte(i>>8), byte(i)
		big.Authors = append(big.Authors, Pos{Author: k, Seq: 1})
	}
	if _, err := DecodeSummary(big.AppendEncode(nil)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("summary of %d authors: %v", len(big.Authors), err)
	}
}

func FuzzDecodeSummary(f *testing.F) {
	f.Add((&Summary{Authors: []Pos{{Seq: 3}}}).AppendEncode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSummary(b)
		if err != nil {
			return
		}
		if got := s.AppendEncode(nil); string(got) != string(b) {
			t.Fatal("re-encoded differently")
		}
	})
}

// TestHeldPerAuthor: one member holding its gap open cannot take the
// room's whole budget for messages held ahead of a gap.
func TestHeldPerAuthor(t *testing.T) {
	mallory, alice, bob := newNode(t, "mallory"), newNode(t, "alice"), newNode(t, "bob")
	id, jm := mallory.mustJoin(t, "#lunch", t0)
	_, ja := alice.mustJoin(t, "#lunch", t0)
	bob.mustJoin(t, "#lunch", t0)
	bob.give(mallory, jm, t0)
	bob.give(alice, ja, t0)
	mallory.mustPost(t, id, "never sent", t0)
	for range MaxAhead {
		bob.give(mallory, mallory.mustPost(t, id, "x", t0), t0)
	}
	if n := len(bob.rooms[id].authors[mallory.sg.Public].held); n != MaxHeldPerAuthor {
		t.Fatalf("mallory has %d held, want %d", n, MaxHeldPerAuthor)
	}
	alice.mustPost(t, id, "lost", t0)
	late := alice.mustPost(t, id, "held", t0)
	if _, err := bob.give(alice, late, t0); err != nil {
		t.Fatalf("alice's message ahead of her gap: %v", err)
	}
}

func TestTopic(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, _ := alice.mustJoin(t, "#lunch", t0)
	bob.mustJoin(t, "#lunch", t0)
	early, _ := alice.Post(id, KindTopic, "early", t0)
	late, _ := alice.Post(id, KindTopic, "late", t0.Add(time.Minute))
	// Any arrival order: the latest wins. (bob takes alice's from seq 2.)
	bob.give(alice, late, t0)
	bob.give(alice, early, t0)
	if got := bob.Topic(id); got != "late" {
		t.Fatalf("topic %q", got)
	}
	far, _ := alice.Post(id, KindTopic, "for ever", t0.Add(MaxSkew+time.Hour))
	if _, err := bob.give(alice, far, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := bob.Topic(id); got != "late" || bob.Stats().FutureTopics != 1 {
		t.Fatalf("topic %q after one dated a day ahead (%d counted)", got, bob.Stats().FutureTopics)
	}
}

// TestPrivateNeverShadowsOpen: our private #x does not stop us joining
// an open #x that shows up later, and Find prefers the open one.
func TestPrivateNeverShadowsOpen(t *testing.T) {
	alice := newNode(t, "alice")
	l, _, err := alice.CreatePrivate("#x", [16]byte{1}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if id, _, err := alice.Join("#X", t0); !errors.Is(err, ErrAlreadyJoined) || id != l.Room {
		t.Fatalf("/join of our private room: %v %v", id, err)
	}
	alice.Heard(OpenID("#x"), "#x", false, 2, "", t0)
	id, _, err := alice.Join("#x", t0)
	if err != nil || id != OpenID("#x") {
		t.Fatalf("join the open #x: %v", err)
	}
	if got, _ := alice.Find("#X"); got != id {
		t.Fatal("Find gives the private room")
	}
	rs := alice.Rooms()
	if len(rs) != 2 || rs[0].Private || !rs[1].Private {
		t.Fatalf("/rooms: %+v", rs)
	}
}

// TestInviteFlood: strangers inviting us cannot take all our rooms.
func TestInviteFlood(t *testing.T) {
	bob := newNode(t, "bob")
	taken := 0
	for i := range MaxRooms {
		s := newNode(t, fmt.Sprint("stranger", i))
		l, _, err := s.CreatePrivate(fmt.Sprintf("#spam%d", i), [16]byte{byte(i)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		l, _ = s.Invite(l.Room, bob.id(), bob.sg.Public, t0)
		if _, res, _, err := bob.ApplyList(l.AppendEncode(nil), t0); err == nil && res == ListInvited {
			taken++
		}
	}
	if taken != MaxInvitedRooms || bob.Stats().InvitesRefused != MaxRooms-MaxInvitedRooms {
		t.Fatalf("%d invitations taken, %d refused", taken, bob.Stats().InvitesRefused)
	}
	if _, _, err := bob.Join("#lunch", t0); err != nil {
		t.Fatalf("bob's own /join after the flood: %v", err)
	}
	// Taking an invitation (/join of its name) frees its place.
	if _, _, err := bob.Join("#spam0", t0); !errors.Is(err, ErrAlreadyJoined) {
		t.Fatal(err)
	}
	s := newNode(t, "friend")
	l, _, _ := s.CreatePrivate("#friends", [16]byte{99}, t0)
	l, _ = s.Invite(l.Room, bob.id(), bob.sg.Public, t0)
	if _, res, _, err := bob.ApplyList(l.AppendEncode(nil), t0); err != nil || res != ListInvited {
		t.Fatalf("invitation after one was taken: %v", err)
	}
}

// TestImpostorFirst: mallory claims alice's identity in #lunch before
// alice speaks there; once alice (known first-hand) does, her key wins.
func TestImpostorFirst(t *testing.T) {
	alice, mallory, carol := newNode(t, "alice"), newNode(t, "mallory"), newNode(t, "carol")
	id, ja := alice.mustJoin(t, "#lunch", t0)
	carol.mustJoin(t, "#lunch", t0)
	fake := New(&Signer{Identity: alice.id(), Public: mallory.sg.Public, Private: mallory.sg.Private}, "alice")
	fake.NextSeq = func(ID) uint64 { return 1 }
	_, jf, _ := fake.Join("#lunch", t0)
	// Without the first-hand binding carol takes the impostor's join...
	if _, err := carol.Receive(mallory.id(), jf.AppendEncode(nil), false, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.give(alice, ja, t0); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("alice after the impostor, no binding known: %v", err)
	}
	// ... with it, alice's own key wins and the impostor's is refused.
	carol.Bound = func(k Key) (SignKey, bool) {
		if k == alice.id() {
			return alice.sg.Public, true
		}
		return SignKey{}, false
	}
	if _, err := carol.give(alice, ja, t0); err != nil {
		t.Fatalf("alice, known first-hand: %v", err)
	}
	if got := carol.Members(id); !slices.ContainsFunc(got, func(m MemberInfo) bool { return m.Identity == alice.id() && m.Signing == alice.sg.Public }) {
		t.Fatalf("members %+v", got)
	}
	next, _ := fake.Post(id, KindText, "I am alice", t0)
	if _, err := carol.Receive(mallory.id(), next.AppendEncode(nil), false, t0); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("impostor after: %v", err)
	}
}

// TestOwnSince: what we said in an open room from a time on (and up to
// a seq of ours, OwnLast at some moment), our text and topic messages
// only, oldest first: what a member we learn of late is sent again
// (roomsnet). Two lines said in the same millisecond are told apart by
// their seqs. Nothing for a private room.
func TestOwnSince(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	ra, _ := alice.mustJoin(t, "#lunch", t0)
	_, jb := bob.mustJoin(t, "#lunch", t0)
	if _, err := alice.give(bob, jb, t0); err != nil {
		t.Fatal(err)
	}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	if got := alice.OwnLast(ra); got != alice.mustPost(t, ra, "one", at(1)).Seq-1 {
		t.Errorf("OwnLast before her first line = %d", got)
	}
	bm := bob.mustPost(t, ra, "bob's", at(2))
	if _, err := alice.give(bob, bm, at(2)); err != nil {
		t.Fatal(err)
	}
	alice.mustPost(t, ra, "two", at(3))
	if _, err := alice.Post(ra, KindTopic, "noon", at(4)); err != nil {
		t.Fatal(err)
	}
	afterNoon := alice.OwnLast(ra)
	alice.mustPost(t, ra, "three", at(4)) // the same millisecond as noon
	last := alice.OwnLast(ra)
	if last != afterNoon+1 {
		t.Errorf("OwnLast after three = %d, want %d", last, afterNoon+1)
	}
	words := func(ms []*Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Text)
		}
		return out
	}
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }
	for _, tc := range []struct {
		since   int64
		through uint64
		want    []string
	}{
		{ms(t0), math.MaxUint64, []string{"one", "two", "noon", "three"}},
		{ms(at(2)), math.MaxUint64, []string{"two", "noon", "three"}},
		{ms(at(3)), afterNoon, []string{"two", "noon"}},
		{ms(at(4)), afterNoon, []string{"noon"}},
		{ms(at(4)), last, []string{"noon", "three"}},
		{ms(at(6)), math.MaxUint64, nil},
	} {
		if got := words(alice.OwnSince(ra, tc.since, tc.through)); !slices.Equal(got, tc.want) {
			t.Errorf("OwnSince(%d, %d) = %q, want %q", tc.since-ms(t0), tc.through, got, tc.want)
		}
	}
	if got := bob.OwnLast(ra); got != bm.Seq {
		t.Errorf("bob's OwnLast = %d, want %d", got, bm.Seq)
	}
	if got := alice.OwnLast(ID{9}); got != 0 {
		t.Errorf("OwnLast of a room we are not in = %d", got)
	}
	l, _, err := alice.CreatePrivate("#secret", [16]byte{1}, t0)
	if err != nil {
		t.Fatal(err)
	}
	alice.mustPost(t, l.Room, "private", at(1))
	if got := alice.OwnSince(l.Room, ms(t0), math.MaxUint64); got != nil {
		t.Errorf("private room: %q", words(got))
	}
}
