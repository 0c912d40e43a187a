package transfer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStateSymlinkNotFollowed: a symbolic link planted in the partial
// folder at a state file's name (or its temporary name) is not followed
// when the receiver saves its state: the file it points to, outside the
// downloads folder, is unchanged.
func TestStateSymlinkNotFollowed(t *testing.T) {
	t.Parallel()
	s := newFakeSide(t, true, nil)
	alice := s.n.addPeer("alice", true)
	victim := filepath.Join(t.TempDir(), "victim.conf")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	const tid = 0x5ec0000000000002
	base := filepath.Join(s.dl, partialDir, fmt.Sprintf("%016x-%x.json", uint64(tid), alice.key[:4]))
	for _, p := range []string{base, base + ".tmp"} {
		if err := os.Symlink(victim, p); err != nil {
			t.Fatal(err)
		}
	}
	s.m.onControl(alice.offer(tid, "f.bin", 1000), time.Now())
	id := offerID(s.m, alice, tid)
	if err := s.m.Accept(id); err != nil {
		t.Fatal(err)
	}
	s.m.flushState()
	got, _ := os.ReadFile(victim)
	t.Logf("%s (outside the downloads folder) now holds: %.60q", victim, got)
	if string(got) != "keep" {
		t.Errorf("the receiver's state went through a planted link, outside the downloads folder")
	}

	// A link planted at the state file's own name, once it exists, is
	// replaced by the next save, not followed.
	var state string
	ents, _ := os.ReadDir(filepath.Join(s.dl, partialDir))
	for _, e := range ents {
		if e.Type().IsRegular() && filepath.Ext(e.Name()) == ".json" {
			state = filepath.Join(s.dl, partialDir, e.Name())
		}
	}
	if state == "" {
		t.Fatalf("no state file saved: %v", ents)
	}
	os.Remove(state)
	for _, p := range []string{state, state + ".tmp"} { // its name, and the temporary name a save used to write
		if err := os.Symlink(victim, p); err != nil {
			t.Fatal(err)
		}
	}
	x := xferOf(t, s.m, id)
	s.m.mu.Lock()
	s.m.saveLocked(x)
	s.m.mu.Unlock()
	s.m.flushState()
	got, _ = os.ReadFile(victim)
	st, err := os.Lstat(state)
	t.Logf("after a link at %s: %s holds %.60q; the state file is %v", filepath.Base(state), filepath.Base(victim), got, st.Mode())
	if err != nil || !st.Mode().IsRegular() || string(got) != "keep" {
		t.Errorf("a link at the state file's name was followed (or not replaced): %v", err)
	}
}
