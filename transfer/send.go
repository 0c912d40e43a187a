package transfer

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// sessErr is how a data connection ended: final ones end the transfer.
// err is what the event says (Event.Err).
type sessErr struct {
	code  Code
	final bool
	err   *Error
}

func (e *sessErr) Error() string { return e.err.Error() }

// lost is a lost link because of err (an *Error, or cause CauseConn).
func lost(err error) *sessErr {
	return &sessErr{code: CodeLinkLost, err: causeOf(CauseConn, err)}
}

// lostBy is a lost link for cause c.
func lostBy(c Cause) *sessErr {
	return &sessErr{code: CodeLinkLost, err: &Error{Cause: c}}
}

// fatal ends the transfer with code for e.
func fatal(code Code, e *Error) *sessErr {
	return &sessErr{code: code, final: true, err: e}
}

// diskErr is a disk error (resumable): e says which.
func diskErr(e *Error) *sessErr {
	return &sessErr{code: CodeDiskError, err: e}
}

// sendSession runs one data connection of an outgoing transfer.
func (m *Manager) sendSession(x *xfer, addr netip.AddrPort) {
	defer m.wg.Done()
	dial := m.dial
	if dial == nil {
		dial = func(a netip.AddrPort) (net.Conn, error) { return net.DialTimeout("tcp", a.String(), dialTimeout) }
	}
	nc, err := dial(addr)
	var se *sessErr
	if err != nil {
		se = lost(&Error{Cause: CauseDial, Err: err}) // "dial tcp ADDR: ..."
	} else {
		watchLink(nc)
		se = m.runSend(x, nc)
		nc.Close()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	x.dialing = false
	if x.conn == nc {
		x.conn = nil
	}
	if x.state.Final() || se == nil {
		return
	}
	m.log.Debug("transfer: send session ended", "id", x.local, "err", se.err)
	x.pauseWhy = se.err
	if se.final {
		m.controlLocked(x, wire.KindCancel, wire.CodeFailed)
	}
	m.endedLocked(x, se)
}

// endedLocked handles the end of a data connection that did not finish x (m.mu
// held): a final error ends the transfer, a lost link pauses it.
// A connection the peer closed because it cancelled ends before its cancel
// arrives on the chat channel, so a lost link is reported endGrace later,
// unless the cancel came meanwhile.
func (m *Manager) endedLocked(x *xfer, se *sessErr) {
	x.resumePending = false // it did not last: no resume to announce
	if pc := x.peerCancel; !se.final && pc != nil {
		m.finishLocked(x, inCancel, *pc)
		return
	}
	if se.final {
		m.finishLocked(x, inFail, Event{Code: se.code, Note: NoteFailed, Err: se.err})
		return
	}
	if x.state != Active {
		return
	}
	x.lostSeq++
	seq := x.lostSeq
	m.later(endGrace, func() {
		if x.state != Active || x.lostSeq != seq || x.conn != nil {
			return // finished, or a new connection runs already
		}
		x.applyLocked(inLost)
		if x.pauseShown == se.code {
			return // said already, and it has not resumed since (a full disk, tried again)
		}
		x.pauseShown = se.code
		m.emitLocked(Event{Kind: EvFailed, ID: x.local, Code: se.code, Resumable: true, Bytes: x.moved,
			Note: NotePaused, Err: se.err})
	})
}

// resumeQuiet is how long a new data connection of a paused transfer must
// last, data flowing, before the resume is announced: a try that fails at
// once (the receiver's disk is still full) says nothing, so the pause is
// said once until something changes.
const resumeQuiet = 500 * time.Millisecond

// announceResumeLocked tells that x resumed, if a connection after a pause has
// not said so yet (m.mu held). Called once the connection has lasted
// resumeQuiet with data flowing (tick), or when it completes a file.
func (m *Manager) announceResumeLocked(x *xfer) {
	if !x.resumePending {
		return
	}
	x.resumePending, x.pauseShown = false, ""
	m.emitLocked(Event{Kind: EvResumed, ID: x.local, Bytes: x.resumeAt})
}

// runSend speaks the sender's side of a data connection.
func (m *Manager) runSend(x *xfer, nc net.Conn) *sessErr {
	m.mu.Lock()
	h := hello{sender: m.pub, receiver: x.peerKey, transfer: x.tid}
	key := x.key
	m.mu.Unlock()
	rand.Read(h.nonce[:])
	h.tag = lookupTag(&key, &h)
	_ = nc.SetDeadline(time.Now().Add(helloTimeout))
	if _, err := nc.Write(h.marshal()); err != nil {
		return lost(err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	var reply [replyLen]byte
	if _, err := io.ReadFull(br, reply[:]); err != nil {
		// A receiver that does not know the transfer closes without a
		// word (it has no key to sign one with): a lost link here too.
		return lost(&Error{Cause: CauseNoAnswer, Err: err})
	}
	status := reply[0]
	var rNonce [16]byte
	copy(rNonce[:], reply[1:17])
	keys, err := sessionKeys(&key, &h, rNonce)
	if err != nil {
		return lost(err)
	}
	if !hmac.Equal(reply[17:], keys.replyMAC(status, &h, rNonce)) {
		// Not from the receiver (it would know the key): whoever answered
		// cannot end the transfer.
		return lostBy(CauseForgedAnswer)
	}
	switch status {
	case statusOK:
	case statusRefused:
		return fatal(CodePeerCancelled, &Error{Cause: CauseRefused})
	default:
		return lostBy(CauseBusy)
	}
	if _, err := nc.Write(keys.senderMAC(&h, rNonce)); err != nil {
		return lost(err)
	}
	fr := newFrameReader(br, keys.toSender)
	fw := newFrameWriter(deadlineWriter{nc}, keys.toReceiver)
	f, err := fr.read()
	if err != nil {
		return lost(err)
	}
	n := len(x.files)
	if f.typ != frameResume || len(f.data) != 9*n {
		return fatal(CodeProtocol, &Error{Cause: CauseNoResume})
	}
	offsets := make([]int64, n)
	var moved int64
	m.mu.Lock()
	if x.state.Final() || m.closed {
		m.mu.Unlock()
		return nil
	}
	all := true
	for i := range n {
		off := int64(binary.BigEndian.Uint64(f.data[9*i:]))
		if f.data[9*i+8] == 1 {
			// Verified and named there: the verdict of an earlier
			// connection that did not get through.
			off = int64(x.files[i].Size)
			if !x.fileDone[i] {
				m.verifiedLocked(x, i)
			}
		}
		if uint64(off) > x.files[i].Size {
			off = int64(x.files[i].Size)
		}
		all = all && x.fileDone[i]
		offsets[i] = off
		moved += off
	}
	if all {
		x.moved = moved
		m.finishLocked(x, inVerified, Event{})
		m.mu.Unlock()
		return nil
	}
	x.conn = nc
	x.applyLocked(inConnected)
	x.moved, x.sess, x.sessAt = moved, time.Now(), moved
	if moved > x.confirmed {
		x.confirmed, x.stallSince = moved, x.sess // the receiver has more than before
	}
	x.resumeAt, x.resumePending = moved, x.wasLive // announced once data flows (announceResumeLocked)
	x.wasLive = true
	stamps := x.stamps
	m.mu.Unlock()
	_ = nc.SetDeadline(time.Time{})
	m.busy(1)
	defer m.busy(-1)

	// The receiver's verdicts come back while we send; heard is when a
	// frame from it last came (unix nanoseconds).
	results := make(chan *sessErr, 1)
	var heard atomic.Int64
	heard.Store(time.Now().UnixNano())
	go func() { results <- m.readResults(x, fr, nc, &heard) }()

	buf := make([]byte, chunkSize)
	for i := range n {
		size := int64(x.files[i].Size)
		if offsets[i] >= size {
			continue
		}
		if se := m.sendFile(x, i, stamps[i], offsets[i], size, fw, nc, buf, results); se != nil {
			if se.final {
				_ = fw.write(frameAbort, 0, 0, []byte{byte(5)})
				_ = fw.flush()
			} else if se.code == CodeLinkLost {
				// The receiver may have said why it stopped (disk full)
				// just before it closed the connection under our writes:
				// its verdict is still readable before the reset.
				select {
				case r := <-results:
					if r != nil && r.code != CodeLinkLost { // a verdict, not the same loss seen again
						se = r
					}
				case <-time.After(time.Second):
				}
			}
			return se
		}
	}
	if err := fw.flush(); err != nil {
		return lost(err)
	}
	// The last verdicts: the receiver reads each file back from its disk
	// first, saying so every aliveEvery; resultTimeout of silence is a
	// dead peer.
	t := time.NewTimer(resultTimeout)
	defer t.Stop()
	for {
		select {
		case se := <-results:
			return se
		case <-t.C:
			if quiet := time.Since(time.Unix(0, heard.Load())); quiet < resultTimeout {
				t.Reset(resultTimeout - quiet)
				continue
			}
			return lostBy(CauseNoVerdict)
		case <-m.done:
			return nil
		}
	}
}

// sendFile sends file i from off to size.
func (m *Manager) sendFile(x *xfer, i int, st fileStamp, off, size int64, fw *frameWriter, nc net.Conn, buf []byte, results chan *sessErr) *sessErr {
	src, err := os.Open(x.srcs[i])
	if err != nil {
		return fatal(CodeSourceError, &Error{Cause: CauseReadSource, File: x.srcs[i], Err: errors.Unwrap(err)})
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil || info.Size() != st.size || !info.ModTime().Equal(st.mtime) {
		return fatal(CodeSourceChanged, &Error{Cause: CauseSourceChanged, File: x.srcs[i]})
	}
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return fatal(CodeSourceError, &Error{Cause: CauseReadSource, File: x.srcs[i], Err: err})
	}
	for off < size {
		select {
		case se := <-results:
			if se == nil {
				se = fatal(CodeProtocol, &Error{Cause: CauseFinishedEarly})
			}
			return se
		default:
		}
		k := int(min(int64(chunkSize), size-off))
		if _, err := io.ReadFull(src, buf[:k]); err != nil {
			return fatal(CodeSourceChanged, &Error{Cause: CauseSourceShrank, File: x.srcs[i]})
		}
		if err := fw.write(frameData, uint32(i), uint64(off), buf[:k]); err != nil {
			return lost(err)
		}
		off += int64(k)
		m.mu.Lock()
		x.moved += int64(k)
		m.mu.Unlock()
	}
	return nil
}

// readResults reads the receiver's verdicts until every file has one (nil)
// or the connection ends, storing in heard when a frame last came.
func (m *Manager) readResults(x *xfer, fr *frameReader, nc net.Conn, heard *atomic.Int64) *sessErr {
	for {
		f, err := fr.read()
		if err != nil {
			return lost(err) // a frame failing authentication too: see runRecv
		}
		heard.Store(time.Now().UnixNano())
		switch f.typ {
		case frameAlive:
			// Verifying a file, not reading: our data waits, but the
			// peer is alive.
			_ = nc.SetWriteDeadline(time.Now().Add(ioTimeout))
		case frameResult:
			if int(f.file) >= len(x.files) || len(f.data) < 1 {
				return fatal(CodeProtocol, &Error{Cause: CauseVerdictFile, Index: int(f.file)})
			}
			if done, se := m.onResult(x, int(f.file), f.data[0]); se != nil || done {
				nc.Close() // stop the sender's loop, if it still runs
				return se
			}
		case frameAbort:
			return fatal(CodePeerFailed, &Error{Cause: CauseReceiverGaveUp})
		default:
			return fatal(CodeProtocol, &Error{Cause: CauseBadFrame, Index: int(f.typ)})
		}
	}
}

// onResult records the receiver's verdict on file i; it reports whether
// the transfer is complete.
func (m *Manager) onResult(x *xfer, i int, verdict byte) (bool, *sessErr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch verdict {
	case verdictOK:
	case verdictMismatch:
		return false, fatal(CodeHashMismatch, &Error{Cause: CausePeerMismatch, File: x.files[i].Name})
	case verdictDisk:
		return false, diskErr(&Error{Cause: CausePeerWrite, File: x.files[i].Name})
	default:
		return false, fatal(CodeProtocol, &Error{Cause: CauseBadVerdict, Index: int(verdict)})
	}
	if x.fileDone[i] {
		return false, nil
	}
	if m.verifiedLocked(x, i) {
		m.finishLocked(x, inVerified, Event{})
		return true, nil
	}
	return false, nil
}

// verifiedLocked records that the receiver verified file i of x and tells the
// user; it reports whether every file is now verified (m.mu held).
func (m *Manager) verifiedLocked(x *xfer, i int) bool {
	x.fileDone[i] = true
	x.stallSince = time.Now()
	m.announceResumeLocked(x)
	all := true
	for _, d := range x.fileDone {
		all = all && d
	}
	m.emitLocked(Event{Kind: EvDone, ID: x.local, Path: x.srcs[i], Bytes: int64(x.files[i].Size), SHA256: hex.EncodeToString(x.files[i].SHA256[:]), Last: all,
		File: x.files[i].Name})
	return all
}
