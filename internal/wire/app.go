package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/p2pchat/p2pchat/internal/fields"
)

// Application payloads (kinds 21 and 22): bytes of a layer above the node
// (package rooms), which the node carries without reading them, sealed
// like every other payload, so authenticated as coming from the sender's
// key.
//
//	app:      stream(8) seq(8) base(8) time(8, Unix ms) flags(1, 0) app(1) data(4+n)
//	app-once: app(1) data(4+n)
//
// An app payload is a message of the sender's message stream to the
// recipient (the same stream, seq and base as kind message, so it is
// kept until acknowledged and taken once, in order, with the messages);
// an app-once payload is sent once and may be lost. app names the
// application's own kind (non-zero); data is at most MaxAppBytes and is
// not read here (it need not be UTF-8).

// MaxAppBytes bounds the data of an app payload: a room message
// (rooms.MaxMessageBytes, 33,210 bytes) with room to spare.
const MaxAppBytes = 34 * 1024

func (p *Payload) appendApp(b []byte) []byte {
	if p.Kind == KindApp {
		b = binary.BigEndian.AppendUint64(b, p.Stream)
		b = binary.BigEndian.AppendUint64(b, p.Seq)
		b = binary.BigEndian.AppendUint64(b, p.Base)
		b = binary.BigEndian.AppendUint64(b, uint64(p.Time))
		b = append(b, 0)
	}
	b = append(b, p.App)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Text)))
	return append(b, p.Text...)
}

func (p *Payload) parseApp(r *fields.Reader) error {
	if p.Kind == KindApp {
		p.Stream = r.U64()
		p.Seq = r.U64()
		p.Base = r.U64()
		p.Time = int64(r.U64())
		r.Byte() // flags, none yet
	}
	p.App = r.Byte()
	n := r.U32()
	if r.Err() != nil {
		return r.Err()
	}
	if n > MaxAppBytes {
		return fmt.Errorf("%w: app data of %d bytes", ErrTooBig, n)
	}
	data := r.Take(int(n))
	if r.Err() != nil {
		return r.Err()
	}
	p.Text = string(data)
	if p.App == 0 {
		return fmt.Errorf("%w: app 0", ErrBadField)
	}
	if p.Kind == KindApp && (p.Stream == 0 || p.Seq == 0 || p.Base == 0 || p.Base > p.Seq) {
		return fmt.Errorf("%w: stream %d seq %d base %d", ErrBadField, p.Stream, p.Seq, p.Base)
	}
	return nil
}
