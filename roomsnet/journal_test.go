package roomsnet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/p2pchat/p2pchat/peer"
)

// crashImage copies m's rooms directory as it is on disk now, with m's
// runner lock held (nothing is written meanwhile): what a kill -9 at
// this moment would leave. It returns a new home holding the copy.
func crashImage(t *testing.T, m *member) string {
	t.Helper()
	home := t.TempDir()
	dst := filepath.Join(home, "rooms")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	m.run.mu.Lock()
	defer m.run.mu.Unlock()
	src := filepath.Join(m.home, "rooms")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

// journalOf is the path of the one journal in home's rooms directory.
func journalOf(t *testing.T, home string) string {
	t.Helper()
	js, _ := filepath.Glob(filepath.Join(home, "rooms", "*"+journalSuffix))
	if len(js) != 1 {
		t.Fatalf("journals in %s: %v", home, js)
	}
	return js[0]
}

// historyTexts is room's history as m holds it: the texts of its messages.
func historyTexts(t *testing.T, m *member, room string) []string {
	t.Helper()
	_, evs, err := m.run.History(room, 2000)
	if err != nil {
		t.Fatalf("%s: history of %s: %v", m.name, room, err)
	}
	var out []string
	for _, e := range evs {
		if e.Kind == EvMessage {
			out = append(out, e.Text)
		}
	}
	return out
}

func numbered(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("m%d", i))
	}
	return out
}

// tookN puts alice and bob in #lunch, has alice say m0..m(n-1), and waits
// until bob has shown them all (each is on bob's disk then: the runner
// saves before it hands the events over).
func tookN(t *testing.T, mn *peer.MemNet, n int) (a, b *member) {
	a, b = inLunch(t, mn)
	a.postN("#lunch", "m%d", n)
	if got := b.texts("#lunch", n); len(got) != n {
		t.Fatalf("bob got %d", len(got))
	}
	return a, b
}

// crashed has bob take n messages from alice and be killed; edit (if not
// nil) rewrites his journal as the crash left it; bob is started again
// on that home.
func crashed(t *testing.T, mn *peer.MemNet, n int, edit func(data []byte) []byte) *member {
	t.Helper()
	_, b := tookN(t, mn, n)
	home := crashImage(t, b)
	if edit != nil {
		j := journalOf(t, home)
		data, err := os.ReadFile(j)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(j, edit(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, mn, "bob", home, b.id, b.signer)
}

// TestCrashKeepsTakenMessages: bob takes 30 messages and is killed
// (his rooms directory as it was, no Close). Back on that directory,
// bob's #lunch holds all 30, in order.
func TestCrashKeepsTakenMessages(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		b2 := crashed(t, peer.NewMemNet(3), 30, nil)
		if got := historyTexts(t, b2, "#lunch"); !slices.Equal(got, numbered(0, 30)) {
			t.Errorf("after the crash bob's #lunch holds %q", got)
		}
		wantDamage(t, b2, 0)
	})
}

// TestJournalReplayedTwice: bob's journal holds every record twice (as
// after a crash between a snapshot and the journal's truncation, and
// worse). Back, bob holds the 30 messages once each, and reports no
// damage.
func TestJournalReplayedTwice(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		b2 := crashed(t, peer.NewMemNet(7), 30, func(data []byte) []byte { return append(data, data...) })
		if got := historyTexts(t, b2, "#lunch"); !slices.Equal(got, numbered(0, 30)) {
			t.Errorf("after a doubled journal bob's #lunch holds %q", got)
		}
		wantDamage(t, b2, 0)
	})
}

// damagedWarning waits for m's warning about a damaged journal.
func damagedWarning(t *testing.T, m *member) {
	t.Helper()
	e := m.wait("a damaged-journal warning", func(e Event) bool {
		return e.Kind == EvWarning && e.Code == "damaged" && strings.Contains(e.File, journalSuffix)
	})
	t.Logf("warning: %s: %v (%d records replayed)", e.File, e.Err, e.Count)
}

// wantDamage checks how many damaged journals m has counted.
func wantDamage(t *testing.T, m *member, want uint64) {
	t.Helper()
	if got := m.run.Stats().JournalDamage; got != want {
		t.Errorf("%s: journal damage counted %d times, want %d", m.name, got, want)
	}
}

// TestJournalTornTail: bob is killed in the middle of appending the
// record of the last of 30 messages (its last bytes never written).
// Back, bob holds the first 29, is told that the journal was damaged
// (one warning, Stats.JournalDamage), and goes on: a restart after it
// holds the same 29 and warns no more.
func TestJournalTornTail(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(4)
		b2 := crashed(t, mn, 30, func(data []byte) []byte { return data[:len(data)-5] })
		damagedWarning(t, b2)
		if got := historyTexts(t, b2, "#lunch"); !slices.Equal(got, numbered(0, 29)) {
			t.Errorf("after a torn last record bob's #lunch holds %q", got)
		}
		wantDamage(t, b2, 1)
		b3 := b2.restart(mn)
		if got := historyTexts(t, b3, "#lunch"); !slices.Equal(got, numbered(0, 29)) {
			t.Errorf("after a restart bob's #lunch holds %q", got)
		}
		wantDamage(t, b3, 0) // not reported again after a restart
	})
}

// TestJournalFlippedBit: one bit of bob's journal flips in the middle.
// The record holding it fails its check: bob holds the messages of the
// records before it (a prefix, in order, none lost before the damage) and
// is told.
func TestJournalFlippedBit(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		b2 := crashed(t, peer.NewMemNet(5), 30, func(data []byte) []byte {
			recs, _, err := parseJournal(data)
			if err != nil || len(recs) < 30 {
				t.Fatalf("journal before the flip: %d records, %v", len(recs), err)
			}
			data[len(data)/2] ^= 0x10
			return data
		})
		damagedWarning(t, b2)
		got := historyTexts(t, b2, "#lunch")
		if len(got) < 10 || len(got) >= 30 || !slices.Equal(got, numbered(0, len(got))) {
			t.Errorf("after a flipped bit bob's #lunch holds %q", got)
		}
		wantDamage(t, b2, 1)
	})
}

// TestBytesPerMessageTaken: bob's #lunch holds 1,000 messages; alice says
// 200 more, one at a time. What bob writes to his rooms directory for
// them is of the order of the messages (at most 1 KiB each), plus at most
// one rewrite of the room (its journal folded into the snapshot), not a
// rewrite of the room per message.
func TestBytesPerMessageTaken(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(6)
		a, b := tookN(t, mn, 1000)
		b.run.mu.Lock()
		id, _ := b.run.st.Find("#lunch")
		sv, err := b.run.st.Export(id)
		b.run.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		room, err := encodeSaved(sv)
		if err != nil {
			t.Fatal(err)
		}
		if len(sv.Log) != 1000 { // rooms.MaxLog: the joins left it
			t.Fatalf("bob's log holds %d", len(sv.Log))
		}
		before := b.run.Stats().DiskBytes
		for i := range 200 {
			a.post("#lunch", fmt.Sprintf("n%d", i))
			b.texts("#lunch", 1)
		}
		written := b.run.Stats().DiskBytes - before
		t.Logf("bob wrote %d bytes for 200 messages taken (%d a message; the room's file is %d bytes)", written, written/200, len(room))
		if limit := uint64(len(room)) + 200*1024; written > limit {
			t.Errorf("bob wrote %d bytes for 200 messages taken, more than %d (one rewrite of the room and 1 KiB a message)", written, limit)
		}
	})
}
