package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestCaptureShowsNoText records every frame on the LAN while three nodes
// (one in -tcp mode) find each other and chat, directly and with /all, over
// UDP and TCP (a -tcp node, and a 5,000-character message that is too big
// for a datagram), then looks for the message texts in the capture.
//
// What a listener may see, by design (README, "Not promised"): who talks to
// whom, when and how much, the public keys in the outer header, and the
// mDNS advertisement, whose TXT record carries each node's nickname, id,
// key and host name in the clear. So nicknames may appear in mDNS packets
// (port 5353), and nowhere else; message texts must appear nowhere.
func TestCaptureShowsNoText(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	cp := startCapture(t, lab)

	// Nicknames of five bytes or more, so that finding one by chance in
	// random ciphertext is practically impossible.
	alice := StartNode(t, lab.Hosts[0], "alice")
	robert := StartNode(t, lab.Hosts[1], "robert")
	zw := StartNode(t, lab.Hosts[2], "张伟", "-tcp")
	alice.WaitJoined(t, "robert", "张伟")
	robert.WaitJoined(t, "alice", "张伟")
	zw.WaitJoined(t, "alice", "robert")

	const ascii = "SECRET-PLAINTEXT-7f3a"
	const chinese = "机密内容"
	var lb strings.Builder
	for i := 0; lb.Len() < 5000; i++ {
		fmt.Fprintf(&lb, "LONG-SECRET-%04d|", i)
	}
	long := lb.String()[:5000]

	sendAndConfirm(t, alice, "robert", ascii+" alice to robert over udp", robert)
	sendAndConfirm(t, robert, "alice", chinese+" robert to alice over udp", alice)
	sendAndConfirm(t, alice, "", ascii+" "+chinese+" alice to all", robert, zw)
	sendAndConfirm(t, zw, "alice", chinese+" "+ascii+" from the tcp-only node", alice)
	sendAndConfirm(t, alice, "张伟", ascii+" alice to the tcp-only node", zw)
	sendAndConfirm(t, robert, "alice", long, alice)             // too big for UDP: TCP
	sendAndConfirm(t, zw, "", long+" "+chinese, alice, robert)  // from the -tcp node
	sendAndConfirm(t, alice, "", chinese+" "+long, robert, zw)  // big, to everyone
	sendAndConfirm(t, robert, "张伟", "短 "+chinese+" "+ascii, zw) // udp node to tcp node

	pcap := cp.stop(t)
	frames, err := parsePcap(pcap)
	if err != nil {
		t.Fatalf("%v (%d bytes)", err, len(pcap))
	}

	// What was captured.
	var udpP2P, udpP2PBytes, tcpP2P, tcpP2PBytes, mdns, other int
	for i, f := range frames {
		switch {
		case f.isUDP(port):
			if !bytes.HasPrefix(f.Payload, []byte(wire.Magic)) {
				t.Errorf("frame %d: UDP %s -> %s on the chat port without the p2pchat magic: % x", i, f.Src, f.Dst, f.Payload[:min(len(f.Payload), 16)])
				continue
			}
			udpP2P++
			udpP2PBytes += len(f.Payload)
			// Without -peer nobody probes: every chat datagram is of
			// version 2, a handshake or data in a session (wire.go), none
			// of version 1.
			if err := sessionPacket(f.Payload); err != nil {
				t.Errorf("frame %d: chat datagram %s -> %s: %v: % x", i, f.Src, f.Dst, err, f.Payload[:min(len(f.Payload), 40)])
			}
		case f.isTCP(port):
			if len(f.Payload) > 0 {
				tcpP2P++
				tcpP2PBytes += len(f.Payload)
			}
		case f.isUDP(5353):
			mdns++
		default:
			other++
		}
	}
	t.Logf("capture: %d bytes, %d frames: %d p2pchat UDP datagrams (%d payload bytes), %d TCP segments with data on port %d (%d payload bytes), %d mDNS, %d other (ARP, IPv6, bare TCP acks...)",
		len(pcap), len(frames), udpP2P, udpP2PBytes, tcpP2P, port, tcpP2PBytes, mdns, other)
	if len(frames) == 0 || udpP2P == 0 || tcpP2P == 0 || mdns == 0 {
		t.Fatalf("the capture does not show the chat: %d frames, %d p2pchat datagrams, %d TCP segments, %d mDNS", len(frames), udpP2P, tcpP2P, mdns)
	}
	streams := tcpStreams(frames)
	var streamBytes []byte
	for _, s := range streams {
		streamBytes = append(streamBytes, s...)
	}
	if !bytes.Contains(streamBytes, []byte(wire.Magic)) {
		t.Errorf("no TCP stream on port %d carries the p2pchat magic %q", port, wire.Magic)
	}
	// Every TCP frame is a version-2 session packet too.
	tcpFrames := 0
	for k, st := range streams {
		for len(st) >= 4 {
			n := int(binary.BigEndian.Uint32(st))
			if n > len(st)-4 {
				break // the capture ended mid-frame
			}
			if err := sessionPacket(st[4 : 4+n]); err != nil {
				t.Errorf("TCP stream %s, frame %d: %v", k, tcpFrames, err)
			}
			tcpFrames++
			st = st[4+n:]
		}
	}
	if tcpFrames == 0 {
		t.Error("no TCP frame parsed")
	}
	noVersion1(t, pcap, streams)
	// Three big messages, two of them to two peers: at least 5 x 5,000
	// bytes went over TCP.
	if tcpP2PBytes < 5*5000 {
		t.Errorf("only %d TCP payload bytes: the long messages did not go over TCP?", tcpP2PBytes)
	}

	// No text, anywhere: not in the raw file, not in any reassembled TCP
	// stream (a text split across two segments).
	needles := map[string]string{
		"ASCII secret":             ascii,
		"Chinese secret":           chinese,
		"long message marker":      "LONG-SECRET-",
		"long message, bytes 0-40": long[:40],
		"long message, middle 40":  long[2480:2520],
		"long message, last 40":    long[len(long)-40:],
		"a message's tail":         " alice to robert over udp",
		"another message's tail":   "from the tcp-only node",
	}
	for what, s := range needles {
		if i := bytes.Index(pcap, []byte(s)); i >= 0 {
			t.Errorf("the %s %q is in the capture in the clear (file offset %d)", what, s, i)
		}
		for k, st := range streams {
			if bytes.Contains(st, []byte(s)) {
				t.Errorf("the %s %q is in the clear in TCP stream %s", what, s, k)
			}
		}
	}

	// Nicknames: only in mDNS.
	for _, nick := range []string{"alice", "robert", "张伟"} {
		inMDNS := 0
		for i, f := range frames {
			if !bytes.Contains(f.Data, []byte(nick)) {
				continue
			}
			if f.isUDP(5353) {
				inMDNS++
				continue
			}
			t.Errorf("nickname %q in the clear in frame %d (proto %d, %s -> %s), which is not mDNS", nick, i, f.Proto, f.Src, f.Dst)
		}
		t.Logf("nickname %q: in %d mDNS packets (the TXT record, by design), nowhere else", nick, inMDNS)
	}
}

