// Package wire is p2pchat's wire format, version 2: the outer packet header,
// the sealed inner payloads and their exact bytes. It only encodes and
// decodes; sealing, opening and the protocol live in package peer.
package wire

// Wire format, version 2. Every packet (a UDP datagram, or the payload of a
// TCP frame) starts with the same outer header:
//
//	offset size field
//	0      4    magic "p2pc"
//	4      1    protocol version (2; version 1 below)
//	5      1    packet type: 1 probe, 3 handshake initiation,
//	            4 handshake response, 5 data (2 was version 1's sealed)
//	6      32   sender's X25519 public key (its long-term identity)
//
// A probe ends there (see "Probes and their cookies" below): it is the only
// packet sent in the clear. Everything else travels in a session: a Noise
// handshake, Noise_IK_25519_ChaChaPoly_BLAKE2s, between the two identity
// keys, each of which authenticates it, mixing in fresh ephemeral keys, so
// that the session's keys cannot be computed from the identity keys alone.
// The prologue of every handshake is "p2pchat 2" and the initiation's
// bytes before its Noise message (header and initiator's index), so a
// changed initiation header fails the handshake; the response's indices
// are not authenticated (a changed one only makes the session unusable,
// as dropping the packet would).
//
// Handshake initiation (type 3), 138 bytes:
//
//	38     4    initiator's session index (random, names the session in
//	            the packets sent to the initiator)
//	42     96   Noise IK message 1: e(32), encrypted s(32+16), an empty
//	            encrypted payload (16); its s must equal the header's key
//
// Handshake response (type 4), 94 bytes:
//
//	38     4    the initiator's session index (whom it answers)
//	42     4    responder's session index
//	46     48   Noise IK message 2: e(32), an empty encrypted payload (16)
//
// Data (type 5), sealed under the session's key for its direction:
//
//	38     4    the recipient's session index
//	42     8    counter: the AEAD nonce, 0, 1, 2, ... per session and
//	            direction, never repeated; the recipient keeps a sliding
//	            window of the last 2,048 per session and refuses repeats
//	50     ...  ChaCha20-Poly1305 of the inner payload under that nonce,
//	            with bytes 0..49 as additional data (16 bytes longer than
//	            the inner payload; an empty inner payload is a keepalive
//	            that only confirms the session)
//
// The initiator may send data as soon as it has the response; the
// responder sends in a new session only once data arrived in it (so a
// replayed initiation, which the recorder cannot finish, never moves the
// responder off a working session). Rekey: either side starts a new
// handshake when its session is 2 minutes old or has sent 2^20 packets,
// keeps the old session to receive for a while, and erases every key,
// ephemeral key and chaining value of a session once it is replaced.
// A packet of a session the recipient does not hold (it restarted, or the
// session was erased) is dropped, and the recipient starts a handshake.
//
// The inner payload, readable only in the session, is
//
//	0      1    kind: 1 hello, 2 bye, 3 ping, 4 pong, 5 message, 6 ack,
//	            7 offer, 8 accept, 9 reject, 10 cancel (files.go)
//	            20 peers, 21 app, 22 app-once (app.go)
//	1      8    boot: when the sender's process started (Unix ns)
//	9      8    counter: per sender process, +1 for every sealed packet
//	17     8    to-boot: the recipient process's boot, as the sender knows it
//	            (0 = not known yet); only a hello is accepted with another
//	25     ...  body, by kind (integers big-endian; n: a length prefix)
//	  hello:   flags(1: 1 reply wanted, 2 TCP mode) port(2) name(1+n)
//	           host(1+n) away(2+n) challenge(16) echo(16)
//	  bye:     nothing
//	  ping:    id(8)          pong: id(8)
//	  message: stream(8) seq(8) base(8) time(8, Unix ms) flags(1: 1 to all)
//	           text(4+n)
//	  ack:     stream(8) seq(8)
//	  offer, accept, reject, cancel: see files.go
//	  peers:   count(1) then count entries of key(32) alen(1: 4 or 16)
//	           addr(alen) port(2): peers the sender knows (peer exchange),
//	           at most MaxPeerEntries
//
// (boot, counter) drives the per-peer replay window, across sessions;
// to-boot ties a packet to one run of the recipient, so packets recorded
// earlier cannot be replayed to it after it restarts with an empty window.
// A hello's challenge is a fresh value the recipient must echo in its own
// hello before the sender takes it into its address book: a recorded hello
// cannot bring back a peer that was forgotten (all zero: no challenge;
// echo all zero: nothing to echo).
//
// A message stream is one sender's messages to one recipient: stream is its
// id, chosen by the sender when it starts the stream (a new process, or a
// recipient it had forgotten), seq numbers the messages from 1 and base is
// the lowest seq the sender still waits on. An ack names the stream and seq
// it acknowledges.
//
// Type and kind numbers are append-only. Every field has a fixed size or a
// length prefix, and decoders ignore trailing bytes, so a later version can
// append fields to any kind.
//
// Over TCP every packet is framed by a 4-byte big-endian length.
//
// Version 1 had type 2, sealed: header, a 24-byte nonce, then a nacl/box
// of the inner payload between the two identity keys. A version-2 node
// opens no version-1 packet and sends none (ParseOuter returns ErrVersion
// with the sender's key when the header has one), so a version-1 and a
// version-2 peer never exchange sealed data; a version-1 node answers a
// version-2 packet with its own version warning.
//
// Probes and their cookies. The source address of a UDP probe can be
// spoofed, and a sealed hello is several times its size, so a node does
// not answer a UDP probe with its hello: it first makes the prober prove
// its address. Two variants of the probe append to the header:
//
//	offset size field
//	38     1    probe kind: 1 cookie, 2 echo
//	39     16   cookie
//
// A plain probe (38 bytes) is answered with a cookie probe: our key and a
// cookie, a MAC of the prober's key, its address and the time under a
// secret of ours (55 bytes: 1.45 times the probe). A node that gets a
// cookie probe answers with an echo probe carrying the same cookie (the
// same size). A node that gets an echo of a cookie it made for that key at
// that address within 10 s answers with its hello, as it answered a probe
// before: the prober has shown that it receives at its address. So a
// spoofed probe draws at most a packet 1.45 times its size, and no
// answer draws another probe: an echo is answered with a hello or not at
// all. Over TCP the handshake proves the address, and a probe there is
// answered with the hello at once.
//
// Probe kinds are append-only; an unknown kind is taken for a plain probe.
// A probe that proved its address is answered with a handshake initiation
// when no session exists yet, then the hello inside the session.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/fields"
)

