package peer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func memPins(t *testing.T) *pins {
	t.Helper()
	p, err := loadPins("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pinned is the name -> key map the pins hold, checked for one pin per key.
func pinned(t *testing.T, p *pins) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	for n, e := range p.names {
		m[n] = e.key
		if p.keys[e.key] != n {
			t.Fatalf("%s pinned to a key whose pin is %q", n, p.keys[e.key])
		}
	}
	if len(p.keys) != len(p.names) {
		t.Fatalf("%d keys for %d names: a key holds more than one pin", len(p.keys), len(p.names))
	}
	return m
}

type namedKey struct {
	name string
	key  [32]byte
}

// TestPinsOnePerKey: a key holds at most one pin, and a name one key.
func TestPinsOnePerKey(t *testing.T) {
	k1, k2 := testKey(1), testKey(2)
	for _, tc := range []struct {
		name string
		pins []namedKey
		want map[string][32]byte
	}{
		{"a key's new name replaces its old", []namedKey{{"alice", k1}, {"carol", k1}}, map[string][32]byte{"carol": k1}},
		{"a name's new key replaces its old", []namedKey{{"bob", k1}, {"bob", k2}}, map[string][32]byte{"bob": k2}},
		{"both at once", []namedKey{{"alice", k1}, {"bob", k2}, {"alice", k2}}, map[string][32]byte{"alice": k2}},
		{"the same again", []namedKey{{"alice", k1}, {"alice", k1}, {"bob", k2}}, map[string][32]byte{"alice": k1, "bob": k2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := memPins(t)
			for i, x := range tc.pins {
				p.pin(x.name, x.key, t0.Add(time.Duration(i)*time.Second), false)
			}
			if got := pinned(t, p); !maps.Equal(got, tc.want) {
				t.Fatalf("pins %v, want %v", got, tc.want)
			}
			for n, k := range tc.want {
				if got, ok := p.lookup(n); !ok || got != k {
					t.Fatalf("lookup(%s) = %x %v", n, got[:2], ok)
				}
			}
		})
	}
}

// fillPins pins maxPins names, name i last used at t0+i seconds.
func fillPins(p *pins) {
	for i := 0; i < maxPins; i++ {
		p.pin(fmt.Sprintf("n%d", i), testKey(1000+i), t0.Add(time.Duration(i)*time.Second), false)
	}
}

// TestPinsBounded: at most maxPins; past it the pin used longest ago goes,
// and a pin used again lately is kept.
func TestPinsBounded(t *testing.T) {
	p := memPins(t)
	fillPins(p)
	if p.len() != maxPins {
		t.Fatalf("%d pins, want %d", p.len(), maxPins)
	}
	late := t0.Add(pinKeep + time.Hour)     // the oldest pins are past pinKeep: they may go
	p.pin("n0", testKey(1000), late, false) // n0 used again: now n1 is the oldest
	p.pin("new", testKey(1), late, false)
	if p.len() != maxPins {
		t.Fatalf("%d pins, want %d", p.len(), maxPins)
	}
	if _, ok := p.lookup("n0"); !ok {
		t.Fatal("the pin used again was evicted")
	}
	if _, ok := p.lookup("n1"); ok {
		t.Fatal("the pin used longest ago was kept")
	}
	if _, ok := p.lookup("new"); !ok {
		t.Fatal("the new pin is missing")
	}
	pinned(t, p)
}

// TestPinsFloodKeepsRecentPins: past the bound, strangers minting keys and
// names cannot push out pins used within pinKeep; the user's /trust still
// can (the pin used longest ago goes).
func TestPinsFloodKeepsRecentPins(t *testing.T) {
	p := memPins(t)
	fillPins(p)
	soon := t0.Add(24 * time.Hour)
	for i := 0; i < 3*maxPins; i++ {
		if p.pin(fmt.Sprintf("sybil%d", i), testKey(5000+i), soon, false) {
			t.Fatalf("sybil%d was pinned into a full table of recent pins", i)
		}
	}
	if _, ok := p.lookup("n0"); !ok || p.len() != maxPins {
		t.Fatalf("the flood cost a pin: %d pins, n0 there: %v", p.len(), ok)
	}
	if !p.pin("friend", testKey(1), soon, true) {
		t.Fatal("/trust did not pin into a full table")
	}
	if _, ok := p.lookup("n0"); ok {
		t.Fatal("/trust into a full table kept the pin used longest ago")
	}
}

// TestPinsFullRepin: with the pins full, moving a name to a new key (/trust)
// or a key to a new name replaces that pin and costs nobody else theirs.
func TestPinsFullRepin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pin      string
		key      [32]byte
		gone     string // the pin that must be replaced
		wantName string
	}{
		{"name to a new key", "n500", testKey(1), "", "n500"},
		{"key to a new name", "fresh", testKey(1000 + 500), "n500", "fresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := memPins(t)
			fillPins(p)
			before := pinned(t, p)
			p.pin(tc.pin, tc.key, t0.Add(time.Hour), false)
			after := pinned(t, p)
			if after[tc.wantName] != tc.key {
				t.Fatalf("%s not pinned to the key", tc.wantName)
			}
			for n := range before {
				if _, ok := after[n]; !ok && n != tc.gone && n != tc.pin {
					t.Errorf("%s lost its pin", n)
				}
			}
		})
	}
}

