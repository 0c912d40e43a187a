package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/fields"
)

// File transfer control payloads (kinds 7 to 10). They travel sealed like
// every other payload, so they are authenticated as coming from the
// sender's key and readable only by the recipient; the file data itself
// does not: it flows over a separate TCP connection (package transfer).
//
//	offer:  transfer(8) flags(1, 0) count(2) count x { size(8) sha256(32) name(2+n) }
//	accept: transfer(8) key(32)
//	reject: transfer(8) code(1)
//	cancel: transfer(8) code(1)
//
// transfer is the sender's random, non-zero id of the offer. A name is the
// file's path relative to what was offered, '/'-separated, UTF-8, as the
// sender wrote it: the receiver must treat it as hostile (package transfer
// sanitises it). key is the fresh random secret the receiver chose for the
// data connection of an accepted offer. code says why (TransferCode).

// Bounds on an offer, checked by the decoder (and by the sender before it
// offers).
const (
	MaxOfferFiles    = 256       // files in one offer
	MaxFileNameBytes = 512       // bytes of one file's relative path
	MaxFileSize      = 1 << 40   // bytes of one file (1 TiB)
	MaxOfferTotal    = 1 << 40   // bytes of all files of one offer (1 TiB)
	MaxOfferBytes    = 30 * 1024 // encoded offer body: it must fit one packet (MaxPacket)
)

// FileEntry is one file of an offer.
type FileEntry struct {
	Name   string
	Size   uint64
	SHA256 [32]byte
}

// TransferCode says why a transfer was rejected or cancelled.
type TransferCode byte

// Transfer codes (append-only).
const (
	CodeNone     TransferCode = 0
	CodeUser     TransferCode = 1 // the user rejected or cancelled it
	CodeBusy     TransferCode = 2 // too many offers waiting
	CodeBadOffer TransferCode = 3 // the offer cannot be taken (a name that escapes, too large)
	CodeUnknown  TransferCode = 4 // no such transfer (the other side forgot it)
	CodeFailed   TransferCode = 5 // it failed for good (a file did not verify, a source changed)
)

func (p *Payload) appendFile(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, p.Transfer)
	switch p.Kind {
	case KindOffer:
		b = append(b, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Files)))
		for _, f := range p.Files {
			b = binary.BigEndian.AppendUint64(b, f.Size)
			b = append(b, f.SHA256[:]...)
			b = binary.BigEndian.AppendUint16(b, uint16(len(f.Name)))
			b = append(b, f.Name...)
		}
	case KindAccept:
		b = append(b, p.TransferKey[:]...)
	case KindReject, KindCancel:
		b = append(b, byte(p.Code))
	}
	return b
}

func (p *Payload) parseFile(r *fields.Reader) error {
	p.Transfer = r.U64()
	switch p.Kind {
	case KindOffer:
		start := r.Len()
		r.Byte() // flags, none yet
		n := int(r.U16())
		if r.Err() != nil {
			return r.Err()
		}
		if n == 0 || n > MaxOfferFiles {
			return fmt.Errorf("%w: offer of %d files", ErrBadField, n)
		}
		var total uint64
		p.Files = make([]FileEntry, 0, n)
		for range n {
			var f FileEntry
			f.Size = r.U64()
			copy(f.SHA256[:], r.Take(32))
			ln := int(r.U16())
			if r.Err() == nil && (ln == 0 || ln > MaxFileNameBytes) {
				return fmt.Errorf("%w: file name of %d bytes", ErrBadField, ln)
			}
			name := r.Take(ln)
			if r.Err() != nil {
				return r.Err()
			}
			if !utf8.Valid(name) {
				return fmt.Errorf("%w: file name not UTF-8", ErrBadField)
			}
			f.Name = string(name)
			if f.Size > MaxFileSize {
				return fmt.Errorf("%w: file of %d bytes", ErrTooBig, f.Size)
			}
			total += f.Size
			if total > MaxOfferTotal {
				return fmt.Errorf("%w: offer of more than %d bytes", ErrTooBig, uint64(MaxOfferTotal))
			}
			p.Files = append(p.Files, f)
		}
		if start-r.Len() > MaxOfferBytes {
			return fmt.Errorf("%w: offer of %d bytes", ErrTooBig, start-r.Len())
		}
	case KindAccept:
		copy(p.TransferKey[:], r.Take(32))
	case KindReject, KindCancel:
		p.Code = TransferCode(r.Byte())
	}
	if r.Err() == nil && p.Transfer == 0 {
		return fmt.Errorf("%w: transfer id 0", ErrBadField)
	}
	return r.Err()
}

// OfferSize is the encoded size of an offer body with these files, to
// check against MaxOfferBytes before offering.
func OfferSize(files []FileEntry) int {
	n := 8 + 1 + 2
	for _, f := range files {
		n += 8 + 32 + 2 + len(f.Name)
	}
	return n
}
