package transfer

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// The data connection's wire format (see the package comment).
const (
	// streamVersion 2: the hello names the transfer by a tag only its two
	// peers can compute, the receiver's status is authenticated and the
	// sender proves the key before the receiver acts on the connection.
	// Version 1 (the id in the clear, a status anyone could send) is not
	// spoken any more.
	streamVersion = 2
	tagLen        = 16
	macLen        = 16
	helloLen      = 4 + 1 + 32 + 16 + tagLen
	replyLen      = 1 + 16 + macLen
	confirmLen    = macLen
	// chunkSize is the file bytes in one data frame we send: 128 KiB,
	// not 256 (most likely because a frame then stays in the receiver's
	// cache from its decryption through its hashing to its copy into the
	// page cache; bench -only files, 12 rounds each, alternating: 298
	// against 236 MB/s median, the receiver's CPU 2.9 against 3.5 s per
	// GiB; 1 MiB frames were worse still). A receiver takes frames of up
	// to maxChunk, what earlier versions sent.
	chunkSize = 128 << 10
	maxChunk  = 256 << 10
	frameHdr  = 1 + 4 + 8
	// recvBuffer is how much of a data connection the receiver asks the
	// kernel for at a time. With 1 MiB reads rather than one frame's
	// 128 KiB, its kernel time in reads fell from 0.74 to 0.24 s per GiB
	// (perf: most of it was window updates sent from inside each read,
	// crossing the bridge and waking the sender), and its CPU per GiB from
	// 2.7-3.1 s to 1.6-2.0 s, the rate from 300-370 to 470-610 MB/s (bench
	// -only files on the 2-core machine, alternating builds, one
	// processor); 4 MiB gave nothing more.
	recvBuffer = 1 << 20
	maxFrame   = frameHdr + maxChunk + 16 // sealed frame, without its length
)

// handshakeTimeout bounds how long a receiver waits for a data
// connection's hello and then for the sender's proof of the key: what an
// unauthenticated connection can hold.
const handshakeTimeout = 2 * time.Second

// Frame types.
const (
	frameResume byte = 1 // receiver: per file, offset(8) done(1)
	frameData   byte = 2 // sender: file, offset, bytes
	frameResult byte = 3 // receiver: file's verdict, data[0] (a verdict)
	frameAbort  byte = 4 // either: giving up, data[0] (a wire.TransferCode)
	frameAlive  byte = 5 // receiver: still verifying file, offset bytes read back so far (no data)
)

// aliveEvery is how often a receiver reading a file back to verify it
// says so (frameAlive): a big file on a slow disk takes minutes, during
// which it reads no data and sends no verdict, and its sender must not
// take that for a dead peer (ioTimeout, resultTimeout).
const aliveEvery = 5 * time.Second

// Verdicts in a result frame.
const (
	verdictOK       byte = 0
	verdictMismatch byte = 1 // SHA-256 differs: data discarded
	verdictDisk     byte = 2 // could not be written (disk full): partial kept
)

// Handshake statuses, each authenticated with the transfer's key (a
// receiver that does not know the transfer cannot answer: it closes).
const (
	statusOK      byte = 0
	statusRefused byte = 2 // cancelled or failed here: final
	statusBusy    byte = 3 // not now (stopping, no slot): try again later
)

var errProtocol = errors.New("protocol error")

// hello is the sender's first message on a data connection. On the wire
// are the sender's key, its nonce and the tag; the receiver's key and the
// transfer id are not sent: the receiver finds them (lookupTag).
type hello struct {
	sender, receiver [32]byte
	transfer         uint64
	nonce            [16]byte
	tag              [tagLen]byte
}

func (h *hello) marshal() []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, peer.StreamMagic...)
	b = append(b, streamVersion)
	b = append(b, h.sender[:]...)
	b = append(b, h.nonce[:]...)
	return append(b, h.tag[:]...)
}

// readHello reads a hello; its receiver and transfer are left to the
// receiver to find.
func readHello(r io.Reader) (hello, error) {
	var h hello
	b := make([]byte, helloLen)
	if _, err := io.ReadFull(r, b); err != nil {
		return h, fmt.Errorf("transfer: reading hello: %w", err)
	}
	if string(b[:4]) != peer.StreamMagic || b[4] != streamVersion {
		return h, fmt.Errorf("transfer: %w: stream version %d", errProtocol, b[4])
	}
	copy(h.sender[:], b[5:37])
	copy(h.nonce[:], b[37:53])
	copy(h.tag[:], b[53:53+tagLen])
	return h, nil
}

// lookupTag is HMAC-SHA256(lookup key, sender's nonce), cut to tagLen,
// where the lookup key is derived (HKDF) from the transfer key, the
// transfer id and both identities: it names the transfer to its receiver
// without telling anyone else its id, and differs on every connection.
// A replayed hello still matches; the key confirmation below does not.
func lookupTag(key *[32]byte, h *hello) [tagLen]byte {
	info := make([]byte, 0, 96)
	info = append(info, "p2pchat file lookup v2 "...)
	info = binary.BigEndian.AppendUint64(info, h.transfer)
	info = append(info, h.sender[:]...)
	info = append(info, h.receiver[:]...)
	lk, err := hkdf.Key(sha256.New, key[:], nil, string(info), 32)
	var t [tagLen]byte
	if err != nil {
		return t // cannot happen (32 bytes of SHA-256 output)
	}
	mac := hmac.New(sha256.New, lk)
	mac.Write(h.nonce[:])
	copy(t[:], mac.Sum(nil))
	return t
}