// Protocol constants.
const (
	Magic          = "p2pc"
	Version   byte = 2
	HeaderLen      = 4 + 1 + 1 + 32
	// DataHdr is the header of a data packet: the outer header, the
	// recipient's session index and the counter.
	DataHdr     = HeaderLen + 4 + 8
	BoxOverhead = 16 // the AEAD's tag
	InnerHdr    = 1 + 8 + 8 + 8
	// InitLen and RespLen are the sizes of the handshake packets.
	InitLen = HeaderLen + 4 + InitNoiseLen
	RespLen = HeaderLen + 4 + 4 + RespNoiseLen
	// InitNoiseLen and RespNoiseLen are the Noise IK messages' sizes with
	// empty payloads.
	InitNoiseLen = 32 + 32 + 16 + 16
	RespNoiseLen = 32 + 16
	// MaxDatagram is the largest UDP datagram p2pchat sends: under the
	// Wi-Fi MTU with room to spare. Larger messages go over TCP.
	MaxDatagram = 1200
	// MaxPacket bounds any packet, UDP or TCP frame.
	MaxPacket = DataHdr + BoxOverhead + InnerHdr + 8 + 8 + 8 + 8 + 1 + 1 + 4 + MaxAppBytes + 64
	MaxHost   = 64
	MaxAway   = 200
)

