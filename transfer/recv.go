package transfer

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// recvSession runs one data connection of an incoming transfer (wg held).
func (m *Manager) recvSession(nc net.Conn, r *bufio.Reader, from netip.AddrPort) {
	defer m.wg.Done()
	defer nc.Close()
	watchLink(nc)
	_ = nc.SetDeadline(time.Now().Add(helloTimeout))
	h, err := readHello(r)
	if err != nil || h.receiver != m.pub {
		m.log.Debug("transfer: bad data connection", "from", from, "err", err)
		return
	}
	status := statusOK
	m.mu.Lock()
	x := m.byTID[tkey{h.sender, h.transfer, false}]
	switch {
	case x == nil:
		status = statusUnknown
	case x.state == Offered || (x.state.Final() && x.state != Done) || m.closed:
		// A transfer done here is answered: its resume frame tells a
		// sender that missed the last verdict that every file is in.
		status = statusRefused
	default:
		if x.conn != nil {
			x.conn.Close() // an older connection, from before the link broke
		}
		x.conn = nc
	}
	var key [32]byte
	if x != nil {
		key = x.key
	}
	m.mu.Unlock()
	if status == statusOK {
		// An older connection of x may still be winding down: wait for it.
		x.sessMu.Lock()
		defer x.sessMu.Unlock()
	}
	var rNonce [16]byte
	rand.Read(rNonce[:])
	if _, err := nc.Write(append([]byte{status}, rNonce[:]...)); err != nil || status != statusOK {
		m.dropConn(x, nc, lost("%v", err))
		return
	}
	toR, toS, err := sessionKeys(&key, &h, rNonce)
	if err != nil {
		m.dropConn(x, nc, fatal(CodeProtocol, "%v", err))
		return
	}
	// The handshake's deadline ends here: every read and write from now
	// on has its own (ioTimeout), however long the transfer takes.
	_ = nc.SetDeadline(time.Time{})
	fr := newFrameReader(bufio.NewReaderSize(r, recvBuffer), toR)
	fw := newFrameWriter(deadlineWriter{nc}, toS)
	se := m.runRecv(x, nc, fr, fw)
	m.dropConn(x, nc, se)
}

// dropConn ends connection nc of x (x may be nil) for reason se.
func (m *Manager) dropConn(x *xfer, nc net.Conn, se *sessErr) {
	if x == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if x.conn != nc {
		return // replaced by a newer connection
	}
	x.conn = nil
	if se == nil || x.state.Final() {
		return
	}
	m.log.Debug("transfer: receive session ended", "id", x.local, "err", se.text)
	if se.final {
		m.control(x, wire.KindCancel, wire.CodeFailed)
	}
	m.ended(x, se)
}

// runRecv speaks the receiver's side of a data connection.
func (m *Manager) runRecv(x *xfer, nc net.Conn, fr *frameReader, fw *frameWriter) *sessErr {
	n := len(x.files)
	resume := make([]byte, 0, 9*n)
	var moved int64
	for i := range n {
		var off int64
		done := byte(0)
		if x.fileDone[i] {
			off, done = int64(x.files[i].Size), 1
		} else if st, err := m.root.Stat(partialName(x.tid, i)); err == nil {
			off = min(st.Size(), int64(x.files[i].Size))
		}
		moved += off
		resume = binary.BigEndian.AppendUint64(resume, uint64(off))
		resume = append(resume, done)
	}
	if err := fw.write(frameResume, 0, 0, resume); err != nil {
		return lost("%v", err)
	}
	if err := fw.flush(); err != nil {
		return lost("%v", err)
	}
	m.mu.Lock()
	if x.conn != nc || x.state.Final() {
		m.mu.Unlock()
		return nil
	}
	x.state, _ = step(x.state, inConnected)
	x.moved, x.sess, x.sessAt = moved, time.Now(), moved
	x.resumeAt, x.resumePending = moved, x.wasLive // announced once data flows (announceResume)
	x.wasLive = true
	m.mu.Unlock()

	m.busy(1)
	defer m.busy(-1)
	w := &fileWriter{m: m, x: x}
	defer w.close()
	// Empty files need no data.
	if done, se := w.advance(fw); done || se != nil {
		return se
	}
	for {
		_ = nc.SetReadDeadline(time.Now().Add(ioTimeout))
		f, err := fr.read()
		if err != nil {
			if errors.Is(err, errProtocol) {
				return fatal(CodeProtocol, "%v", err)
			}
			return lost("%v", err)
		}
		switch f.typ {
		case frameData:
		case frameAbort:
			return fatal(CodePeerFailed, "the sender gave up (a source file changed or could not be read)")
		default:
			return fatal(CodeProtocol, "unexpected frame %d", f.typ)
		}
		if se := w.write(int(f.file), int64(f.off), f.data); se != nil {
			if se.code == CodeDiskError {
				_ = fw.write(frameResult, uint32(f.file), 0, []byte{verdictDisk})
				_ = fw.flush()
			}
			return se
		}
		if done, se := w.advance(fw); done || se != nil {
			return se
		}
	}
}

// fileWriter writes the files of one data connection in order.
type fileWriter struct {
	m   *Manager
	x   *xfer
	cur int      // the file due
	f   *os.File // its partial file, open
	at  int64    // bytes of it on disk
}