func keyHex(i int) string { k := testKey(i); return hex.EncodeToString(k[:]) }

// TestPinsLoad: known_peers with damaged lines still loads the rest; the
// last-used time is kept, one pin per key holds for a file too.
func TestPinsLoad(t *testing.T) {
	lines := []string{
		"# p2pchat: comment",
		"",
		"alice " + keyHex(1) + " 1700000000",
		"bob " + keyHex(2), // no time: an older file
		"carol " + keyHex(3) + " garbage-time",
		"dave",                                  // no key
		"bad@name " + keyHex(4),                 // not a nickname
		"eve " + keyHex(5)[:62],                 // short key
		"frank " + strings.Repeat("zz", 32),     // not hex
		"gina " + keyHex(6) + "00",              // long key
		strings.Repeat("\x00\xff", 40<<10),      // binary garbage, one long line
		"  henry   " + keyHex(7) + "  12  ",     // extra spaces
		"ivan " + keyHex(1) + " 1700000001",     // alice's key again: the later line wins
		"\xff\xfe " + keyHex(8),                 // not UTF-8
		"judy " + keyHex(9) + " 5 extra fields", // extra fields ignored
	}
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, pinsFile), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := loadPins(home)
	if err != nil {
		t.Fatalf("a damaged known_peers does not load: %v", err)
	}
	want := map[string][32]byte{"bob": testKey(2), "carol": testKey(3), "henry": testKey(7), "ivan": testKey(1), "judy": testKey(9)}
	if got := pinned(t, p); !maps.Equal(got, want) {
		t.Fatalf("loaded %v, want %v", got, want)
	}
	for name, used := range map[string]int64{"ivan": 1700000001, "bob": 0, "carol": 0, "henry": 12, "judy": 5} {
		if got := p.names[name].used; got != used {
			t.Errorf("%s last used %d, want %d", name, got, used)
		}
	}
	if p.dirty {
		t.Error("loading made the pins dirty")
	}
}

// TestPinsLoadMissing: no known_peers is no pins; an unreadable one is an
// error that says what it is.
func TestPinsLoadMissing(t *testing.T) {
	p, err := loadPins(t.TempDir())
	if err != nil || p.len() != 0 {
		t.Fatalf("missing file: %d pins, %v", p.len(), err)
	}
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, pinsFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPins(home); err == nil || !strings.Contains(err.Error(), "pins") {
		t.Fatalf("a directory as known_peers: %v", err)
	}
}

// TestPinsSave: the pins file is written with mode 0600, only when the pins
// changed, and reads back as it was.
func TestPinsSave(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, pinsFile)
	p, err := loadPins(home)
	if err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		_, err := os.Stat(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	steps := []struct {
		name   string
		change func()
		writes bool
	}{
		{"nothing pinned yet", func() {}, false},
		{"a new pin", func() { p.pin("alice", testKey(1), t0, false) }, true},
		{"no change", func() {}, false},
		{"the same pin used again", func() { p.pin("alice", testKey(1), t0.Add(time.Hour), false) }, false},
		{"a second pin", func() { p.pin("bob", testKey(2), t0, false) }, true},
		{"a name to a new key", func() { p.pin("bob", testKey(3), t0, false) }, true},
		{"a key to a new name", func() { p.pin("carol", testKey(3), t0, false) }, true},
	}
	for _, st := range steps {
		if exists() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		st.change()
		if err := p.save(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if exists() != st.writes {
			t.Fatalf("%s: written=%v, want %v", st.name, exists(), st.writes)
		}
		if !st.writes {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, want 0600", st.name, fi.Mode().Perm())
		}
		back, err := loadPins(home)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := pinned(t, back), pinned(t, p); !maps.Equal(got, want) {
			t.Fatalf("%s: read back %v, want %v", st.name, got, want)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

// TestPinsSaveTightensMode: a known_peers readable by others (an older
// version, a restored backup) is replaced by one only the user can read.
func TestPinsSaveTightensMode(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, pinsFile)
	if err := os.WriteFile(path, []byte("alice "+keyHex(1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := loadPins(home)
	if err != nil {
		t.Fatal(err)
	}
	p.pin("bob", testKey(2), t0, false)
	if err := p.save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// TestPinsSaveFails: a save that fails says so and is tried again next
// time (the change is not lost); in-memory pins never write.
func TestPinsSaveFails(t *testing.T) {
	home := filepath.Join(t.TempDir(), "gone")
	p := &pins{path: filepath.Join(home, pinsFile), names: map[string]pinEntry{}, keys: map[[32]byte]string{}}
	p.pin("alice", testKey(1), t0, false)
	if err := p.save(); err == nil || !strings.Contains(err.Error(), "save pins") {
		t.Fatalf("save into a missing directory: %v", err)
	}
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := p.save(); err != nil {
		t.Fatal(err)
	}
	back, err := loadPins(home)
	if err != nil || back.len() != 1 {
		t.Fatalf("after the retry: %d pins, %v", back.len(), err)
	}

	mem := memPins(t)
	mem.pin("alice", testKey(1), t0, false)
	if err := mem.save(); err != nil {
		t.Fatal(err)
	}
}
