package transfer

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// saved is what is kept on disk of an accepted transfer, so that it
// resumes after a restart: the receiver's next to its partial files, the
// sender's in its state folder. It holds the transfer key: mode 0600.
type saved struct {
	Out      bool        `json:"out"`
	TID      string      `json:"tid"`
	Local    string      `json:"local,omitempty"` // receiver: the local name of the partial files (partialName)
	PeerKey  string      `json:"peer_key"`
	PeerName string      `json:"peer_name"`
	Key      string      `json:"key,omitempty"`
	Files    []savedFile `json:"files"`
}

type savedFile struct {
	Name   string `json:"name"`
	Size   uint64 `json:"size"`
	SHA256 string `json:"sha256"`
	Src    string `json:"src,omitempty"`
	Mtime  int64  `json:"mtime,omitempty"`
	Done   bool   `json:"done,omitempty"`
	Final  string `json:"final,omitempty"`
}

// outStateName is the name of outgoing transfer x's state file in
// Config.StateDir: its id and the whole key of its peer.
func outStateName(x *xfer) string {
	return fmt.Sprintf("out-%016x-%s.json", x.tid, hex.EncodeToString(x.peerKey[:]))
}

// statePath is where x is kept: "" if it is not kept.
func (m *Manager) statePath(x *xfer) string {
	if x.stateName == "" {
		return ""
	}
	if x.out {
		if m.cfg.StateDir == "" {
			return ""
		}
		return filepath.Join(m.cfg.StateDir, x.stateName)
	}
	return filepath.Join(m.cfg.Downloads, partialDir, x.stateName)
}

// save writes x's state (m.mu held). Only accepted transfers (and our
// ready offers) are kept.
func (m *Manager) save(x *xfer) error {
	p := m.statePath(x)
	if p == "" || x.state.Final() || (!x.out && x.state == Offered) {
		return nil
	}
	s := saved{Out: x.out, TID: fmt.Sprintf("%016x", x.tid), Local: x.lname, PeerKey: hex.EncodeToString(x.peerKey[:]), PeerName: x.peerName}
	if x.key != ([32]byte{}) {
		s.Key = hex.EncodeToString(x.key[:])
	}
	for i, f := range x.files {
		sf := savedFile{Name: f.Name, Size: f.Size, SHA256: hex.EncodeToString(f.SHA256[:]), Done: x.fileDone[i]}
		if x.out {
			sf.Src = x.srcs[i]
			if i < len(x.stamps) {
				sf.Mtime = x.stamps[i].mtime.UnixNano()
			}
		} else if x.final != nil {
			sf.Final = x.final[i]
		}
		s.Files = append(s.Files, sf)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("transfer: save: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("transfer: save: %w", err)
	}
	return os.Rename(tmp, p)
}

// forget removes x's state and, unless it is done, its partial files
// (m.mu held). A transfer paused by a disk error keeps them: it is not
// final.
func (m *Manager) forget(x *xfer) {
	if p := m.statePath(x); p != "" {
		os.Remove(p)
	}
	if !x.out && x.lname != "" { // accepted: it may have partial files
		for i := range x.files {
			_ = m.root.Remove(partialName(x, i))
		}
	}
}

// load takes in the transfers kept by an earlier run: they are paused and
// resume when their peer is back.
func (m *Manager) load() {
	type place struct {
		pattern string
		out     bool // what states it may hold
	}
	// Received transfers are kept next to their partial files, ours in
	// HOME: a state file is taken only from its own place. The downloads
	// folder may be shared: an outgoing state planted there would send
	// any file we can read.
	places := []place{{filepath.Join(m.cfg.Downloads, partialDir, "*.json"), false}}
	if m.cfg.StateDir != "" {
		places = append(places, place{filepath.Join(m.cfg.StateDir, "out-*.json"), true})
	}
	for _, pl := range places {
		paths, _ := filepath.Glob(pl.pattern)
		for _, p := range paths {
			x, err := m.loadOne(p, pl.out)
			if err != nil {
				m.stats.StatesRefused++
				m.log.Warn("transfer: ignoring a state file", "path", p, "err", err)
				continue
			}
			if m.byTID[tkey{x.peerKey, x.tid, x.out}] != nil {
				continue
			}
			m.add(x)
			m.emitLocked(Event{Kind: EvFailed, ID: x.local, Code: CodeStopped, Resumable: true, Bytes: x.moved,
				Text: fmt.Sprintf("%s %s %s was interrupted: it resumes when %s is back (/cancel %d drops it)", x.what(), x.dir("to", "from"), x.peerName, x.peerName, x.local)})
		}
	}
}

// loadOne reads the state file at p, which must be of an outgoing
// transfer if out, else of an incoming one.
func (m *Manager) loadOne(p string, out bool) (*xfer, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Out != out {
		return nil, fmt.Errorf("the state of an %s transfer, in the place of %s ones", map[bool]string{true: "outgoing", false: "incoming"}[s.Out], map[bool]string{true: "outgoing", false: "incoming"}[out])
	}
	x := &xfer{out: s.Out, peerName: s.PeerName, state: Paused, wasLive: true, ready: true, stateName: filepath.Base(p)}
	if _, err := fmt.Sscanf(s.TID, "%x", &x.tid); err != nil || x.tid == 0 {
		return nil, fmt.Errorf("bad transfer id %q", s.TID)
	}
	if !s.Out {
		x.lname = s.Local
		if x.lname == "" {
			x.lname = fmt.Sprintf("%016x", x.tid) // an earlier version's: named by the id
		}
		if !validLocalName(x.lname) {
			return nil, fmt.Errorf("bad local name %q", s.Local)
		}
	}
	if err := unhex32(s.PeerKey, &x.peerKey); err != nil {
		return nil, err
	}
	if err := unhex32(s.Key, &x.key); err != nil {
		if s.Out {
			x.state = Offered // offered, never accepted: offer again
		} else {
			return nil, err
		}
	}
	x.peerID = peer.KeyID(&x.peerKey)
	if len(s.Files) == 0 || len(s.Files) > wire.MaxOfferFiles {
		return nil, fmt.Errorf("%d files", len(s.Files))
	}
	for _, f := range s.Files {
		var e wire.FileEntry
		e.Name, e.Size = f.Name, f.Size
		if err := unhex32(f.SHA256, &e.SHA256); err != nil {
			return nil, err
		}
		x.files = append(x.files, e)
		x.fileDone = append(x.fileDone, f.Done)
		x.total += int64(f.Size)
		if f.Done {
			x.moved += int64(f.Size)
		}
		if s.Out {
			x.srcs = append(x.srcs, f.Src)
			st, err := os.Stat(f.Src)
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", f.Src, err)
			}
			x.stamps = append(x.stamps, fileStamp{size: int64(f.Size), mtime: st.ModTime()})
			if st.ModTime().UnixNano() != f.Mtime || st.Size() != int64(f.Size) {
				x.stamps[len(x.stamps)-1].size = -1 // changed: sending it fails with source-changed
			}
		} else {
			safe, err := SanitizeName(f.Name)
			if err != nil {
				return nil, err
			}
			x.safe = append(x.safe, safe)
			x.final = append(x.final, f.Final)
		}
	}
	if !s.Out {
		x.hashers = make([]*fileHash, len(x.files))
	}
	return x, nil
}

func unhex32(s string, out *[32]byte) error {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return fmt.Errorf("bad key %q", s)
	}
	copy(out[:], b)
	return nil
}
