package e2e

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Helpers for the durable-message tests (issue 12): alice on the lab's
// first laptop, bob on the second, each with a home that outlives its
// processes, each told the other's address (-peer) so that a restarted
// process finds its peer at once instead of after an mDNS round.

// durableLab is a two-laptop lab with a home for alice and for bob.
type durableLab struct {
	t                  *testing.T
	lab                *testnet.Lab
	aliceHome, bobHome string
}

func newDurableLab(t *testing.T) *durableLab {
	t.Helper()
	return &durableLab{t: t, lab: testnet.New(t, 2), aliceHome: t.TempDir(), bobHome: t.TempDir()}
}

func (d *durableLab) aliceHost() *testnet.Host { return d.lab.Hosts[0] }
func (d *durableLab) bobHost() *testnet.Host   { return d.lab.Hosts[1] }

// aliceArgs are alice's flags besides -json -v -name -home.
func (d *durableLab) aliceArgs() []string { return []string{"-peer", peerAddr(d.bobHost())} }
func (d *durableLab) bobArgs() []string   { return []string{"-peer", peerAddr(d.aliceHost())} }

// startAlice starts (or restarts) alice with her home and waits until she
// is ready.
func (d *durableLab) startAlice() *Proc {
	d.t.Helper()
	return startWithHome(d.t, d.aliceHost(), "alice", d.aliceHome, d.aliceArgs()...)
}

func (d *durableLab) startBob() *Proc {
	d.t.Helper()
	return startWithHome(d.t, d.bobHost(), "bob", d.bobHome, d.bobArgs()...)
}

// exchange has alice and bob send each other one message, delivered, so
// that each has the other's name pinned in known_peers.
func (d *durableLab) exchange(alice, bob *Proc) {
	d.t.Helper()
	alice.WaitJoined(d.t, "bob")
	bob.WaitJoined(d.t, "alice")
	am, bm := alice.Mark(), bob.Mark()
	ids := alice.SendTo(d.t, "bob", "hello bob")
	bob.WaitFrom(d.t, bm, msgTimeout, IsMessage("alice", "bob", "hello bob"))
	alice.WaitFrom(d.t, am, msgTimeout, IsDelivered("bob", ids[0]))
	am, bm = alice.Mark(), bob.Mark()
	ids = bob.SendTo(d.t, "alice", "hello alice")
	alice.WaitFrom(d.t, am, msgTimeout, IsMessage("bob", "alice", "hello alice"))
	bob.WaitFrom(d.t, bm, msgTimeout, IsDelivered("alice", ids[0]))
}

// quit ends p as a user would (end of input, then its flush) and checks
// that it exited on its own.
func quit(t *testing.T, p *Proc) {
	t.Helper()
	start := time.Now()
	p.CloseStdin()
	code := p.ExitCode(t, exitTimeout)
	if code != 0 && code != exitQueued {
		t.Fatalf("%s: quit with exit code %d, want 0 (or %d: messages queued)\n%s", p, code, exitQueued, p.Report())
	}
	t.Logf("%s quit (end of input): exit %d after %v", p, code, time.Since(start).Round(time.Millisecond))
}

// exitQueued is p2pchat's exit code when input ended with messages still
// waiting for peers that are away (kept on disk).
const exitQueued = 4

// sendLines types `/to to TEXT` for every text without waiting for the
// answers. All of them together must fit in the stdin pipe (64 KiB), so
// that this never blocks, even if the process is killed meanwhile.
func sendLines(t *testing.T, p *Proc, to string, texts []string) {
	t.Helper()
	n := 0
	for _, s := range texts {
		n += len("/to  \n") + len(to) + len(s)
	}
	if n > 60<<10 {
		t.Fatalf("sendLines: %d bytes of input would not fit in the pipe", n)
	}
	for _, s := range texts {
		p.Send("/to " + to + " " + s)
	}
}

// seededRand is a math/rand source whose seed is logged, and taken from
// P2PCHAT_SEED if that is set, so that a failing run can be repeated.
func seededRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv("P2PCHAT_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("P2PCHAT_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random kill points from seed %d (P2PCHAT_SEED=%d repeats them)", seed, seed)
	return rand.New(rand.NewSource(seed))
}

// after blocks for d. It is not synchronisation: it picks the random
// moment at which a test kills a process while messages flow.
func after(d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	<-tm.C
}

// sentCount is how many message ids "sent" events to to gave in evs.
func sentCount(evs []Event, to string) int { return len(relSentIDs(evs, to)) }

