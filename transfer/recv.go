package transfer

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path"
	"sync/atomic"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// recvSession runs one data connection of an incoming transfer (wg held;
// release gives back the handshake budget nc took in serveStream).
// Nothing about the transfer changes until the sender has proved, on this
// connection, that it holds the transfer's key (recvHandshake): a hello
// replayed by someone who saw it, or a connection that fails before that,
// ends here and is only counted.
func (m *Manager) recvSession(nc net.Conn, r *bufio.Reader, from netip.AddrPort, release func()) {
	defer m.wg.Done()
	defer nc.Close()
	watchLink(nc)
	x, keys, ok := m.recvHandshake(nc, r, from)
	release()
	if !ok {
		return
	}
	select {
	case m.slots <- struct{}{}:
		defer func() { <-m.slots }()
	default:
		// maxStreams transfers are being received: the sender tries
		// again later (a lost link to it).
		m.sstats.noSlot.Add(1)
		return
	}
	m.mu.Lock()
	if (x.state.Final() && x.state != Done) || m.closed {
		m.mu.Unlock()
		return
	}
	if x.conn != nil {
		// An older connection, from before the link broke: the sender
		// proved it opened this one, so that one is dead to it.
		x.conn.Close()
	}
	x.conn = nc
	if x.turn == nil {
		x.turn = make(chan struct{}, 1)
	}
	turn := x.turn
	m.mu.Unlock()
	// An older connection of x may still be winding down: wait for it
	// (it was closed above), unless the manager stops.
	select {
	case turn <- struct{}{}:
		defer func() { <-turn }()
	case <-m.done:
		return
	}
	// The handshake's deadline ends here: every read and write from now
	// on has its own (ioTimeout), however long the transfer takes.
	_ = nc.SetDeadline(time.Time{})
	fr := newFrameReader(bufio.NewReaderSize(r, recvBuffer), keys.toReceiver)
	fw := newFrameWriter(deadlineWriter{nc}, keys.toSender)
	se := m.runRecv(x, nc, fr, fw)
	m.dropConn(x, nc, se)
}

// recvHandshake reads the hello, finds the transfer it names, answers with
// an authenticated status and checks the sender's proof of the key, all
// within handshakeTimeout. It reports the transfer and the connection's
// keys if the sender proved the key and the status was statusOK.
func (m *Manager) recvHandshake(nc net.Conn, r *bufio.Reader, from netip.AddrPort) (*xfer, *sessKeys, bool) {
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	h, err := readHello(r)
	if err != nil {
		m.sstats.badHello.Add(1)
		m.log.Debug("transfer: bad data connection", "from", from, "err", err)
		return nil, nil, false
	}
	h.receiver = m.pub
	status := statusOK
	m.mu.Lock()
	x := m.lookupLocked(&h)
	var key [32]byte
	if x != nil {
		key = x.key
		switch {
		case m.closed:
			status = statusBusy
		case x.state.Final() && x.state != Done:
			// A transfer done here is answered: its resume frame tells a
			// sender that missed the last verdict that every file is in.
			status = statusRefused
		}
	}
	m.mu.Unlock()
	if x == nil {
		// No transfer of ours that key could name: nothing to answer
		// with (a status needs the key). The sender takes the close as a
		// lost link.
		m.sstats.badHello.Add(1)
		m.log.Debug("transfer: data connection for no transfer", "from", from)
		return nil, nil, false
	}
	var rNonce [16]byte
	rand.Read(rNonce[:])
	keys, err := sessionKeys(&key, &h, rNonce)
	if err != nil {
		return nil, nil, false
	}
	reply := append(append([]byte{status}, rNonce[:]...), keys.replyMAC(status, &h, rNonce)...)
	if _, err := nc.Write(reply); err != nil || status != statusOK {
		return nil, nil, false
	}
	var proof [confirmLen]byte
	if _, err := io.ReadFull(r, proof[:]); err != nil || !hmac.Equal(proof[:], keys.senderMAC(&h, rNonce)) {
		m.sstats.unauthenticated.Add(1)
		m.log.Debug("transfer: data connection without the key", "from", from, "id", x.local, "err", err)
		return nil, nil, false
	}
	return x, keys, true
}