// PacketType is the outer packet type.
type PacketType byte

// Packet types (append-only).
const (
	TypeProbe PacketType = 1
	// TypeSealedV1 is version 1's sealed packet; version 2 sends none.
	TypeSealedV1 PacketType = 2
	TypeInit     PacketType = 3
	TypeResp     PacketType = 4
	TypeData     PacketType = 5
)

// Kind is the type of a sealed payload.
type Kind byte

// Payload kinds (append-only).
const (
	KindHello Kind = 1
	KindBye   Kind = 2
	KindPing  Kind = 3
	KindPong  Kind = 4
	KindMsg   Kind = 5
	KindAck   Kind = 6
	// File transfer control (files.go).
	KindOffer  Kind = 7
	KindAccept Kind = 8
	KindReject Kind = 9
	KindCancel Kind = 10
	// Peer exchange (20; 11..19 are left for file transfer).
	KindPeers Kind = 20
	// Application payloads (app.go).
	KindApp     Kind = 21
	KindAppOnce Kind = 22
)

// MaxPeerEntries is the most entries one peers payload holds: 20 IPv6
// entries (51 bytes each) fit a datagram under MaxDatagram.
const MaxPeerEntries = 20

// PeerEntry is one peer in a peers payload: its key and an address where
// the sender reached it.
type PeerEntry struct {
	Key  [32]byte
	Addr netip.AddrPort
}

func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindBye:
		return "bye"
	case KindPing:
		return "ping"
	case KindPong:
		return "pong"
	case KindMsg:
		return "message"
	case KindAck:
		return "ack"
	case KindOffer:
		return "offer"
	case KindAccept:
		return "accept"
	case KindReject:
		return "reject"
	case KindCancel:
		return "cancel"
	case KindPeers:
		return "peers"
	case KindApp:
		return "app"
	case KindAppOnce:
		return "app-once"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Decoding errors.
var (
	ErrNotP2P      = errors.New("not a p2pchat packet")
	ErrVersion     = errors.New("peer runs an incompatible protocol version")
	ErrShort       = errors.New("packet truncated")
	ErrTooBig      = errors.New("packet too large")
	ErrBadField    = errors.New("invalid field")
	ErrUnknownKind = errors.New("unknown packet kind")
)

// Outer is a parsed outer header, with the fields of its type.
type Outer struct {
	Version byte
	Type    PacketType
	Key     [32]byte
	HasKey  bool // Key was read (also for ErrVersion, when the header is there)

	// initiation: Index; response: To, Index; data: To, Counter
	Index   uint32 // the sender's session index
	To      uint32 // the recipient's session index
	Counter uint64 // data: the nonce
	Head    []byte // the bytes before Noise or Box: prologue or additional data (aliases the input)
	Noise   []byte // handshake: the Noise message (aliases the input)
	Box     []byte // data: the sealed inner payload (aliases the input)
}

