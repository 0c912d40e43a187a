package peer

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pinsFile holds the name -> key pins (trust on first use), one per line.
const pinsFile = "known_peers"

// pins remembers which key first used each nickname. With an empty path the
// pins live in memory only.
type pins struct {
	path string
	keys map[string][32]byte
}

func loadPins(home string) (*pins, error) {
	p := &pins{keys: map[string][32]byte{}}
	if home == "" {
		return p, nil
	}
	p.path = filepath.Join(home, pinsFile)
	f, err := os.Open(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peer: read pins: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, keyHex, ok := strings.Cut(line, " ")
		raw, err := hex.DecodeString(strings.TrimSpace(keyHex))
		if !ok || err != nil || len(raw) != 32 || ValidName(name) != nil {
			continue // a damaged line pins nothing
		}
		var k [32]byte
		copy(k[:], raw)
		p.keys[name] = k
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("peer: read pins: %w", err)
	}
	return p, nil
}

// lookup returns the key pinned to name.
func (p *pins) lookup(name string) ([32]byte, bool) {
	k, ok := p.keys[name]
	return k, ok
}

// pin binds name to key and saves the file.
func (p *pins) pin(name string, key [32]byte) error {
	p.keys[name] = key
	if p.path == "" {
		return nil
	}
	names := make([]string, 0, len(p.keys))
	for n := range p.keys {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# p2pchat: nickname -> public key, trusted on first use (see /whois, /trust)\n")
	for _, n := range names {
		k := p.keys[n]
		fmt.Fprintf(&b, "%s %s\n", n, hex.EncodeToString(k[:]))
	}
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("peer: save pins: %w", err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return fmt.Errorf("peer: save pins: %w", err)
	}
	return nil
}
