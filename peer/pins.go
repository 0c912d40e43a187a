package peer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pinsFile holds the name -> key pins (trust on first use), one per line:
// "name hex-key [last-used-unix-seconds]".
const pinsFile = "known_peers"

// maxPins bounds known_peers: a key gets at most one pin, and only for a name
// it really used with us (a message exchanged, or /trust), so this is the
// number of people one talks to; past it the pin used longest ago goes, if
// it is older than pinKeep (or the user asked, with /trust). Strangers
// minting keys and names therefore cannot push out the pins of people one
// talked to this month: past the bound, their names are not pinned.
const (
	maxPins = 1024
	pinKeep = 30 * 24 * time.Hour
)

// pins remembers which key holds each nickname. It has its own lock, so the
// file is written outside the node's: the node changes pins in memory and a
// saver writes snapshots. With an empty path the pins live in memory only.
//
// Concurrency: path is immutable after loadPins; mu guards the rest. mu is
// a leaf: taken under Node.mu or without it, nothing taken under it, and
// the file is written without it (save). Methods named ...Locked expect
// mu held.
type pins struct {
	path string // immutable

	mu    sync.Mutex          // guards names, keys, dirty
	names map[string]pinEntry // name -> its holder
	keys  map[[32]byte]string // key -> the one name it holds
	dirty bool
}

type pinEntry struct {
	key  [32]byte
	used int64 // Unix seconds of the last message exchanged under it
}

func loadPins(home string) (*pins, error) {
	p := &pins{names: map[string]pinEntry{}, keys: map[[32]byte]string{}}
	if home == "" {
		return p, nil
	}
	p.path = filepath.Join(home, pinsFile)
	// Read whole, not with a bufio.Scanner: a damaged line longer than the
	// scanner's buffer would fail the load (and the node's start) instead
	// of being skipped.
	data, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peer: read pins: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || ValidName(fields[0]) != nil {
			continue // a damaged line pins nothing
		}
		raw, err := hex.DecodeString(fields[1])
		if err != nil || len(raw) != 32 {
			continue
		}
		var e pinEntry
		copy(e.key[:], raw)
		if len(fields) > 2 {
			e.used, _ = strconv.ParseInt(fields[2], 10, 64)
		}
		p.setLocked(fields[0], e)
	}
	return p, nil
}

// lookup returns the key pinned to name.
func (p *pins) lookup(name string) ([32]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.names[name]
	return e.key, ok
}

// pin binds name to key (the key's earlier pin, and whoever held name before,
// lose theirs), in memory, and reports whether that changed the pins (then
// save has something to write). A pin in place only has its use refreshed.
func (p *pins) pin(name string, key [32]byte, now time.Time, byUser bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.names[name]; ok && e.key == key {
		e.used = now.Unix()
		p.names[name] = e
		return false
	}
	_, nameHeld := p.names[name]
	_, keyHolds := p.keys[key]
	if !byUser && !nameHeld && !keyHolds && len(p.names) >= maxPins && now.Sub(time.Unix(p.oldestUseLocked(), 0)) < pinKeep {
		return false // full of pins in use: a new name is not pinned
	}
	p.setLocked(name, pinEntry{key: key, used: now.Unix()})
	p.dirty = true
	return true
}

// oldestUseLocked is the use time of the pin used longest ago (p.mu held).
func (p *pins) oldestUseLocked() int64 {
	var oldest int64
	first := true
	for _, e := range p.names {
		if first || e.used < oldest {
			oldest, first = e.used, false
		}
	}
	return oldest
}

// setLocked binds name to e.key, keeping one pin per key and at most maxPins
// (p.mu held).
func (p *pins) setLocked(name string, e pinEntry) {
	if old, ok := p.names[name]; ok {
		delete(p.keys, old.key)
		delete(p.names, name) // (so that it is not counted below: re-pinning a name costs no other pin)
	}
	if old, ok := p.keys[e.key]; ok {
		delete(p.names, old)
	}
	for len(p.names) >= maxPins {
		var oldest string
		for n, x := range p.names {
			if oldest == "" || x.used < p.names[oldest].used || (x.used == p.names[oldest].used && n < oldest) {
				oldest = n
			}
		}
		delete(p.keys, p.names[oldest].key)
		delete(p.names, oldest)
	}
	p.names[name] = e
	p.keys[e.key] = name
}

// len is the number of pins.
func (p *pins) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.names)
}

// save writes the pins if they changed since the last save. It is called
// without the node's lock held.
func (p *pins) save() error {
	p.mu.Lock()
	if !p.dirty || p.path == "" {
		p.mu.Unlock()
		return nil
	}
	names := make([]string, 0, len(p.names))
	for n := range p.names {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# p2pchat: nickname -> public key [last used], trusted on first message (see /whois, /trust)\n")
	for _, n := range names {
		e := p.names[n]
		fmt.Fprintf(&b, "%s %s %d\n", n, hex.EncodeToString(e.key[:]), e.used)
	}
	p.dirty = false
	p.mu.Unlock()
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		p.markDirty()
		return fmt.Errorf("peer: save pins: %w", err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		p.markDirty()
		return fmt.Errorf("peer: save pins: %w", err)
	}
	return nil
}

func (p *pins) markDirty() {
	p.mu.Lock()
	p.dirty = true
	p.mu.Unlock()
}
