package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPayloadBytes pins the inner encoding to exact bytes: changing the
// wire format must be deliberate.
func TestPayloadBytes(t *testing.T) {
	tests := []struct {
		name string
		p    Payload
		want string
	}{
		{"hello", Payload{Kind: KindHello, Boot: 1, Counter: 2, ToBoot: 10, Flags: FlagReply | FlagTCP, Port: 7117, Name: "bob", Host: "pc", Away: "lunch",
			Challenge: [16]byte{0xc0, 15: 0xc1}, Echo: [16]byte{0xe0, 15: 0xe1}},
			"01 0000000000000001 0000000000000002 000000000000000a 03 1bcd 03 626f62 02 7063 0005 6c756e6368" +
				" c00000000000000000000000000000c1 e00000000000000000000000000000e1"},
		{"bye", Payload{Kind: KindBye, Boot: 1, Counter: 3, ToBoot: 10}, "02 0000000000000001 0000000000000003 000000000000000a"},
		{"ping", Payload{Kind: KindPing, Boot: 1, Counter: 4, ToBoot: 10, PingID: 9}, "03 0000000000000001 0000000000000004 000000000000000a 0000000000000009"},
		{"pong", Payload{Kind: KindPong, Boot: 1, Counter: 5, ToBoot: 10, PingID: 9}, "04 0000000000000001 0000000000000005 000000000000000a 0000000000000009"},
		{"message", Payload{Kind: KindMsg, Boot: 1, Counter: 6, ToBoot: 10, Stream: 0xabc, Seq: 7, Base: 5, Time: 1000, All: true, Text: "你好"},
			"05 0000000000000001 0000000000000006 000000000000000a 0000000000000abc 0000000000000007 0000000000000005 00000000000003e8 01 00000006 e4bda0e5a5bd"},
		{"ack", Payload{Kind: KindAck, Boot: 1, Counter: 8, ToBoot: 10, Stream: 3, Seq: 7}, "06 0000000000000001 0000000000000008 000000000000000a 0000000000000003 0000000000000007"},
		{"peers", Payload{Kind: KindPeers, Boot: 1, Counter: 9, ToBoot: 10, Peers: []PeerEntry{
			{Key: [32]byte{0x11, 31: 0x12}, Addr: netip.MustParseAddrPort("10.0.0.5:7117")},
			{Key: [32]byte{0x21, 31: 0x22}, Addr: netip.MustParseAddrPort("[fe80::1]:7118")},
		}}, "14 0000000000000001 0000000000000009 000000000000000a 02" +
			" 1100000000000000000000000000000000000000000000000000000000000012 04 0a000005 1bcd" +
			" 2100000000000000000000000000000000000000000000000000000000000022 10 fe800000000000000000000000000001 1bce"},
		{"no peers", Payload{Kind: KindPeers, Boot: 1, Counter: 9, ToBoot: 10}, "14 0000000000000001 0000000000000009 000000000000000a 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.AppendMarshal(nil)
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("bytes\n got %x\nwant %x", got, want)
			}
			back, err := ParsePayload(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.p) {
				t.Fatalf("round trip\n got %+v\nwant %+v", back, tt.p)
			}
			// Trailing bytes (fields of a later version) are ignored.
			if back, err := ParsePayload(append(got, 0xff, 0xfe)); err != nil || !reflect.DeepEqual(back, tt.p) {
				t.Errorf("trailing bytes: %v", err)
			}
		})
	}
}

