package transfer

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/p2pchat/p2pchat/peer"
)

// The data connection's wire format (see the package comment).
const (
	streamVersion = 1
	helloLen      = 4 + 1 + 32 + 32 + 8 + 16
	replyLen      = 1 + 16
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

// Frame types.
const (
	frameResume byte = 1 // receiver: per file, offset(8) done(1)
	frameData   byte = 2 // sender: file, offset, bytes
	frameResult byte = 3 // receiver: file's verdict, data[0] (a verdict)
	frameAbort  byte = 4 // either: giving up, data[0] (a wire.TransferCode)
)

// Verdicts in a result frame.
const (
	verdictOK       byte = 0
	verdictMismatch byte = 1 // SHA-256 differs: data discarded
	verdictDisk     byte = 2 // could not be written (disk full): partial kept
)

// Handshake statuses.
const (
	statusOK      byte = 0
	statusUnknown byte = 1 // no such transfer here (or not from this key)
	statusRefused byte = 2 // not accepted, or finished, cancelled
	statusBusy    byte = 3 // a connection for it is already running
)

var errProtocol = errors.New("protocol error")

// hello is the sender's first message on a data connection.
type hello struct {
	sender, receiver [32]byte
	transfer         uint64
	nonce            [16]byte
}

func (h *hello) marshal() []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, peer.StreamMagic...)
	b = append(b, streamVersion)
	b = append(b, h.sender[:]...)
	b = append(b, h.receiver[:]...)
	b = binary.BigEndian.AppendUint64(b, h.transfer)
	return append(b, h.nonce[:]...)
}

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
	copy(h.receiver[:], b[37:69])
	h.transfer = binary.BigEndian.Uint64(b[69:77])
	copy(h.nonce[:], b[77:93])
	return h, nil
}

// sessionKeys derives the two directions' AEADs of one data connection
// from the transfer key, both nonces, the transfer id and both identities.
func sessionKeys(key *[32]byte, h *hello, rNonce [16]byte) (toReceiver, toSender cipher.AEAD, err error) {
	salt := append(append([]byte{}, h.nonce[:]...), rNonce[:]...)
	info := make([]byte, 0, 64)
	info = append(info, "p2pchat file v1 "...)
	info = binary.BigEndian.AppendUint64(info, h.transfer)
	info = append(info, h.sender[:]...)
	info = append(info, h.receiver[:]...)
	okm, err := hkdf.Key(sha256.New, key[:], salt, string(info), 64)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: hkdf: %w", err)
	}
	mk := func(k []byte) (cipher.AEAD, error) {
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	if toReceiver, err = mk(okm[:32]); err != nil {
		return nil, nil, fmt.Errorf("transfer: cipher: %w", err)
	}
	if toSender, err = mk(okm[32:]); err != nil {
		return nil, nil, fmt.Errorf("transfer: cipher: %w", err)
	}
	return toReceiver, toSender, nil
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
		return frame{}, fmt.Errorf("transfer: %w: frame of %d bytes", errProtocol, n)
	}
	b := f.buf[:n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		return frame{}, err
	}
	plain, err := f.aead.Open(b[:0], nonceFor(f.seq), b, nil)
	if err != nil {
		return frame{}, fmt.Errorf("transfer: %w: frame %d failed authentication", errProtocol, f.seq)
	}
	f.seq++
	return frame{typ: plain[0], file: binary.BigEndian.Uint32(plain[1:]), off: binary.BigEndian.Uint64(plain[5:]), data: plain[frameHdr:]}, nil
}