// ParseOuter parses the outer header of b. It returns ErrVersion (with the
// version in Outer.Version, and the key when the header holds one) for
// packets of another protocol version.
func ParseOuter(b []byte) (Outer, error) {
	var o Outer
	if len(b) > MaxPacket {
		return o, ErrTooBig
	}
	if len(b) < 5 || string(b[:4]) != Magic {
		return o, ErrNotP2P
	}
	o.Version = b[4]
	if len(b) >= HeaderLen {
		o.Type = PacketType(b[5])
		copy(o.Key[:], b[6:38])
		o.HasKey = CanonicalKey(&o.Key)
	}
	if o.Version != Version {
		return o, fmt.Errorf("%w (version %d, we speak %d)", ErrVersion, o.Version, Version)
	}
	if len(b) < HeaderLen {
		return o, ErrShort
	}
	if !o.HasKey {
		return o, fmt.Errorf("%w: non-canonical key", ErrBadField)
	}
	switch o.Type {
	case TypeProbe:
		return o, nil
	case TypeInit:
		if len(b) < InitLen {
			return o, ErrShort
		}
		o.Index = binary.BigEndian.Uint32(b[HeaderLen:])
		o.Head, o.Noise = b[:HeaderLen+4], b[HeaderLen+4:InitLen]
		return o, nil
	case TypeResp:
		if len(b) < RespLen {
			return o, ErrShort
		}
		o.To = binary.BigEndian.Uint32(b[HeaderLen:])
		o.Index = binary.BigEndian.Uint32(b[HeaderLen+4:])
		o.Head, o.Noise = b[:HeaderLen+8], b[HeaderLen+8:RespLen]
		return o, nil
	case TypeData:
		if len(b) < DataHdr+BoxOverhead {
			return o, ErrShort
		}
		o.To = binary.BigEndian.Uint32(b[HeaderLen:])
		o.Counter = binary.BigEndian.Uint64(b[HeaderLen+4:])
		o.Head, o.Box = b[:DataHdr], b[DataHdr:]
		return o, nil
	}
	return o, fmt.Errorf("%w: packet type %d", ErrUnknownKind, o.Type)
}

// AppendInitHead appends the bytes of an initiation before its Noise
// message (the handshake's prologue, with Prologue before it).
func AppendInitHead(b []byte, from *[32]byte, index uint32) []byte {
	b = AppendHeader(b, TypeInit, from)
	return binary.BigEndian.AppendUint32(b, index)
}

// AppendRespHead appends the bytes of a response before its Noise message.
func AppendRespHead(b []byte, from *[32]byte, to, index uint32) []byte {
	b = AppendHeader(b, TypeResp, from)
	b = binary.BigEndian.AppendUint32(b, to)
	return binary.BigEndian.AppendUint32(b, index)
}

// AppendDataHead appends the header of a data packet: its additional data.
func AppendDataHead(b []byte, from *[32]byte, to uint32, counter uint64) []byte {
	b = AppendHeader(b, TypeData, from)
	b = binary.BigEndian.AppendUint32(b, to)
	return binary.BigEndian.AppendUint64(b, counter)
}

// Prologue starts every handshake's prologue.
const Prologue = "p2pchat 2"

// CanonicalKey reports whether key is the one canonical encoding of a
// Curve25519 point: X25519 ignores the top bit and reduces values >= 2^255-19,
// so without this check one key has several spellings, and a replayed packet
// with another spelling would pass for a new peer with a fresh replay window.
func CanonicalKey(key *[32]byte) bool {
	if key[31]&0x80 != 0 {
		return false
	}
	if key[31] != 0x7f || key[0] < 0xed {
		return true
	}
	for _, b := range key[1:31] {
		if b != 0xff {
			return true
		}
	}
	return false // in [2^255-19, 2^255)
}

// AppendHeader appends the outer header of a packet of type t from key.
func AppendHeader(b []byte, t PacketType, key *[32]byte) []byte {
	b = append(b, Magic...)
	b = append(b, Version, byte(t))
	return append(b, key[:]...)
}

// Payload is a decoded inner payload. Only the fields of its Kind are set.
type Payload struct {
	Kind    Kind
	Boot    uint64
	Counter uint64
	ToBoot  uint64

	// hello
	Flags     byte
	Port      uint16
	Name      string
	Host      string
	Away      string
	Challenge [16]byte // answer me with this in Echo before I take you in
	Echo      [16]byte // the challenge of the hello this one answers

	// ping, pong
	PingID uint64

	// message (and ack: Stream, Seq)
	Stream uint64
	Seq    uint64
	Base   uint64
	Time   int64 // Unix ms
	All    bool
	Text   string

	// offer, accept, reject, cancel (files.go)
	Transfer    uint64
	Files       []FileEntry
	TransferKey [32]byte
	Code        TransferCode
	// peers
	Peers []PeerEntry

	// app, app-once (app.go): the application and its bytes (in Text)
	App byte
}

