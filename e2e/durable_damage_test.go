package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/peer"
)

// TestDurableDamagedStore: alice queues 3 messages for bob, who is away,
// and is killed. One byte of the 2nd message's text in HOME/messages.db
// is flipped: the restarted alice warns about the damaged record (the
// outbox entry for bob's key) and bob, back, gets the 1st and 3rd. Then
// the same with the file's tail cut off (a torn write): alice starts, says
// what was damaged if anything was lost, and what survived reaches bob
// once, in order.
func TestDurableDamagedStore(t *testing.T) {
	sharedFirst(t)
	d := newDurableLab(t)
	alice, bob := d.startAlice(), d.startBob()
	d.exchange(alice, bob)
	bobID, err := peer.LoadIdentity(d.bobHome)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(d.aliceHome, "messages.db")

	// queueAndKill has bob quit, alice queue texts for him and be killed.
	queueAndKill := func(texts []string) {
		t.Helper()
		am := alice.Mark()
		quit(t, bob)
		alice.WaitFrom(t, am, msgTimeout, IsLeft("bob", "quit"))
		for _, s := range texts {
			alice.SendTo(t, "bob", s)
		}
		alice.Kill()
	}
	// warnings are the texts of p's warning events.
	warnings := func(p *Proc) []string {
		var w []string
		for _, e := range p.Events() {
			if e.Event == "warning" {
				w = append(w, e.Text)
			}
		}
		return w
	}
	// bobBack starts bob again and returns what alice's messages he shows
	// before a marker alice sends once he is back.
	bobBack := func(marker string) []string {
		t.Helper()
		bob = d.startBob()
		alice.WaitJoined(t, "bob")
		alice.SendTo(t, "bob", marker)
		end := bob.Wait(t, joinTimeout, IsMessage("alice", "bob", marker))
		return relMessages(bob.Events()[:end.Seq], "alice", "bob")
	}

	t.Run("flipped-byte", func(t *testing.T) {
		texts := []string{"first of three 5b1e", "second of three, damaged on disk 9c3a", "third of three d27f"}
		queueAndKill(texts)
		raw, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		// bbolt copies pages on write, so the text may be in the file more
		// than once (old copies in free pages): damage every copy.
		needle := []byte(texts[1])
		n := 0
		for i := 0; ; n++ {
			j := bytes.Index(raw[i:], needle)
			if j < 0 {
				break
			}
			raw[i+j+len(needle)/2] ^= 0x20
			i += j + len(needle)
		}
		if n == 0 {
			t.Fatalf("the text %q is not in %s (%d bytes): not stored, or not as plain bytes", texts[1], db, len(raw))
		}
		if err := os.WriteFile(db, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("flipped one byte in each of the %d copies of the 2nd message's text in messages.db", n)

		alice = d.startAlice()
		alice.Wait(t, msgTimeout, IsKind("warning"))
		w := warnings(alice)
		t.Logf("alice's warnings after the restart: %q", w)
		keyHex := fmt.Sprintf("%x", bobID.Public[:4])
		if !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "outbox") && strings.Contains(s, keyHex) }) {
			t.Errorf("alice, restarted on a messages.db with the 2nd message to bob damaged, gave the warnings %q: none names the damaged outbox record (for bob's key %s…)", w, keyHex)
		}
		if pe := findPeer(t, alice, "bob"); pe.Pending != 2 {
			t.Errorf("alice: /peers shows %d messages waiting for bob, want 2 (the 1st and 3rd; the damaged 2nd skipped)", pe.Pending)
		}
		want := []string{texts[0], texts[2]}
		got := bobBack("marker after the flipped byte")
		if !slices.Equal(got, want) {
			t.Errorf("bob, back after alice's store was damaged in the 2nd of 3 messages for him, was shown: %s", seqDiff(got, want))
		}
	})

	// Torn tails: the file cut short at several points, each time with
	// 5 messages queued for bob. Whatever is lost must be warned about.
	for _, tc := range []struct {
		name string
		cut  func(size int64) int64
	}{
		{"half-a-page-off", func(size int64) int64 { return size - 2048 }},
		{"half-the-file", func(size int64) int64 { return size/2/4096*4096 + 1000 }},
		{"meta-pages-only", func(size int64) int64 { return 2*4096 + 100 }},
	} {
		t.Run("torn-tail-"+tc.name, func(t *testing.T) {
			texts := relNumbered(tc.name+" before the torn write ", 5)
			queueAndKill(texts)
			st, err := os.Stat(db)
			if err != nil {
				t.Fatal(err)
			}
			size := tc.cut(st.Size())

			if err := os.Truncate(db, size); err != nil {
				t.Fatal(err)
			}
			t.Logf("messages.db cut from %d to %d bytes", st.Size(), size)

			alice = d.startAlice()
			waiting := 0
			if i := slices.IndexFunc(alice.Peers(t), func(pe PeerEntry) bool { return pe.Name == "bob" }); i >= 0 {
				waiting = alice.Peers(t)[i].Pending
			}
			got := bobBack("marker after the torn write " + tc.name)
			w := warnings(alice) // the restart's warnings are out long before the marker is through
			t.Logf("alice had %d waiting for bob after the restart, gave the warnings %q; bob was shown %d of the %d", waiting, w, len(got), len(texts))
			if err := checkSubsequence(got, texts); err != nil {
				t.Errorf("bob, back after alice's messages.db lost its tail: %v", err)
			}
			if len(got) < len(texts) && len(w) == 0 {
				t.Errorf("alice lost %d of the %d messages queued for bob when her messages.db was cut from %d to %d bytes, and gave no warning",
					len(texts)-len(got), len(texts), st.Size(), size)
			}
			// And the store works on: a message now is delivered.
			m := alice.Mark()
			ids := alice.SendTo(t, "bob", "after the repair "+tc.name)
			alice.WaitFrom(t, m, msgTimeout, IsDelivered("bob", ids[0]))
		})
	}
}

// checkSubsequence checks that got is want with some left out: no
// duplicates, nothing else, in want's order.
func checkSubsequence(got, want []string) error {
	i := 0
	for _, g := range got {
		for i < len(want) && want[i] != g {
			i++
		}
		if i == len(want) {
			return fmt.Errorf("shown %q, not a subsequence of the messages sent (duplicate, out of order or never sent): %s", g, seqDiff(got, want))
		}
		i++
	}
	return nil
}
