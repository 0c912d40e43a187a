package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
)

// A reader of the classic pcap files tcpdump writes, decoding Ethernet
// frames down to IPv4 and IPv6 UDP and TCP payloads.

// frame is one captured Ethernet frame, decoded down to the transport
// payload for UDP and TCP over IPv4 and IPv6.
type frame struct {
	Data     []byte // the whole frame
	Proto    byte   // IP protocol: 6 TCP, 17 UDP; 0 if neither (or IPv6 with extension headers)
	Src, Dst netip.AddrPort
	Payload  []byte // UDP or TCP payload
}

func (f frame) isUDP(port uint16) bool {
	return f.Proto == 17 && (f.Src.Port() == port || f.Dst.Port() == port)
}

func (f frame) isTCP(port uint16) bool {
	return f.Proto == 6 && (f.Src.Port() == port || f.Dst.Port() == port)
}

// parsePcap decodes a classic pcap file of Ethernet frames: a 24-byte
// global header, then per record a 16-byte header and the frame.
func parsePcap(b []byte) ([]frame, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("pcap: %d bytes, shorter than the global header", len(b))
	}
	var bo binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(b); m {
	case 0xa1b2c3d4, 0xa1b23c4d: // microsecond, nanosecond time stamps
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap: bad magic %#x", m)
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap: link type %d, want 1 (Ethernet)", lt)
	}
	var frames []frame
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return frames, fmt.Errorf("pcap: truncated record header at %d", off)
		}
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			return frames, fmt.Errorf("pcap: truncated record at %d", off)
		}
		frames = append(frames, decodeFrame(b[off:off+n]))
		off += n
	}
	return frames, nil
}

func decodeFrame(d []byte) frame {
	f := frame{Data: d}
	if len(d) < 14 {
		return f
	}
	var src, dst netip.Addr
	var l4 []byte
	var proto byte
	switch ip := d[14:]; binary.BigEndian.Uint16(d[12:]) {
	case 0x0800:
		if len(ip) < 20 {
			return f
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ip[0]>>4 != 4 || ihl < 20 || total < ihl || total > len(ip) {
			return f
		}
		ip = ip[:total] // drop Ethernet padding
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		l4, proto = ip[ihl:], ip[9]
	case 0x86dd: // IPv6: a 40-byte header; next header straight TCP or UDP
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return f
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return f
		}
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		l4, proto = ip[40:40+plen], ip[6]
	default:
		return f
	}
	switch proto {
	case 17:
		if len(l4) < 8 {
			return f
		}
		f.Proto, f.Payload = 17, l4[8:]
		f.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4))
		f.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:]))
	case 6:
		if len(l4) < 20 || int(l4[12]>>4)*4 > len(l4) {
			return f
		}
		f.Proto, f.Payload = 6, l4[int(l4[12]>>4)*4:]
		f.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4))
		f.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:]))
	}
	return f
}

// tcpStreams concatenates the TCP payloads of each direction of each
// connection in capture order (retransmissions included): enough to find a
// text split across segments.
func tcpStreams(frames []frame) map[string][]byte {
	s := map[string][]byte{}
	for _, f := range frames {
		if f.Proto == 6 && len(f.Payload) > 0 {
			k := f.Src.String() + ">" + f.Dst.String()
			s[k] = append(s[k], f.Payload...)
		}
	}
	return s
}

