package roomsnet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// TestRejoinContinuesSeqs: alice parts #lunch and rejoins, once in the
// same run and once after a restart; each time bob shows her join and
// her next message at once, and gives up no seq of hers (Skipped 0):
// her seqs continue from where she left, they do not jump to the time
// in ms.
func TestRejoinContinuesSeqs(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(11)
		a, b := inLunch(t, mn)
		var seqs []uint64
		for round := range 2 {
			a.post("#lunch", fmt.Sprintf("before %d", round))
			e := b.wait("before", func(e Event) bool { return e.Kind == EvMessage && e.Peer == "alice" })
			seqs = append(seqs, e.Seq)
			if _, err := a.run.Part("#lunch"); err != nil {
				t.Fatal(err)
			}
			b.wait("alice's part", func(e Event) bool { return e.Kind == EvLeft && e.Peer == "alice" })
			if round == 1 {
				a = a.restart(mn)
				meet(a, b)
			}
			joinRoom(t, a, "#lunch", false)
			b.wait("alice's rejoin", func(e Event) bool { return e.Kind == EvJoined && e.Peer == "alice" })
			a.post("#lunch", fmt.Sprintf("after %d", round))
			e = b.wait("after", func(e Event) bool { return e.Kind == EvMessage && e.Peer == "alice" })
			if e.Text != fmt.Sprintf("after %d", round) {
				t.Fatalf("round %d: bob shows %q", round, e.Text)
			}
			seqs = append(seqs, e.Seq)
		}
		// before, part, join, after, before, part, join, after.
		if len(seqs) != 4 || seqs[1] != seqs[0]+3 || seqs[2] != seqs[1]+1 || seqs[3] != seqs[2]+3 {
			t.Errorf("alice's seqs %v: want s, s+3, s+4, s+7", seqs)
		}
		if s := b.run.CoreStats(); s.Skipped != 0 || s.TooFarAhead != 0 {
			t.Errorf("bob gave up %d of alice's seqs (%d too far ahead)", s.Skipped, s.TooFarAhead)
		}
	})
}

// TestCrashBeforeRoomFileLosesNothing: alice's room file is written at
// the next tick, after her messages left. She crashes with her room file
// as it was before three messages (the seqs file as it was when they
// left), comes back and says a fourth: bob gets all four, the fourth is
// not taken for a duplicate of the first (her seq is past every one she
// used; the seqs skipped are given up after rooms.GapWait).
func TestCrashBeforeRoomFileLosesNothing(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(12)
		a, b := inLunch(t, mn)
		dir := filepath.Join(a.home, "rooms")
		snap := func() map[string][]byte {
			out := map[string][]byte{}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					out[e.Name()] = data
				}
			}
			return out
		}
		a.run.mu.Lock() // no tick writes the room file meanwhile
		roomFiles := snap()
		a.run.mu.Unlock()
		a.postN("#lunch", "a%d", 3)
		seqsFile := snap()["seqs"]
		if got := b.texts("#lunch", 3); fmt.Sprint(got) != "[alice: a0 alice: a1 alice: a2]" {
			t.Fatalf("bob got %q", got)
		}
		a.stop()
		// The crash: what the disk held when the messages had left.
		for name, data := range roomFiles {
			if filepath.Ext(name) == ".room" {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "seqs"), seqsFile, 0o600); err != nil {
			t.Fatal(err)
		}
		a = start(t, mn, "alice", a.home, a.id, a.signer)
		meet(a, b)
		a.post("#lunch", "a3")
		// Bob gives up the seqs alice skipped once rooms.GapWait passed.
		time.Sleep(rooms.GapWait + time.Second) // virtual: bob waits for the missing seqs, then gives them up
		e := b.wait("a3", func(e Event) bool { return e.Kind == EvMessage && e.Peer == "alice" })
		if e.Text != "a3" {
			t.Fatalf("bob shows %q, want a3", e.Text)
		}
		if s := b.run.CoreStats(); s.Duplicates != 0 {
			t.Errorf("bob dropped %d of alice's messages as duplicates", s.Duplicates)
		}
		b.none(500 * time.Millisecond)
	})
}