// sessionPacket checks that b is a version-2 chat packet of a session: an
// initiation, a response or data (never version 1's sealed packet, never
// a probe: nobody probes without -peer).
func sessionPacket(b []byte) error {
	if len(b) < 6 || b[4] != wire.Version {
		return fmt.Errorf("not version %d", wire.Version)
	}
	o, err := wire.ParseOuter(b)
	if err != nil {
		return err
	}
	switch o.Type {
	case wire.TypeInit, wire.TypeResp, wire.TypeData:
		return nil
	}
	return errors.New("not a session packet")
}

// noVersion1 fails the test if the capture, or a reassembled TCP stream,
// holds the start of a version-1 chat packet ("p2pc" and version 1): a
// version-2 node sends none (5 given bytes in random ciphertext: about one
// chance in 2^40 per offset).
func noVersion1(t *testing.T, pcap []byte, streams map[string][]byte) {
	t.Helper()
	v1 := append([]byte(wire.Magic), 1)
	if i := bytes.Index(pcap, v1); i >= 0 {
		t.Errorf("a version-1 packet header in the capture (file offset %d)", i)
	}
	for k, st := range streams {
		if bytes.Contains(st, v1) {
			t.Errorf("a version-1 packet header in TCP stream %s", k)
		}
	}
}