// TestPcapOfForgedDatagrams checks the two libraries against each other
// without a lab: datagrams built by forgedUDP, framed in Ethernet and
// written as a pcap file, come back from parsePcap with their addresses and
// payloads; a TCP segment's payload is found after its header, and bad
// files are refused.
func TestPcapOfForgedDatagrams(t *testing.T) {
	shared(t)
	a := netip.MustParseAddrPort("10.77.1.1:7117")
	b := netip.MustParseAddrPort("10.77.1.2:40000")
	payloads := [][]byte{[]byte("p2pc\x01\x02 first"), {}, bytes.Repeat([]byte{0xff}, 1400)}

	ether := func(ip []byte) []byte {
		f := make([]byte, 14, 14+len(ip)+4)
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		return append(append(f, ip...), 0, 0, 0, 0) // Ethernet padding is dropped
	}
	file := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	file = append(file, make([]byte, 16)...)
	file = binary.LittleEndian.AppendUint32(file, 1) // Ethernet
	record := func(frame []byte) {
		file = append(file, make([]byte, 8)...)
		file = binary.LittleEndian.AppendUint32(file, uint32(len(frame)))
		file = binary.LittleEndian.AppendUint32(file, uint32(len(frame)))
		file = append(file, frame...)
	}
	for _, p := range payloads {
		record(ether(forgedUDP(a, b, p)))
	}
	// A TCP segment: forgedUDP's IP header with protocol 6 and a 20-byte
	// TCP header (data offset 5) before the payload.
	tcp := forgedUDP(a, b, make([]byte, 12+len("stream")))
	tcp[9] = 6
	seg := tcp[20:]
	binary.BigEndian.PutUint16(seg[0:], a.Port())
	binary.BigEndian.PutUint16(seg[2:], b.Port())
	seg[12] = 5 << 4
	copy(seg[20:], "stream")
	record(ether(tcp))

	// An IPv6 UDP datagram (mDNS to ff02::fb).
	a6, b6 := netip.MustParseAddrPort("[fe80::1]:5353"), netip.MustParseAddrPort("[ff02::fb]:5353")
	udp6 := []byte{0x60, 0, 0, 0, 0, 8 + 5, 17, 255}
	udp6 = append(append(udp6, a6.Addr().AsSlice()...), b6.Addr().AsSlice()...)
	udp6 = binary.BigEndian.AppendUint16(udp6, a6.Port())
	udp6 = binary.BigEndian.AppendUint16(udp6, b6.Port())
	udp6 = append(udp6, 0, 8+5, 0, 0)
	udp6 = append(udp6, "mdns6"...)
	f6 := make([]byte, 14, 14+len(udp6))
	binary.BigEndian.PutUint16(f6[12:], 0x86dd)
	record(append(f6, udp6...))

	frames, err := parsePcap(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(payloads)+2 {
		t.Fatalf("%d frames, want %d", len(frames), len(payloads)+2)
	}
	if f := frames[len(payloads)+1]; f.Proto != 17 || f.Src != a6 || f.Dst != b6 || string(f.Payload) != "mdns6" || !f.isUDP(5353) {
		t.Errorf("IPv6 frame: proto %d %s -> %s payload %q", f.Proto, f.Src, f.Dst, f.Payload)
	}
	for i, p := range payloads {
		f := frames[i]
		if f.Proto != 17 || f.Src != a || f.Dst != b || !bytes.Equal(f.Payload, p) || !f.isUDP(7117) || f.isTCP(7117) {
			t.Errorf("frame %d: proto %d %s -> %s payload %q; want UDP %s -> %s %q", i, f.Proto, f.Src, f.Dst, f.Payload, a, b, p)
		}
	}
	if f := frames[len(payloads)]; f.Proto != 6 || string(f.Payload) != "stream" || !f.isTCP(40000) {
		t.Errorf("TCP frame: proto %d payload %q", f.Proto, f.Payload)
	}
	if s := tcpStreams(frames); string(s[a.String()+">"+b.String()]) != "stream" || len(s) != 1 {
		t.Errorf("tcpStreams = %q", s)
	}
	if ck := inetChecksum(forgedUDP(a, b, payloads[0])[:20]); ck != 0 {
		t.Errorf("the IPv4 header checksum does not verify: %#x", ck)
	}

	for name, bad := range map[string][]byte{
		"short":     file[:10],
		"magic":     append([]byte{1, 2, 3, 4}, file[4:]...),
		"truncated": file[:len(file)-3],
	} {
		if _, err := parsePcap(bad); err == nil {
			t.Errorf("%s file accepted", name)
		}
	}
}