// Probe kinds: the byte after the header of a probe (none: a plain probe).
const (
	ProbePlain  byte = 0 // no kind byte: tell me who you are
	ProbeCookie byte = 1 // here is a cookie: echo it to prove your address
	ProbeEcho   byte = 2 // the echo of your cookie: now tell me who you are
)

// Sizes of probes.
const (
	ProbeLen       = HeaderLen          // plain probe
	CookieProbeLen = HeaderLen + 1 + 16 // cookie and echo probes
)

// AppendProbe appends a probe from key: a plain one (ProbePlain, cookie
// ignored), or a cookie or echo probe carrying cookie.
func AppendProbe(b []byte, key *[32]byte, kind byte, cookie *[16]byte) []byte {
	b = AppendHeader(b, TypeProbe, key)
	if kind == ProbePlain {
		return b
	}
	b = append(b, kind)
	return append(b, cookie[:]...)
}

// ParseProbe returns the kind and cookie of a probe whose outer header
// parsed. A plain probe, an unknown kind or a truncated variant is
// ProbePlain.
func ParseProbe(b []byte) (kind byte, cookie [16]byte) {
	if len(b) < CookieProbeLen {
		return ProbePlain, cookie
	}
	switch k := b[HeaderLen]; k {
	case ProbeCookie, ProbeEcho:
		copy(cookie[:], b[HeaderLen+1:CookieProbeLen])
		return k, cookie
	}
	return ProbePlain, cookie
}

// Hello flags.
const (
	FlagReply byte = 1 // hello: please answer with your hello
	FlagTCP   byte = 2 // hello: send me everything over TCP
	flagAll   byte = 1 // message: sent to everyone
)

// AppendMarshal appends the inner encoding of p.
func (p *Payload) AppendMarshal(b []byte) []byte {
	b = append(b, byte(p.Kind))
	b = binary.BigEndian.AppendUint64(b, p.Boot)
	b = binary.BigEndian.AppendUint64(b, p.Counter)
	b = binary.BigEndian.AppendUint64(b, p.ToBoot)
	switch p.Kind {
	case KindHello:
		b = append(b, p.Flags)
		b = binary.BigEndian.AppendUint16(b, p.Port)
		b = append(b, byte(len(p.Name)))
		b = append(b, p.Name...)
		b = append(b, byte(len(p.Host)))
		b = append(b, p.Host...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Away)))
		b = append(b, p.Away...)
		b = append(b, p.Challenge[:]...)
		b = append(b, p.Echo[:]...)
	case KindPing, KindPong:
		b = binary.BigEndian.AppendUint64(b, p.PingID)
	case KindMsg:
		b = binary.BigEndian.AppendUint64(b, p.Stream)
		b = binary.BigEndian.AppendUint64(b, p.Seq)
		b = binary.BigEndian.AppendUint64(b, p.Base)
		b = binary.BigEndian.AppendUint64(b, uint64(p.Time))
		var f byte
		if p.All {
			f |= flagAll
		}
		b = append(b, f)
		b = binary.BigEndian.AppendUint32(b, uint32(len(p.Text)))
		b = append(b, p.Text...)
	case KindAck:
		b = binary.BigEndian.AppendUint64(b, p.Stream)
		b = binary.BigEndian.AppendUint64(b, p.Seq)
	case KindOffer, KindAccept, KindReject, KindCancel:
		b = p.appendFile(b)
	case KindApp, KindAppOnce:
		b = p.appendApp(b)
	case KindPeers:
		b = append(b, byte(len(p.Peers)))
		for _, e := range p.Peers {
			b = append(b, e.Key[:]...)
			a := e.Addr.Addr().Unmap().AsSlice()
			b = append(b, byte(len(a)))
			b = append(b, a...)
			b = binary.BigEndian.AppendUint16(b, e.Addr.Port())
		}
	}
	return b
}