// TestPeersAddressEncoding: a peers entry carries 4 bytes for IPv4 (an
// IPv4-mapped IPv6 address too) and 16 for IPv6; an IPv6 zone (the
// sender's interface name) is not sent: it means nothing to the receiver,
// who gives link-local leads its own (peer/exchange.go).
func TestPeersAddressEncoding(t *testing.T) {
	key := [32]byte{0x11, 31: 0x12}
	for _, tt := range []struct {
		addr, wire, back string
	}{
		{"10.0.0.5:7117", "04 0a000005 1bcd", "10.0.0.5:7117"},
		{"[::ffff:10.0.0.5]:7117", "04 0a000005 1bcd", "10.0.0.5:7117"},
		{"[2001:db8::5]:7117", "10 20010db8000000000000000000000005 1bcd", "[2001:db8::5]:7117"},
		{"[fe80::1%eth0]:7117", "10 fe800000000000000000000000000001 1bcd", "[fe80::1]:7117"},
	} {
		p := Payload{Kind: KindPeers, Peers: []PeerEntry{{Key: key, Addr: netip.MustParseAddrPort(tt.addr)}}}
		got := p.AppendMarshal(nil)
		want := append(append(append([]byte{}, got[:InnerHdr+1]...), key[:]...), unhex(t, tt.wire)...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: bytes\n got %x\nwant %x", tt.addr, got, want)
			continue
		}
		back, err := ParsePayload(got)
		if err != nil || len(back.Peers) != 1 || back.Peers[0].Addr != netip.MustParseAddrPort(tt.back) {
			t.Errorf("%s: parsed back as %+v, %v; want %s", tt.addr, back.Peers, err, tt.back)
		}
	}
}

