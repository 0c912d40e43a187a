package rooms

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// historyRoom is #lunch with alice and n-1 other members, each holding
// alice's 150 messages, and eve, who joins an hour later (not yet
// summarised to anyone).
func historyRoom(t *testing.T, n int) (members []*tnode, eve *tnode, id ID, now time.Time) {
	t.Helper()
	for i := range n {
		members = append(members, newNode(t, fmt.Sprintf("m%d", i)))
	}
	var joins []*Message
	for _, m := range members {
		rid, j := m.mustJoin(t, "#lunch", t0)
		id = rid
		joins = append(joins, j)
	}
	for i, m := range members {
		for j, jm := range joins {
			if i != j {
				m.give(members[j], jm, t0)
			}
		}
	}
	alice := members[0]
	for i := range 150 {
		msg := alice.mustPost(t, id, fmt.Sprintf("m%03d", i), t0)
		for _, m := range members[1:] {
			if _, err := m.give(alice, msg, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	now = t0.Add(time.Hour)
	eve = newNode(t, "eve")
	eve.mustJoin(t, "#lunch", now)
	return members, eve, id, now
}

// ask sends eve's summary to each of to (all at once, as at a join, before
// any answer is in) and gives her their answers: it returns what she was
// shown and how many text messages each relayed (a member that said
// nothing since its join also sends its join).
func ask(t *testing.T, eve *tnode, to []*tnode, id ID, now time.Time) (shown []string, relayed []int) {
	t.Helper()
	var batches [][]*Message
	for _, m := range to {
		sum, err := eve.Summary(id, m.id(), now)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := m.Relay(eve.id(), sum.AppendEncode(nil), now)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, batch)
		n := 0
		for _, msg := range batch {
			if msg.Kind == KindText {
				n++
			} else if msg.Kind != KindJoin || msg.Author != m.sg.Public {
				t.Errorf("%s relayed %s's %s", m.nick, msg.Nick, msg.Kind)
			}
		}
		relayed = append(relayed, n)
	}
	for i, batch := range batches {
		for _, msg := range batch {
			ds, _ := eve.Receive(to[i].id(), msg.AppendEncode(nil), true, now)
			shown = append(shown, texts(ds)...)
		}
	}
	return shown, relayed
}

func last100() []string {
	var want []string
	for i := 50; i < 150; i++ {
		want = append(want, fmt.Sprintf("m0:m%03d", i))
	}
	return want
}

// TestLateJoinerAskedOnce: a newcomer meeting the 8 members of a room at
// once is shown the last 100 messages once each, and only one member
// (the first it sent a summary to) relays them: the others are sent
// plain summaries and relay nothing (before: each of the 8 relayed the
// 100, 700 of the 800 duplicates).
func TestLateJoinerAskedOnce(t *testing.T) {
	members, eve, id, now := historyRoom(t, 8)
	shown, relayed := ask(t, eve, members, id, now)
	if !slices.Equal(shown, last100()) {
		t.Fatalf("eve was shown %d: %v", len(shown), shown)
	}
	total, answering := 0, 0
	for _, n := range relayed {
		total += n
		if n > 0 {
			answering++
		}
	}
	if total != LateJoinHistory || answering != 1 || relayed[0] != LateJoinHistory {
		t.Fatalf("members relayed %v: %d messages from %d members, want %d from 1", relayed, total, answering, LateJoinHistory)
	}
	if eve.Stats().Duplicates != 0 {
		t.Fatalf("%d duplicates", eve.Stats().Duplicates)
	}
	// The one asked is asked again for more; still nobody else.
	if s, _ := eve.Summary(id, members[0].id(), now.Add(time.Second)); !s.Fresh {
		t.Error("summary to the member asked, after its answer: not fresh")
	}
	if s, _ := eve.Summary(id, members[3].id(), now.Add(time.Second)); s.Fresh {
		t.Error("summary to another member after the answer: fresh")
	}
	if got := eve.NeedsHistory(now.Add(HistoryWait + time.Second)); len(got) != 0 {
		t.Errorf("history answered, still needed for %d rooms", len(got))
	}
}

// TestLateJoinerAskedAgain: the member asked for history goes away (or
// stays silent for HistoryWait) before its answer is in: the room needs
// history again, and the next member a summary goes to (one not asked
// before) is asked and answers; eve is shown the last 100 once each.
func TestLateJoinerAskedAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(eve *tnode, asked Key, now time.Time) time.Time
	}{
		{"gone", func(eve *tnode, asked Key, now time.Time) time.Time {
			eve.PeerGone(asked)
			return now.Add(time.Second)
		}},
		{"silent", func(eve *tnode, _ Key, now time.Time) time.Time {
			later := now.Add(HistoryWait)
			if got := eve.NeedsHistory(later.Add(-time.Second)); len(got) != 0 {
				t.Errorf("history needed again before HistoryWait")
			}
			eve.Tick(later)
			return later
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members, eve, id, now := historyRoom(t, 4)
			// eve asks members[0] (its answer never comes) and sends
			// plain summaries to the others.
			for i, m := range members {
				s, _ := eve.Summary(id, m.id(), now)
				if s.Fresh != (i == 0) {
					t.Fatalf("summary %d fresh: %v", i, s.Fresh)
				}
			}
			if got := eve.NeedsHistory(now); len(got) != 0 {
				t.Fatalf("history needed while asking")
			}
			later := tc.lose(eve, members[0].id(), now)
			if got := eve.NeedsHistory(later); !slices.Equal(got, []ID{id}) {
				t.Fatalf("history needed: %v", got)
			}
			if !eve.Asked(id, members[0].id()) || eve.Asked(id, members[2].id()) {
				t.Fatal("Asked: wrong members")
			}
			shown, relayed := ask(t, eve, members[2:], id, later)
			if !slices.Equal(shown, last100()) || !slices.Equal(relayed, []int{LateJoinHistory, 0}) {
				t.Fatalf("eve was shown %d, members relayed %v", len(shown), relayed)
			}
			// Past FreshFor nobody is asked any more.
			if s, _ := eve.Summary(id, members[3].id(), now.Add(FreshFor)); s.Fresh {
				t.Error("fresh after FreshFor")
			}
		})
	}
}