func (w *fileWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// write writes data at off of file i, which must be the file due, right
// where its partial file ends, and within its offered size.
func (w *fileWriter) write(i int, off int64, data []byte) *sessErr {
	x := w.x
	if i != w.cur || i >= len(x.files) {
		return fatal(CodeProtocol, "data for file %d while file %d is due", i, w.cur)
	}
	size := int64(x.files[i].Size)
	if w.f == nil {
		if err := w.open(i); err != nil {
			return err
		}
	}
	if off != w.at || off+int64(len(data)) > size {
		return fatal(CodeProtocol, "data at %d..%d of file %d, which has %d of %d bytes", off, off+int64(len(data)), i, w.at, size)
	}
	if _, err := w.f.Write(data); err != nil {
		// Keep what is on disk consistent with what was hashed.
		_ = w.f.Truncate(w.at)
		// One event says it (ended, with this text): paused, resumable.
		return &sessErr{code: CodeDiskError, text: fmt.Sprintf("cannot write %s: %v; the partial file is kept: free some space and the transfer resumes",
			shortName(x.safe[i]), errors.Unwrap(err))}
	}
	hs := x.hashers[i]
	hs.h.Write(data)
	hs.at += int64(len(data))
	w.at += int64(len(data))
	w.m.mu.Lock()
	x.moved += int64(len(data))
	w.m.mu.Unlock()
	return nil
}

// open opens the partial file of file i where it ends, and brings its hash
// up to there (reading what an earlier connection or run wrote).
func (w *fileWriter) open(i int) *sessErr {
	x := w.x
	f, err := w.m.root.OpenFile(partialName(x.tid, i), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return &sessErr{code: CodeDiskError, text: fmt.Sprintf("cannot write in %s: %v", w.m.cfg.Downloads, err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return &sessErr{code: CodeDiskError, text: err.Error()}
	}
	at := min(st.Size(), int64(x.files[i].Size))
	if st.Size() != at {
		_ = f.Truncate(at)
	}
	hs := x.hashers[i]
	if hs == nil || hs.at != at {
		hs = &fileHash{h: sha256.New()}
		if _, err := io.Copy(hs.h, io.NewSectionReader(f, 0, at)); err != nil {
			f.Close()
			return &sessErr{code: CodeDiskError, text: err.Error()}
		}
		hs.at = at
		x.hashers[i] = hs
	}
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		f.Close()
		return &sessErr{code: CodeDiskError, text: err.Error()}
	}
	w.f, w.at = f, at
	return nil
}

// advance finishes every file due that is complete (verifying it and
// telling the sender) and moves on to the next; it reports whether the
// transfer is complete.
func (w *fileWriter) advance(fw *frameWriter) (bool, *sessErr) {
	x := w.x
	for w.cur < len(x.files) {
		i := w.cur
		if x.fileDone[i] {
			w.cur++
			continue
		}
		size := int64(x.files[i].Size)
		if w.f == nil {
			if se := w.open(i); se != nil {
				return false, se
			}
		}
		if w.at < size {
			return false, nil
		}
		w.close()
		final, err := w.m.finalize(x, i)
		if errors.Is(err, errMismatch) {
			_ = fw.write(frameResult, uint32(i), 0, []byte{verdictMismatch})
			_ = fw.flush()
			return false, fatal(CodeHashMismatch, "%s did not match its SHA-256: discarded", shortName(x.safe[i]))
		}
		if err != nil {
			_ = fw.write(frameResult, uint32(i), 0, []byte{verdictDisk})
			_ = fw.flush()
			return false, &sessErr{code: CodeDiskError, text: err.Error()}
		}
		// The file is in under its name: that is recorded (and saved)
		// before the sender is told, so that a connection lost before
		// the verdict gets through resumes with the file done (the
		// resume frame says so) instead of sending it again.
		w.m.mu.Lock()
		x.fileDone[i], x.final[i] = true, final
		all := true
		for _, d := range x.fileDone {
			all = all && d
		}
		if err := w.m.save(x); err != nil {
			w.m.log.Warn("transfer: state not saved", "err", err)
		}
		w.m.announceResume(x)
		w.m.emitLocked(Event{Kind: EvDone, ID: x.local, Path: final, Bytes: size, SHA256: hex.EncodeToString(x.files[i].SHA256[:]), Last: all,
			Text: fmt.Sprintf("received %s (%s) from %s, SHA-256 verified", shortName(final), FormatBytes(size), x.peerName)})
		w.m.mu.Unlock()
		err = fw.write(frameResult, uint32(i), 0, []byte{verdictOK})
		if err == nil {
			err = fw.flush()
		}
		if all {
			// Done here whether or not the verdict got through: a sender
			// that missed it learns it from the next connection's resume
			// frame (a transfer done is still answered).
			w.m.mu.Lock()
			w.m.finish(x, Done, "", "")
			w.m.mu.Unlock()
		}
		if err != nil {
			return false, lost("%v", err)
		}
		if all {
			return true, nil
		}
		w.cur++
	}
	return true, nil
}

var errMismatch = errors.New("SHA-256 mismatch")

// finalize checks file i's hash and gives it its final name, never over
// an existing file; on a mismatch the data is deleted.
func (m *Manager) finalize(x *xfer, i int) (string, error) {
	part := partialName(x.tid, i)
	var sum [32]byte
	copy(sum[:], x.hashers[i].h.Sum(nil))
	if sum != x.files[i].SHA256 {
		_ = m.root.Remove(part)
		x.hashers[i] = nil
		return "", errMismatch
	}
	name := x.safe[i]
	if dir := path.Dir(name); dir != "." {
		if err := m.root.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("cannot make folder %s: %w", dir, err)
		}
	}
	for k := 0; ; k++ {
		cand := name
		if k > 0 {
			cand = numbered(name, k)
		}
		err := m.root.Link(part, cand)
		if err == nil {
			_ = m.root.Remove(part)
			_ = m.root.Chmod(cand, 0o644)
			return path.Join(m.cfg.Downloads, cand), nil
		}
		if !errors.Is(err, fs.ErrExist) || k >= 1000 {
			return "", fmt.Errorf("cannot name %s: %w", cand, err)
		}
	}
}