// ParsePayload decodes an inner payload and validates every string in it
// (UTF-8, lengths, names as ValidName). Strings are copied.
func ParsePayload(b []byte) (Payload, error) {
	var p Payload
	if len(b) < InnerHdr {
		return p, ErrShort
	}
	p.Kind = Kind(b[0])
	p.Boot = binary.BigEndian.Uint64(b[1:])
	p.Counter = binary.BigEndian.Uint64(b[9:])
	p.ToBoot = binary.BigEndian.Uint64(b[17:])
	r := fields.NewReader(b[InnerHdr:], ErrShort)
	switch p.Kind {
	case KindHello:
		p.Flags = r.Byte()
		p.Port = r.U16()
		p.Name = r.Str(int(r.Byte()))
		p.Host = r.Str(int(r.Byte()))
		p.Away = r.Str(int(r.U16()))
		copy(p.Challenge[:], r.Take(16))
		copy(p.Echo[:], r.Take(16))
		if r.Err() != nil {
			return p, r.Err()
		}
		if err := ValidName(p.Name); err != nil {
			return p, fmt.Errorf("%w: name: %v", ErrBadField, err)
		}
		if len(p.Host) > MaxHost || !utf8.ValidString(p.Host) {
			return p, fmt.Errorf("%w: host", ErrBadField)
		}
		if len(p.Away) > MaxAway || !utf8.ValidString(p.Away) {
			return p, fmt.Errorf("%w: away", ErrBadField)
		}
		if p.Port == 0 {
			return p, fmt.Errorf("%w: port 0", ErrBadField)
		}
	case KindBye:
	case KindPing, KindPong:
		p.PingID = r.U64()
	case KindMsg:
		p.Stream = r.U64()
		p.Seq = r.U64()
		p.Base = r.U64()
		p.Time = int64(r.U64())
		p.All = r.Byte()&flagAll != 0
		n := r.U32()
		if r.Err() != nil {
			return p, r.Err()
		}
		if n > MaxTextBytes {
			return p, fmt.Errorf("%w: text of %d bytes", ErrTooBig, n)
		}
		text := r.Take(int(n))
		if r.Err() != nil {
			return p, r.Err()
		}
		if !utf8.Valid(text) {
			return p, fmt.Errorf("%w: text not UTF-8", ErrBadField)
		}
		p.Text = string(text)
		if p.Stream == 0 || p.Seq == 0 || p.Base == 0 || p.Base > p.Seq {
			return p, fmt.Errorf("%w: stream %d seq %d base %d", ErrBadField, p.Stream, p.Seq, p.Base)
		}
	case KindAck:
		p.Stream = r.U64()
		p.Seq = r.U64()
	case KindOffer, KindAccept, KindReject, KindCancel:
		if err := p.parseFile(r); err != nil {
			return p, err
		}
	case KindApp, KindAppOnce:
		if err := p.parseApp(r); err != nil {
			return p, err
		}
	case KindPeers:
		n := int(r.Byte())
		if n > MaxPeerEntries {
			return p, fmt.Errorf("%w: %d peer entries", ErrTooBig, n)
		}
		for range n {
			var e PeerEntry
			copy(e.Key[:], r.Take(32))
			alen := int(r.Byte())
			if r.Err() == nil && alen != 4 && alen != 16 {
				return p, fmt.Errorf("%w: address of %d bytes", ErrBadField, alen)
			}
			a, _ := netip.AddrFromSlice(r.Take(alen))
			port := r.U16()
			if r.Err() != nil {
				return p, r.Err()
			}
			if !CanonicalKey(&e.Key) || port == 0 {
				return p, fmt.Errorf("%w: peer entry", ErrBadField)
			}
			e.Addr = netip.AddrPortFrom(a.Unmap(), port)
			p.Peers = append(p.Peers, e)
		}
	default:
		return p, fmt.Errorf("%w: %d", ErrUnknownKind, byte(p.Kind))
	}
	return p, r.Err()
}
