package transfer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
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

// saveLocked has x's state written (m.mu held): it is queued for the saver
// goroutine, which writes it without m.mu. Only accepted transfers (and
// our ready offers) are kept. Its error is that of encoding the state.
// parts are partial files of x (partialName) the state records done: the
// saver removes them once it is written, and keeps them if it is not (a
// later run finds the name is the partial file).
func (m *Manager) saveLocked(x *xfer, parts ...string) error {
	if m.statePath(x) == "" || x.state.Final() || (!x.out && x.state == Offered) {
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
		return fmt.Errorf("transfer: save: %w", err)
	}
	m.queueStateLocked(stateOp{out: x.out, name: x.stateName, data: b, parts: parts})
	return nil
}

// forgetLocked has x's state file and its partial files removed (m.mu held;
// x is final). A transfer paused by a disk error keeps them: it is not
// final. Both go through the saver, without m.mu, after any write of the
// state queued before: the partial files first, then the state file (a
// run stopped in between finds a state without its partial files, and
// starts them again). pump delivers no event emitted after this before
// they are gone; fileWriter.open creates no partial file once x is final.
func (m *Manager) forgetLocked(x *xfer) {
	op := stateOp{out: x.out, name: x.stateName}
	if m.statePath(x) == "" {
		op.name = ""
	}
	if !x.out && x.lname != "" { // accepted: it may have partial files
		for i := range x.files {
			op.parts = append(op.parts, partialName(x, i))
		}
	}
	if op.name != "" || op.parts != nil {
		m.queueStateLocked(op)
	}
}

// stateOp is a state file to write (data) or remove (data nil), and
// partial files to remove with it: after the state is written (it records
// them done), before it is removed.
type stateOp struct {
	out   bool   // in Config.StateDir; else in the partial folder
	name  string // xfer.stateName; "": no state file, parts only
	data  []byte
	parts []string // partialName, in m.root
}

// queueStateLocked queues op for the saver (m.mu held). A newer op on the same
// file replaces one not written yet: the last word counts; the partial
// files of both are removed.
func (m *Manager) queueStateLocked(op stateOp) {
	k := stateKey{op.out, op.name}
	if old := m.saveq[k]; old == nil {
		m.saveOrder = append(m.saveOrder, k)
	} else if old.parts != nil {
		op.parts = append(old.parts[:len(old.parts):len(old.parts)], op.parts...)
	}
	m.saveq[k] = &op
	select {
	case m.saveNote <- struct{}{}:
	default:
	}
}

type stateKey struct {
	out  bool
	name string
}

// saver writes and removes state files, outside m.mu, until stop is
// closed and nothing is left to write.
func (m *Manager) saver(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		m.mu.Lock()
		order, q := m.saveOrder, m.saveq
		m.saveOrder, m.saveq = nil, map[stateKey]*stateOp{}
		m.saving = len(order) > 0
		m.mu.Unlock()
		for _, k := range order {
			m.carryOut(q[k])
		}
		m.mu.Lock()
		m.saving = false
		idle := len(m.saveOrder) == 0
		m.signalLocked()
		m.mu.Unlock()
		if !idle {
			continue
		}
		select {
		case <-m.saveNote:
		case <-stop:
			m.mu.Lock()
			idle := len(m.saveOrder) == 0
			m.mu.Unlock()
			if idle {
				return
			}
		}
	}
}

// flushState waits until the state files queued so far are written.
func (m *Manager) flushState() {
	for {
		m.mu.Lock()
		if len(m.saveOrder) == 0 && !m.saving {
			m.mu.Unlock()
			return
		}
		ch := m.changesLocked()
		m.mu.Unlock()
		select {
		case <-ch:
		case <-m.saverDone: // stopped: nothing more is written
			return
		}
	}
}

// carryOut carries out op (saver goroutine, without m.mu): the partial
// files go before the state file is removed, or after it is written.
func (m *Manager) carryOut(op *stateOp) {
	if op.data == nil {
		m.removeParts(op.parts)
	}
	if op.name == "" {
		return
	}
	if err := m.writeState(op); err != nil {
		m.log.Warn("transfer: state not saved", "err", err)
		return
	}
	if op.data != nil {
		m.removeParts(op.parts)
	}
}

func (m *Manager) removeParts(parts []string) {
	for _, p := range parts {
		_ = m.root.Remove(p)
	}
}

// writeState writes or removes op's state file (saver goroutine). The receiver's states live
// in the downloads folder, which others may have written before us: they
// go through m.root, to a fresh temporary name (O_EXCL: never through a
// planted link), renamed over the state file (a link there is replaced,
// not followed). Ours go the same way through a root on Config.StateDir.
func (m *Manager) writeState(op *stateOp) error {
	root, dir := m.root, partialDir
	if op.out {
		if err := os.MkdirAll(m.cfg.StateDir, 0o700); err != nil {
			return fmt.Errorf("transfer: save: %w", err)
		}
		r, err := os.OpenRoot(m.cfg.StateDir)
		if err != nil {
			return fmt.Errorf("transfer: save: %w", err)
		}
		defer r.Close()
		root, dir = r, "."
	} else if op.data != nil {
		if err := m.ensurePartialFolder(); err != nil {
			return fmt.Errorf("transfer: save: %w", err)
		}
	}
	name := path.Join(dir, op.name)
	if op.data == nil {
		if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("transfer: forget: %w", err)
		}
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(dir, fmt.Sprintf(".state-%x.tmp", rnd))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("transfer: save: %w", err)
	}
	_, err = f.Write(op.data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("transfer: save %s: %w", op.name, err)
	}
	return nil
}

// load takes in the transfers kept by an earlier run: they are paused and
// resume when their peer is back. New calls it before the manager is
// shared (no goroutine, handler or stream handler yet), so it calls the
// ...Locked methods without m.mu.
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
			m.addLocked(x)
			m.emitLocked(Event{Kind: EvFailed, ID: x.local, Code: CodeStopped, Resumable: true, Bytes: x.moved,
				Note: NoteInterrupted, Hint: HintDrop})
		}
	}
}

// loadOne reads the state file at p, which must be of an outgoing
// transfer if out, else of an incoming one.
func (m *Manager) loadOne(p string, out bool) (*xfer, error) {
	var b []byte
	var err error
	if out {
		b, err = os.ReadFile(p)
	} else {
		b, err = m.root.ReadFile(path.Join(partialDir, filepath.Base(p))) // a link cannot lead out
	}
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
	// Accepted before: paused until the peer is back; a sender's offer
	// never accepted (no key) is offered again.
	var key [32]byte
	state := Paused
	if err := unhex32(s.Key, &key); err != nil {
		if !s.Out {
			return nil, err
		}
		state = Offered
	}
	x := &xfer{out: s.Out, peerName: s.PeerName, key: key, state: state, wasLive: true, stateName: filepath.Base(p),
		sendSide: sendSide{ready: s.Out}} // a sender's offer is hashed already
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
