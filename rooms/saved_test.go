package rooms

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestRestart: a member restored from what the store kept shows nothing
// twice, goes on with its own seqs and answers summaries as before.
func TestRestart(t *testing.T) {
	alice, bob := newNode(t, "alice"), newNode(t, "bob")
	id, ja := alice.mustJoin(t, "#lunch", t0)
	_, jb := bob.mustJoin(t, "#lunch", t0)
	bob.give(alice, ja, t0)
	alice.give(bob, jb, t0)
	var sent []*Message
	for i := range 5 {
		m := alice.mustPost(t, id, string(rune('a'+i)), t0)
		sent = append(sent, m)
		bob.give(alice, m, t0)
	}
	top, _ := alice.Post(id, KindTopic, "soup", t0)
	bob.give(alice, top, t0)
	mine := bob.mustPost(t, id, "mine", t0)

	sv, err := bob.Export(id)
	if err != nil {
		t.Fatal(err)
	}
	bob2 := &tnode{State: New(bob.sg, "bob"), sg: bob.sg}
	if rid, err := bob2.Restore(sv, t0.Add(time.Hour)); err != nil || rid != id {
		t.Fatalf("restore: %v %v", rid, err)
	}
	for _, m := range sent {
		if _, err := bob2.give(alice, m, t0.Add(time.Hour)); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("message %q after the restart: %v", m.Text, err)
		}
	}
	next := bob2.mustPost(t, id, "after", t0.Add(time.Hour))
	if next.Seq != mine.Seq+1 {
		t.Fatalf("seq after restart %d, want %d", next.Seq, mine.Seq+1)
	}
	if bob2.Topic(id) != "soup" || !bob2.IsMember(id, alice.id()) {
		t.Fatalf("topic %q, alice member %v", bob2.Topic(id), bob2.IsMember(id, alice.id()))
	}
	a, _ := bob.Summary(id, Key{}, t0.Add(time.Hour))
	b, _ := bob2.Summary(id, Key{}, t0.Add(time.Hour))
	// bob2 has one more message of its own.
	for i := range a.Authors {
		if a.Authors[i].Author == PrefixOf(bob.sg.Public) {
			a.Authors[i].Seq++
		}
	}
	if !slices.Equal(a.Authors, b.Authors) {
		t.Fatalf("summary before %v, after %v", a.Authors, b.Authors)
	}
	if got, want := len(bob2.Log(id)), len(bob.Log(id))+1; got != want {
		t.Fatalf("log of %d after restart, want %d", got, want)
	}

	// A private room comes back with its list; a damaged list is refused.
	l, _, _ := alice.CreatePrivate("#secret", [16]byte{3}, t0)
	psv, _ := alice.Export(l.Room)
	alice2 := New(alice.sg, "alice")
	if rid, err := alice2.Restore(psv, t0); err != nil || rid != l.Room || alice2.rooms[rid].list.Version != 1 {
		t.Fatalf("private restore: %v", err)
	}
	psv.List[len(psv.List)-1] ^= 1
	if _, err := New(alice.sg, "alice").Restore(psv, t0); !errors.Is(err, ErrSignature) {
		t.Fatalf("damaged list: %v", err)
	}
}