// roundSent checks the "sent" events to to that a process printed in a
// round (evs: its events from the round's Mark on) against what it was
// given: given messages, each with a new id (a process numbers its
// messages in the order it takes them in, so the round's are the given
// ids after last, the highest id it had reported before the round). It
// returns how many ids the events gave, and a description of every id
// that breaks that: reported twice (with the events that did), already
// reported before the round, or, when there are more than given, beyond
// the given (with the event, its time after start, the round's start).
// "" when none does.
func roundSent(evs []Event, to string, last uint64, given int, start time.Time) (claimed int, problem string) {
	type report struct {
		seq int
		at  time.Duration
	}
	seen := map[uint64][]report{}
	var order []uint64
	var bad []string
	for _, e := range evs {
		if e.Event != "sent" || e.To != to {
			continue
		}
		for _, f := range e.IDs {
			claimed++
			id, err := strconv.ParseUint(string(f), 10, 64)
			if err != nil {
				bad = append(bad, fmt.Sprintf("id %q (not a number) in event #%d", f, e.Seq))
				continue
			}
			if seen[id] == nil {
				order = append(order, id)
			}
			seen[id] = append(seen[id], report{e.Seq, e.At.Sub(start).Round(time.Millisecond)})
		}
	}
	// Runs of consecutive ids with the same fault are told as one range.
	var (
		runKind          string
		runFrom, runTo   uint64
		runFirst, runEnd report
	)
	flush := func() {
		if runKind == "" {
			return
		}
		ids, evs := fmt.Sprintf("id %d", runFrom), fmt.Sprintf("event #%d, %v", runFirst.seq, runFirst.at)
		if runTo != runFrom {
			ids = fmt.Sprintf("ids %d to %d", runFrom, runTo)
			evs = fmt.Sprintf("events #%d to #%d, %v to %v", runFirst.seq, runEnd.seq, runFirst.at, runEnd.at)
		}
		bad = append(bad, fmt.Sprintf("%s (%s into the round) %s", ids, evs, runKind))
		runKind = ""
	}
	for _, id := range order {
		rs := seen[id]
		kind := ""
		switch {
		case len(rs) > 1:
			flush()
			bad = append(bad, fmt.Sprintf("id %d reported %d times (events, time into the round: %v)", id, len(rs), rs))
			continue
		case id <= last:
			kind = fmt.Sprintf("reported before the round too (its ids up to %d)", last)
		case id > last+uint64(given) && claimed > given:
			// (Only then: ids are consecutive only while nothing else
			// takes one, such as a room's message.)
			kind = fmt.Sprintf("beyond the %d given this round (%d to %d)", given, last+1, last+uint64(given))
		}
		if kind != runKind || id != runTo+1 {
			flush()
		}
		if kind == "" {
			continue
		}
		if runKind == "" {
			runKind, runFrom, runFirst = kind, id, rs[0]
		}
		runTo, runEnd = id, rs[0]
	}
	flush()
	if len(bad) == 0 && claimed <= given {
		return claimed, ""
	}
	const maxListed = 20
	more := ""
	if len(bad) > maxListed {
		more = fmt.Sprintf("; and %d more", len(bad)-maxListed)
		bad = bad[:maxListed]
	}
	return claimed, fmt.Sprintf("%d ids (%d distinct) for the %d given: %s%s", claimed, len(order), given, strings.Join(bad, "; "), more)
}

// lastSentID is the highest message id "sent" events to to gave in evs (0
// if none did).
func lastSentID(evs []Event, to string) uint64 {
	var last uint64
	for _, f := range relSentIDs(evs, to) {
		if id, err := strconv.ParseUint(string(f), 10, 64); err == nil {
			last = max(last, id)
		}
	}
	return last
}

// checkPrefix checks that got is want[:k] for some k >= atLeast: each of
// the first k shown once, in order, none missing before the last shown,
// and at least the first atLeast (those the sender said were on disk).
func checkPrefix(got, want []string, atLeast int) error {
	if atLeast > len(want) {
		// (A check, not a panic: sliced with it below, it took the whole
		// e2e run down with it.)
		return fmt.Errorf("the sender said %d messages were sent (on disk), but it was given %d", atLeast, len(want))
	}
	if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
		return fmt.Errorf("not the messages sent, once each and in order: %s", seqDiff(got, want[:min(len(want), max(len(got), atLeast))]))
	}
	if len(got) < atLeast {
		return fmt.Errorf("only the first %d shown, but the sender had said %d were sent (on disk): missing %v", len(got), atLeast, head(want[len(got):atLeast]))
	}
	return nil
}

// shownMark reads the shown mark a p2pchat keeps in HOME/shown (the
// inbox index of the last message it has shown; internal/store's format:
// the index, then its complement, little endian), for diagnostics.
func shownMark(t *testing.T, home string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "shown"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 16 || binary.LittleEndian.Uint64(b) != ^binary.LittleEndian.Uint64(b[8:]) {
		t.Fatalf("%s/shown is not a valid mark: %x", home, b)
	}
	return binary.LittleEndian.Uint64(b)
}

// dropReshownMarker handles the one documented exception at the start of a
// restarted bob's run in round r: the last round's marker, written out
// but not yet marked shown when he was killed, is shown again. It returns
// shown without it and the count of this round's messages the mark
// covers (the mark moved past the marker first), and counts the case.
func dropReshownMarker(t *testing.T, r int, shown []string, marked int, reshown *int) ([]string, int) {
	t.Helper()
	if r == 1 || len(shown) == 0 || shown[0] != fmt.Sprintf("round %02d marker", r-1) {
		return shown, marked
	}
	*reshown++
	t.Logf("round %d: bob was killed before he marked the last round's marker shown: his restarted run showed it again", r)
	return shown[1:], marked - 1
}