func TestParsePayloadRejects(t *testing.T) {
	hello := func(name string) []byte {
		return (&Payload{Kind: KindHello, Port: 1, Name: name}).AppendMarshal(nil)
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"short header", make([]byte, 24), ErrShort},
		{"unknown kind", append([]byte{99}, make([]byte, 24)...), ErrUnknownKind},
		{"truncated hello", hello("bob")[:20], ErrShort},
		{"name with escape", hello("bo\x1b[2Jb"), ErrBadField},
		{"name too long", hello(strings.Repeat("名", 33)), ErrBadField},
		{"port zero", (&Payload{Kind: KindHello, Name: "bob"}).AppendMarshal(nil), ErrBadField},
		{"text not utf8", (&Payload{Kind: KindMsg, Stream: 1, Seq: 1, Base: 1, Text: "\xff\xfe"}).AppendMarshal(nil), ErrBadField},
		{"text too long", (&Payload{Kind: KindMsg, Stream: 1, Seq: 1, Base: 1, Text: strings.Repeat("a", MaxTextBytes+1)}).AppendMarshal(nil), ErrTooBig},
		{"too many peers", append((&Payload{Kind: KindPeers}).AppendMarshal(nil)[:InnerHdr], MaxPeerEntries+1), ErrTooBig},
		{"peer address of 5 bytes", append(append(append((&Payload{Kind: KindPeers}).AppendMarshal(nil)[:InnerHdr], 1), make([]byte, 32)...), 5, 1, 2, 3, 4, 5, 0, 1), ErrBadField},
		{"peer port zero", (&Payload{Kind: KindPeers, Peers: []PeerEntry{{Addr: netip.MustParseAddrPort("10.0.0.1:0")}}}).AppendMarshal(nil), ErrBadField},
		{"peer key not canonical", (&Payload{Kind: KindPeers, Peers: []PeerEntry{{Key: [32]byte{31: 0x80}, Addr: netip.MustParseAddrPort("10.0.0.1:1")}}}).AppendMarshal(nil), ErrBadField},
		{"peers truncated", (&Payload{Kind: KindPeers, Peers: []PeerEntry{{Addr: netip.MustParseAddrPort("10.0.0.1:1")}}}).AppendMarshal(nil)[:InnerHdr+10], ErrShort},
		{"seq zero", (&Payload{Kind: KindMsg, Stream: 1, Base: 1, Text: "x"}).AppendMarshal(nil), ErrBadField},
		{"base after seq", (&Payload{Kind: KindMsg, Stream: 1, Seq: 1, Base: 2, Text: "x"}).AppendMarshal(nil), ErrBadField},
		{"stream zero", (&Payload{Kind: KindMsg, Seq: 1, Base: 1, Text: "x"}).AppendMarshal(nil), ErrBadField},
		{"text shorter than its length", (&Payload{Kind: KindMsg, Stream: 1, Seq: 1, Base: 1, Text: "xyz"}).AppendMarshal(nil)[:wireLenTextEnd-1], ErrShort},
		{"hello without challenge", hello("bob")[:len(hello("bob"))-32], ErrShort},
		{"truncated ack", (&Payload{Kind: KindAck, Seq: 1}).AppendMarshal(nil)[:20], ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePayload(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// wireLenTextEnd is where a 3-byte message text ends: inner header, stream,
// seq, base, time, flags, length, text.
const wireLenTextEnd = InnerHdr + 8 + 8 + 8 + 8 + 1 + 4 + 3

func TestParseOuter(t *testing.T) {
	var key [32]byte
	for i := range key {
		key[i] = byte(i)
	}
	probe := AppendHeader(nil, TypeProbe, &key)
	want := unhex(t, "70327063 02 01 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if !bytes.Equal(probe, want) {
		t.Fatalf("probe bytes\n got %x\nwant %x", probe, want)
	}
	// The version-2 heads, byte by byte (wire.go).
	const k = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"initiation", AppendInitHead(nil, &key, 0x01020304), "70327063 02 03" + k + "01020304"},
		{"response", AppendRespHead(nil, &key, 0x01020304, 0x0a0b0c0d), "70327063 02 04" + k + "01020304 0a0b0c0d"},
		{"data", AppendDataHead(nil, &key, 0x01020304, 0x1122334455667788), "70327063 02 05" + k + "01020304 1122334455667788"},
	} {
		if w := unhex(t, tc.want); !bytes.Equal(tc.got, w) {
			t.Errorf("%s head\n got %x\nwant %x", tc.name, tc.got, w)
		}
	}
	data := append(AppendDataHead(nil, &key, 0x01020304, 0x1122334455667788), make([]byte, BoxOverhead+3)...)
	if o, err := ParseOuter(data); err != nil || o.Type != TypeData || o.To != 0x01020304 || o.Counter != 0x1122334455667788 || len(o.Box) != BoxOverhead+3 || len(o.Head) != DataHdr {
		t.Fatalf("data: %+v %v", o, err)
	}
	resp := append(AppendRespHead(nil, &key, 5, 6), make([]byte, RespNoiseLen)...)
	if o, err := ParseOuter(resp); err != nil || o.Type != TypeResp || o.To != 5 || o.Index != 6 || len(resp) != RespLen {
		t.Fatalf("response: %+v %v", o, err)
	}
	init := append(AppendInitHead(nil, &key, 5), make([]byte, InitNoiseLen)...)
	if o, err := ParseOuter(init); err != nil || o.Type != TypeInit || o.Index != 5 || len(init) != InitLen || !bytes.Equal(o.Head, init[:HeaderLen+4]) {
		t.Fatalf("initiation: %+v %v", o, err)
	}
	// A version-1 packet names its sender's key, so the node can say who
	// runs the older version.
	v1 := append([]byte("p2pc\x01\x02"), key[:]...)
	v1[6] = 9
	if o, err := ParseOuter(append(v1, make([]byte, 60)...)); !errors.Is(err, ErrVersion) || o.Version != 1 || !o.HasKey || o.Key[0] != 9 {
		t.Fatalf("version 1: %+v %v", o, err)
	}
	o, err := ParseOuter(probe)
	if err != nil || o.Type != TypeProbe || o.Key != key {
		t.Fatalf("probe: %+v %v", o, err)
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"not ours", []byte("GET / HTTP/1.1\r\n"), ErrNotP2P},
		{"too short", []byte("p2"), ErrNotP2P},
		{"version 1", append([]byte("p2pc\x01\x02"), key[:]...), ErrVersion},
		{"version 3", append([]byte("p2pc\x03\x01"), key[:]...), ErrVersion},
		{"truncated key", []byte("p2pc\x02\x01abc"), ErrShort},
		{"data without box", append(AppendDataHead(nil, &key, 1, 2), make([]byte, 15)...), ErrShort},
		{"short initiation", append(AppendInitHead(nil, &key, 1), make([]byte, InitNoiseLen-1)...), ErrShort},
		{"short response", append(AppendRespHead(nil, &key, 1, 2), make([]byte, RespNoiseLen-1)...), ErrShort},
		{"version 1 sealed type", AppendHeader(nil, TypeSealedV1, &key), ErrUnknownKind},
		{"unknown type", AppendHeader(nil, 7, &key), ErrUnknownKind},
		{"huge", append(AppendHeader(nil, TypeData, &key), make([]byte, MaxPacket)...), ErrTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseOuter(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseOuter(f *testing.F) {
	var key [32]byte
	f.Add(AppendHeader(nil, TypeProbe, &key))
	f.Add(append(AppendDataHead(nil, &key, 1, 2), make([]byte, 80)...))
	f.Add(append(AppendInitHead(nil, &key, 1), make([]byte, InitNoiseLen)...))
	f.Add(append(AppendRespHead(nil, &key, 1, 2), make([]byte, RespNoiseLen)...))
	f.Add(append([]byte("p2pc\x01\x02"), key[:]...))
	f.Add([]byte("p2pc\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOuter(b)
		if err != nil {
			return
		}
		switch o.Type {
		case TypeData:
			if len(o.Box) < BoxOverhead || len(o.Head) != DataHdr {
				t.Fatalf("accepted a data packet with a %d-byte box", len(o.Box))
			}
		case TypeInit:
			if len(o.Noise) != InitNoiseLen {
				t.Fatalf("initiation with a %d-byte Noise message", len(o.Noise))
			}
		case TypeResp:
			if len(o.Noise) != RespNoiseLen {
				t.Fatalf("response with a %d-byte Noise message", len(o.Noise))
			}
		case TypeProbe:
		default:
			t.Fatalf("accepted packet type %d", o.Type)
		}
	})
}

func FuzzParsePayload(f *testing.F) {
	for _, p := range []Payload{
		{Kind: KindHello, Port: 1, Name: "bob", Host: "h"},
		{Kind: KindMsg, Seq: 2, Base: 1, Text: "你好"},
		{Kind: KindAck, Seq: 1}, {Kind: KindPing, PingID: 3}, {Kind: KindBye},
	} {
		f.Add(p.AppendMarshal(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePayload(b)
		if err != nil {
			return
		}
		// Whatever is accepted re-encodes to something that parses the same.
		again, err := ParsePayload(p.AppendMarshal(nil))
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("re-encode: %v\n%+v\n%+v", err, p, again)
		}
		if p.Kind == KindHello && ValidName(p.Name) != nil {
			t.Fatalf("accepted bad name %q", p.Name)
		}
	})
}

// TestProbeVariants: the three probes round-trip, each starts with the
// plain probe (so a version 1 decoder that ignores trailing bytes takes it
// for one), and anything else after the header reads as a plain probe.
func TestProbeVariants(t *testing.T) {
	var key [32]byte
	key[0] = 7
	cookie := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	plain := AppendProbe(nil, &key, ProbePlain, &cookie)
	for _, tc := range []struct {
		name       string
		b          []byte
		size       int
		kind       byte
		withCookie bool
	}{
		{"plain", plain, ProbeLen, ProbePlain, false},
		{"cookie", AppendProbe(nil, &key, ProbeCookie, &cookie), CookieProbeLen, ProbeCookie, true},
		{"echo", AppendProbe(nil, &key, ProbeEcho, &cookie), CookieProbeLen, ProbeEcho, true},
		{"unknown kind", append(append(append([]byte{}, plain...), 9), cookie[:]...), CookieProbeLen, ProbePlain, false},
		{"truncated", append(append([]byte{}, plain...), ProbeEcho, 1, 2), ProbeLen + 3, ProbePlain, false},
	} {
		if len(tc.b) != tc.size {
			t.Errorf("%s: %d bytes, want %d", tc.name, len(tc.b), tc.size)
		}
		o, err := ParseOuter(tc.b)
		if err != nil || o.Type != TypeProbe || o.Key != key {
			t.Errorf("%s: outer %v %v", tc.name, o.Type, err)
		}
		if string(tc.b[:ProbeLen]) != string(plain) {
			t.Errorf("%s: does not start with the plain probe", tc.name)
		}
		kind, c := ParseProbe(tc.b)
		if kind != tc.kind || (tc.withCookie && c != cookie) {
			t.Errorf("%s: kind %d cookie %x, want kind %d", tc.name, kind, c, tc.kind)
		}
	}
}