// sessKeys are one data connection's keys: an AEAD per direction and the
// key of the handshake's MACs.
type sessKeys struct {
	toReceiver, toSender cipher.AEAD
	confirm              []byte
}

// replyMAC authenticates the receiver's status on the connection of h.
func (k *sessKeys) replyMAC(status byte, h *hello, rNonce [16]byte) []byte {
	mac := hmac.New(sha256.New, k.confirm)
	mac.Write([]byte("p2pchat file receiver"))
	mac.Write([]byte{status})
	mac.Write(h.nonce[:])
	mac.Write(rNonce[:])
	return mac.Sum(nil)[:macLen]
}

// senderMAC is the sender's proof that it holds the transfer key, on the
// connection of h: it covers the receiver's fresh nonce, so it cannot be
// replayed.
func (k *sessKeys) senderMAC(h *hello, rNonce [16]byte) []byte {
	mac := hmac.New(sha256.New, k.confirm)
	mac.Write([]byte("p2pchat file sender"))
	mac.Write(h.nonce[:])
	mac.Write(rNonce[:])
	return mac.Sum(nil)[:macLen]
}

// sessionKeys derives the keys of one data connection from the transfer
// key, both nonces, the transfer id and both identities.
func sessionKeys(key *[32]byte, h *hello, rNonce [16]byte) (*sessKeys, error) {
	salt := append(append([]byte{}, h.nonce[:]...), rNonce[:]...)
	info := make([]byte, 0, 96)
	info = append(info, "p2pchat file v2 "...)
	info = binary.BigEndian.AppendUint64(info, h.transfer)
	info = append(info, h.sender[:]...)
	info = append(info, h.receiver[:]...)
	okm, err := hkdf.Key(sha256.New, key[:], salt, string(info), 96)
	if err != nil {
		return nil, fmt.Errorf("transfer: hkdf: %w", err)
	}
	mk := func(k []byte) (cipher.AEAD, error) {
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	k := &sessKeys{confirm: okm[64:96]}
	if k.toReceiver, err = mk(okm[:32]); err != nil {
		return nil, fmt.Errorf("transfer: cipher: %w", err)
	}
	if k.toSender, err = mk(okm[32:64]); err != nil {
		return nil, fmt.Errorf("transfer: cipher: %w", err)
	}
	return k, nil
}

// frameWriter seals frames onto a connection, numbering them.
type frameWriter struct {
	w    *bufio.Writer
	aead cipher.AEAD
	seq  uint64
	buf  []byte
}

func newFrameWriter(w io.Writer, aead cipher.AEAD) *frameWriter {
	return &frameWriter{w: bufio.NewWriterSize(w, 64<<10), aead: aead, buf: make([]byte, 0, 4+maxFrame)}
}

func nonceFor(seq uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n[:]
}

// write seals one frame; flush sends what is buffered.
func (f *frameWriter) write(typ byte, file uint32, off uint64, data []byte) error {
	if len(data) > maxChunk {
		return fmt.Errorf("transfer: frame of %d bytes", len(data))
	}
	b := f.buf[:4]
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, file)
	b = binary.BigEndian.AppendUint64(b, off)
	b = append(b, data...)
	b = f.aead.Seal(b[:4], nonceFor(f.seq), b[4:], nil)
	f.seq++
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	f.buf = b[:0]
	_, err := f.w.Write(b)
	return err
}

func (f *frameWriter) flush() error { return f.w.Flush() }

// frame is one opened frame; data aliases the reader's buffer until the
// next read.
type frame struct {
	typ  byte
	file uint32
	off  uint64
	data []byte
}

// frameReader opens frames, checking that they come in order.
type frameReader struct {
	r    io.Reader
	aead cipher.AEAD
	seq  uint64
	buf  []byte
}

func newFrameReader(r io.Reader, aead cipher.AEAD) *frameReader {
	return &frameReader{r: r, aead: aead, buf: make([]byte, maxFrame)}
}

func (f *frameReader) read() (frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < frameHdr+16 || n > maxFrame {
		return frame{}, &Error{Cause: CauseFrameSize, Size: int64(n)}
	}
	b := f.buf[:n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		return frame{}, err
	}
	plain, err := f.aead.Open(b[:0], nonceFor(f.seq), b, nil)
	if err != nil {
		return frame{}, &Error{Cause: CauseForgedFrame, Seq: f.seq}
	}
	f.seq++
	return frame{typ: plain[0], file: binary.BigEndian.Uint32(plain[1:]), off: binary.BigEndian.Uint64(plain[5:]), data: plain[frameHdr:]}, nil
}