// lookupLocked finds the incoming transfer from h.sender whose lookup tag is
// h.tag, and sets h.transfer (m.mu held). Only accepted transfers have a
// key to match.
func (m *Manager) lookupLocked(h *hello) *xfer {
	for _, x := range m.all {
		if x.out || x.peerKey != h.sender || x.state == Offered || x.key == ([32]byte{}) {
			continue
		}
		h.transfer = x.tid
		if t := lookupTag(&x.key, h); hmac.Equal(t[:], h.tag[:]) {
			return x
		}
	}
	h.transfer = 0
	return nil
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
	m.log.Debug("transfer: receive session ended", "id", x.local, "err", se.err)
	if se.final {
		m.controlLocked(x, wire.KindCancel, wire.CodeFailed)
	}
	m.endedLocked(x, se)
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
		} else if st, err := m.root.Stat(partialName(x, i)); err == nil {
			off = min(st.Size(), int64(x.files[i].Size))
		}
		moved += off
		resume = binary.BigEndian.AppendUint64(resume, uint64(off))
		resume = append(resume, done)
	}
	if err := fw.write(frameResume, 0, 0, resume); err != nil {
		return lost(err)
	}
	if err := fw.flush(); err != nil {
		return lost(err)
	}
	m.mu.Lock()
	if x.conn != nc || x.state.Final() {
		m.mu.Unlock()
		return nil
	}
	x.applyLocked(inConnected)
	x.moved, x.sess, x.sessAt = moved, time.Now(), moved
	x.resumeAt, x.resumePending = moved, x.wasLive // announced once data flows (announceResumeLocked)
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
			// A frame that fails authentication (errProtocol) ends the
			// connection, not the transfer: anyone on the path can inject
			// one, and the next connection resumes.
			return lost(err)
		}
		switch f.typ {
		case frameData:
		case frameAbort:
			return fatal(CodePeerFailed, &Error{Cause: CauseSenderGaveUp})
		default:
			return fatal(CodeProtocol, &Error{Cause: CauseBadFrame, Index: int(f.typ)})
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

// fileWriter writes the files of one data connection in order; it is
// owned by that connection's goroutine (runRecv).
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
		return fatal(CodeProtocol, &Error{Cause: CauseOutOfOrder, Index: i, Due: w.cur})
	}
	size := int64(x.files[i].Size)
	if w.f == nil {
		if err := w.open(i); err != nil {
			return err
		}
	}
	if off != w.at || off+int64(len(data)) > size {
		return fatal(CodeProtocol, &Error{Cause: CauseBadRange, Index: i, Off: off, End: off + int64(len(data)), Have: w.at, Size: size})
	}
	if _, err := w.f.Write(data); err != nil {
		// Keep what is on disk what was written whole.
		_ = w.f.Truncate(w.at)
		// One event says it (endedLocked, with this cause): paused, resumable.
		return diskErr(&Error{Cause: CauseWrite, File: x.safe[i], Err: errors.Unwrap(err)})
	}
	w.at += int64(len(data))
	w.m.mu.Lock()
	x.moved += int64(len(data))
	w.m.mu.Unlock()
	return nil
}

// open opens the partial file of file i where it ends. It is created
// under m.mu and only while x is live: a cancel (forgetLocked, under m.mu)
// either comes first, and nothing is created, or after, and has it
// removed (by the saver, before the cancel's event is delivered).
func (w *fileWriter) open(i int) *sessErr {
	x := w.x
	testHook(hookOpen)
	w.m.mu.Lock()
	if x.state.Final() {
		w.m.mu.Unlock()
		return lostBy(CauseEnded)
	}
	err := w.m.ensurePartialFolder()
	var f *os.File
	if err == nil {
		f, err = w.m.root.OpenFile(partialName(x, i), os.O_RDWR|os.O_CREATE, 0o600)
	}
	w.m.mu.Unlock()
	if err != nil {
		return diskErr(&Error{Cause: CauseCreate, File: w.m.cfg.Downloads, Err: err})
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return diskErr(&Error{Cause: CauseCreate, File: w.m.cfg.Downloads, Err: err})
	}
	at := min(st.Size(), int64(x.files[i].Size))
	if st.Size() != at {
		_ = f.Truncate(at)
	}
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		f.Close()
		return diskErr(&Error{Cause: CauseCreate, File: w.m.cfg.Downloads, Err: err})
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
		testHook(hookFinalize)
		var aliveErr error
		err := w.m.verify(x, i, func(read int64) error {
			if aliveErr = fw.write(frameAlive, uint32(i), uint64(read), nil); aliveErr == nil {
				aliveErr = fw.flush()
			}
			return aliveErr
		})
		if aliveErr != nil {
			return false, lost(aliveErr)
		}
		if errors.Is(err, errMismatch) {
			_ = w.m.root.Remove(partialName(x, i))
			_ = fw.write(frameResult, uint32(i), 0, []byte{verdictMismatch})
			_ = fw.flush()
			return false, fatal(CodeHashMismatch, &Error{Cause: CauseMismatch, File: x.safe[i]})
		}
		if err != nil {
			_ = fw.write(frameResult, uint32(i), 0, []byte{verdictDisk})
			_ = fw.flush()
			return false, diskErr(causeOf(CauseReadBack, err))
		}
		// Named, recorded done and saved in one hold of m.mu, so that a
		// cancel comes either before (nothing is named) or after (the
		// file is done: it stays), and before the sender is told, so that
		// a connection lost before the verdict gets through resumes with
		// the file done (the resume frame says so) instead of sending it
		// again.
		w.m.mu.Lock()
		if x.state.Final() {
			w.m.mu.Unlock()
			return false, nil // cancelled while it was verified
		}
		final, err := w.m.nameLocked(x, i)
		if err != nil {
			w.m.mu.Unlock()
			_ = fw.write(frameResult, uint32(i), 0, []byte{verdictDisk})
			_ = fw.flush()
			return false, diskErr(causeOf(CauseLink, err))
		}
		x.fileDone[i], x.final[i] = true, final
		all := true
		for _, d := range x.fileDone {
			all = all && d
		}
		// Recorded done, the name is all: the saver removes the partial
		// file once the state is written.
		if err := w.m.saveLocked(x, partialName(x, i)); err != nil {
			// Kept: a later run finds the name is the partial file.
			w.m.log.Warn("transfer: state not saved", "err", err)
		}
		w.m.announceResumeLocked(x)
		w.m.emitLocked(Event{Kind: EvDone, ID: x.local, Path: final, Bytes: size, SHA256: hex.EncodeToString(x.files[i].SHA256[:]), Last: all,
			File: x.safe[i]})
		if all {
			// Done here whether or not the verdict gets through: a
			// sender that misses it learns it from the next connection's
			// resume frame (a transfer done is still answered). This
			// connection still carries the verdict: finish leaves it
			// open (recvSession closes it).
			x.conn = nil
			w.m.finishLocked(x, inVerified, Event{})
		}
		w.m.mu.Unlock()
		testHook(hookLinked)
		err = fw.write(frameResult, uint32(i), 0, []byte{verdictOK})
		if err == nil {
			err = fw.flush()
		}
		if err != nil {
			return false, lost(err)
		}
		if all {
			return true, nil
		}
		w.cur++
	}
	return true, nil
}