// TestOwnJoinIsNoAnswer: a quiet member sends a newcomer its own join for
// a plain summary; when that comes in from the member asked for history
// (the plain answer crossed the fresh summary), the ask is still open:
// if the member then goes away, another is asked.
func TestOwnJoinIsNoAnswer(t *testing.T) {
	members, eve, id, now := historyRoom(t, 3)
	bob := members[1]
	plain := &Summary{Room: id, Since: now.UnixMilli()}
	batch, err := bob.Relay(eve.id(), plain.AppendEncode(nil), now)
	if err != nil || len(batch) != 1 || batch[0].Kind != KindJoin || batch[0].Author != bob.sg.Public {
		t.Fatalf("bob's answer to a plain summary: %d messages, %v", len(batch), err)
	}
	if s, _ := eve.Summary(id, bob.id(), now); !s.Fresh {
		t.Fatal("first summary not fresh")
	}
	if _, err := eve.Receive(bob.id(), batch[0].AppendEncode(nil), true, now); err != nil {
		t.Fatal(err)
	}
	eve.PeerGone(bob.id())
	if got := eve.NeedsHistory(now); !slices.Equal(got, []ID{id}) {
		t.Fatalf("bob's own join taken as his history answer: needs %v", got)
	}
}

// TestAhead: a summary is "ahead" (worth our summary back) when it lists
// a message we lack, other than its sender's own once the sender is a
// member for us.
func TestAhead(t *testing.T) {
	members, eve, id, now := historyRoom(t, 2)
	alice, bob := members[0], members[1]
	sumOf := func(n *tnode, to Key) *Summary {
		s, err := n.Summary(id, to, now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if alice.Ahead(bob.id(), sumOf(bob, alice.id())) {
		t.Error("bob holds what alice holds: ahead")
	}
	if !eve.Ahead(alice.id(), sumOf(alice, eve.id())) {
		t.Error("alice holds 150 messages eve lacks: not ahead")
	}
	// eve's join, not yet taken by bob: ahead; once taken (eve is a
	// member for him), her own messages come from her.
	if !bob.Ahead(eve.id(), sumOf(eve, bob.id())) {
		t.Error("eve's join not taken by bob: not ahead")
	}
	j := eve.Log(id)[0]
	if _, err := bob.give(eve, j, now); err != nil {
		t.Fatal(err)
	}
	eve.mustPost(t, id, "hi", now)
	if bob.Ahead(eve.id(), sumOf(eve, bob.id())) {
		t.Error("eve, a member, ahead only by her own message: ahead")
	}
}