var errMismatch = errors.New("SHA-256 mismatch")

// verify hashes the partial file of file i as it is on disk (not as it
// was received: a disk that lost or changed bytes is caught) and compares
// it with the offer: errMismatch if it differs. It calls alive with the
// bytes read so far every aliveEvery, and stops if that fails.
func (m *Manager) verify(x *xfer, i int, alive func(read int64) error) error {
	f, err := m.root.Open(partialName(x, i))
	if err != nil {
		return &Error{Cause: CauseReadBack, File: x.safe[i], Err: errors.Unwrap(err)}
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	last := time.Now()
	for {
		k, err := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		testHook(hookVerifyChunk)
		if time.Since(last) >= aliveEvery {
			if err := alive(n); err != nil {
				return err
			}
			last = time.Now()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &Error{Cause: CauseReadBack, File: x.safe[i], Err: err}
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if n != int64(x.files[i].Size) || sum != x.files[i].SHA256 {
		return errMismatch
	}
	return nil
}

// nameLocked gives verified file i its final name, never over an existing file
// (m.mu held, so that no cancel comes in between). The partial name stays
// until the file is recorded done (the caller removes it then): a name
// that is already the partial file itself (the same inode, not through a
// symbolic link) was given by a run that stopped before it recorded the
// file done, and is kept, not doubled.
func (m *Manager) nameLocked(x *xfer, i int) (string, error) {
	part := partialName(x, i)
	partInfo, err := m.root.Lstat(part)
	if err != nil {
		return "", &Error{Cause: CauseLink, File: x.safe[i], Err: err}
	}
	name := x.safe[i]
	if dir := path.Dir(name); dir != "." {
		if err := m.root.MkdirAll(dir, 0o755); err != nil {
			return "", &Error{Cause: CauseMkdir, File: dir, Err: err}
		}
	}
	for k := 0; ; k++ {
		cand := name
		if k > 0 {
			cand = numbered(name, k)
		}
		err := m.root.Link(part, cand)
		if err == nil {
			_ = m.root.Chmod(cand, 0o644)
			return path.Join(m.cfg.Downloads, cand), nil
		}
		if !errors.Is(err, fs.ErrExist) || k >= 1000 {
			return "", &Error{Cause: CauseLink, File: cand, Err: err}
		}
		if st, err := m.root.Lstat(cand); err == nil && os.SameFile(st, partInfo) {
			_ = m.root.Chmod(cand, 0o644)
			return path.Join(m.cfg.Downloads, cand), nil
		}
	}
}

// Points in the receiver's file handling where a test can act (testHook).
const (
	hookOpen     = "open"     // a partial file is about to be opened or created
	hookFinalize = "finalize" // a file is complete, about to be verified
	hookLinked   = "linked"   // a file verified and named
	// a MiB of a file read back to verify it
	hookVerifyChunk = "verify-chunk"
)

// testHooks, set by tests only, runs at those points (nil: nothing).
var testHooks atomic.Pointer[func(point string)]

func testHook(point string) {
	if f := testHooks.Load(); f != nil {
		(*f)(point)
	}
}
