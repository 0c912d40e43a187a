package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
)

// Security tests against real p2pchat processes on a testnet lab: what a
// passive listener on the LAN sees (tcpdump on the lab's bridge), what an
// impostor claiming a known nickname gets, what replaying captured packets
// from another machine does, what a peer can make a receiver's terminal do,
// and the message size limit.
//
// Captures run tcpdump inside the lab's switch namespace on its bridge, so
// they see every frame between the simulated laptops and nothing else. The
// replaying "attacker" is this test binary re-executed inside a lab host's
// namespace (see init below); it sends only to lab addresses.

// labBridge is the bridge testnet.New creates in Lab.Switch.
const labBridge = "br0"

// ---------------------------------------------------------------------------
// Output collection

// notifyBuffer collects a process's output and wakes waiters on every write.
type notifyBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{changed: make(chan struct{})} }

func (n *notifyBuffer) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.b.Write(p)
	close(n.changed)
	n.changed = make(chan struct{})
	return len(p), nil
}

func (n *notifyBuffer) Bytes() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return bytes.Clone(n.b.Bytes())
}

func (n *notifyBuffer) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.Len()
}

// waitFor waits until ok holds for the output from byte offset from on. It
// gives up after timeout, or once done is closed and ok still fails.
func (n *notifyBuffer) waitFor(from int, timeout time.Duration, done <-chan struct{}, ok func([]byte) bool) bool {
	check := func() (bool, chan struct{}) {
		n.mu.Lock()
		defer n.mu.Unlock()
		b := n.b.Bytes()
		return ok(b[min(from, len(b)):]), n.changed
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		hit, changed := check()
		if hit {
			return true
		}
		select {
		case <-changed:
		case <-done:
			hit, _ = check()
			return hit
		case <-deadline.C:
			return false
		}
	}
}

// ---------------------------------------------------------------------------
// Nodes: with a chosen home directory, and in text (non-JSON) mode

// startWithHome is StartNode with -home dir instead of a fresh temporary
// directory, so that a node can be restarted with the same identity and
// known_peers. (StartNode passes its own -home first; the flag package
// keeps the last value given.)
func startWithHome(t *testing.T, h *testnet.Host, name, home string, extra ...string) *Proc {
	t.Helper()
	p := StartNode(t, h, name, append([]string{"-home", home}, extra...)...)
	p.Home = home
	return p
}

// textNode is a p2pchat without -json whose stdin is a pipe: "plain"
// output, as a person running it in a script or `| tee` would see it.
type textNode struct {
	name    string
	host    *testnet.Host
	args    []string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *notifyBuffer
	errOut  *notifyBuffer
	done    chan struct{}
	exitErr error
}

func startTextNode(t *testing.T, h *testnet.Host, name string, extra ...string) *textNode {
	t.Helper()
	needBinary(t)
	n := &textNode{
		name: name, host: h,
		args: append([]string{"-name", name, "-home", t.TempDir()}, extra...),
		out:  newNotifyBuffer(), errOut: newNotifyBuffer(),
		done: make(chan struct{}),
	}
	n.cmd = h.Command(context.Background(), binPath, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.errOut
	var err error
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("text node %s: start: %v", name, err)
	}
	go func() {
		n.exitErr = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			n.cmd.Process.Signal(syscall.SIGKILL)
			select {
			case <-n.done:
			case <-time.After(10 * time.Second):
			}
		}
		if t.Failed() {
			t.Logf("%s", n.report())
		}
	})
	return n
}

func (n *textNode) report() string {
	return fmt.Sprintf("---- text node %q (%s): %s %s\n---- stdout (quoted):\n%q\n---- stderr:\n%s",
		n.name, n.host.Name, binPath, strings.Join(n.args, " "), n.out.Bytes(), n.errOut.Bytes())
}

func (n *textNode) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(n.stdin, line+"\n"); err != nil {
		t.Fatalf("text node %s: writing stdin: %v\n%s", n.name, err, n.report())
	}
}

// waitOut waits until the output from offset from on contains s.
func (n *textNode) waitOut(t *testing.T, from int, timeout time.Duration, s string) {
	t.Helper()
	if !n.out.waitFor(from, timeout, n.done, func(b []byte) bool { return bytes.Contains(b, []byte(s)) }) {
		t.Fatalf("text node %s: %q not printed within %v\n%s", n.name, s, timeout, n.report())
	}
}

// finish ends the node's input and waits for it to exit; it returns the
// exit code.
func (n *textNode) finish(t *testing.T) int {
	t.Helper()
	n.stdin.Close()
	select {
	case <-n.done:
	case <-time.After(exitTimeout):
		t.Fatalf("text node %s did not exit within %v of its stdin ending\n%s", n.name, exitTimeout, n.report())
	}
	var ee *exec.ExitError
	if errors.As(n.exitErr, &ee) {
		return ee.ExitCode()
	}
	if n.exitErr != nil {
		t.Fatalf("text node %s: %v", n.name, n.exitErr)
	}
	return 0
}

// ---------------------------------------------------------------------------
// Capturing the LAN: tcpdump on the lab's bridge

type capture struct {
	file    string
	args    []string
	cmd     *exec.Cmd
	errOut  *notifyBuffer
	done    chan struct{}
	exitErr error
}

// startCapture runs tcpdump on the lab's bridge, whole frames, written to a
// file packet by packet; filter is an optional tcpdump filter expression.
// It returns once tcpdump listens.
func startCapture(t *testing.T, lab *testnet.Lab, filter ...string) *capture {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed (apt-get install tcpdump)")
	}
	c := &capture{
		file:   filepath.Join(t.TempDir(), "lan.pcap"),
		errOut: newNotifyBuffer(),
		done:   make(chan struct{}),
	}
	// -Z root: do not drop privileges, so the file can go in our temp dir.
	// --immediate-mode: hand each packet over at once; otherwise what sits
	// in the kernel ring (up to a second of traffic) is lost at SIGINT.
	c.args = append([]string{"netns", "exec", lab.Switch, "tcpdump", "-i", labBridge, "-n", "-U", "--immediate-mode", "-s", "0", "-Z", "root", "-w", c.file}, filter...)
	c.cmd = exec.Command("ip", c.args...)
	c.cmd.Stderr = c.errOut
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	go func() {
		c.exitErr = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Signal(syscall.SIGKILL)
			<-c.done
		}
	})
	if !c.errOut.waitFor(0, readyTimeout, c.done, func(b []byte) bool { return bytes.Contains(b, []byte("listening on")) }) {
		t.Fatalf("tcpdump did not start listening (ip %s): exit %v\n%s", strings.Join(c.args, " "), c.exitErr, c.errOut.Bytes())
	}
	return c
}

// stop ends the capture (SIGINT, as Ctrl-C) and returns the pcap file.
func (c *capture) stop(t *testing.T) []byte {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(exitTimeout):
		t.Fatalf("tcpdump did not exit within %v of SIGINT\n%s", exitTimeout, c.errOut.Bytes())
	}
	b, err := os.ReadFile(c.file)
	if err != nil {
		t.Fatalf("reading the capture: %v (tcpdump: %v)\n%s", err, c.exitErr, c.errOut.Bytes())
	}
	t.Logf("tcpdump: %s", strings.Join(strings.Fields(string(c.errOut.Bytes())), " "))
	return b
}

// frame is one captured Ethernet frame, decoded down to the transport
// payload for IPv4 UDP and TCP.
type frame struct {
	Data     []byte // the whole frame
	Proto    byte   // IP protocol: 6 TCP, 17 UDP; 0 if not IPv4
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
	if len(d) < 14+20 || binary.BigEndian.Uint16(d[12:]) != 0x0800 {
		return f
	}
	ip := d[14:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || total < ihl || total > len(ip) {
		return f
	}
	ip = ip[:total] // drop Ethernet padding
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	l4 := ip[ihl:]
	switch ip[9] {
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

// ---------------------------------------------------------------------------
// Small helpers for JSON answers

// sendAndConfirm sends text from from to to ("" for /all) and waits until
// every one of receivers shows it, as from from.Name, and from hears every
// copy acknowledged.
func sendAndConfirm(t *testing.T, from *Proc, to, text string, receivers ...*Proc) {
	t.Helper()
	sendAndConfirmAs(t, from, from.Name, to, text, receivers...)
}

// sendAndConfirmAs is sendAndConfirm where the receivers show the sender
// as shownAs (say bob@laptop3).
func sendAndConfirmAs(t *testing.T, from *Proc, shownAs, to, text string, receivers ...*Proc) {
	t.Helper()
	m := from.Mark()
	if to == "" {
		from.Send("/all " + text)
	} else {
		from.Send("/to " + to + " " + text)
	}
	sent := from.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "sent" || e.Event == "error" })
	if sent.Event == "error" || len(sent.IDs) != len(receivers) {
		t.Fatalf("%s: sending %q to %q answered %s (want %d ids)", from, trimForLog(text, 60), to, sent, len(receivers))
	}
	for _, r := range receivers {
		toField := "all"
		if to != "" {
			toField = r.Name
		}
		r.Wait(t, msgTimeout, IsMessage(shownAs, toField, text))
	}
	for _, id := range sent.IDs {
		from.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "delivered" && e.ID == id })
	}
}

// whoisAnswer is the JSON answer to /whois NAME (shell/doc.go).
type whoisAnswer struct {
	Name        string `json:"name"`
	Nick        string `json:"nick"`
	ID          string `json:"id"`
	Host        string `json:"host"`
	Addr        string `json:"addr"`
	Online      bool   `json:"online"`
	Fingerprint string `json:"fingerprint"`
}

func whois(t *testing.T, p *Proc, name string) whoisAnswer {
	t.Helper()
	m := p.Mark()
	p.Send("/whois " + name)
	e := p.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "whois" || e.Event == "error" })
	if e.Event == "error" {
		t.Fatalf("%s: /whois %s: %s\n%s", p, name, e.Text, p.Report())
	}
	var w whoisAnswer
	if err := json.Unmarshal([]byte(e.Raw), &w); err != nil {
		t.Fatalf("%s: /whois answer %s: %v", p, e.Raw, err)
	}
	return w
}

// readyFingerprint is the key fingerprint in a node's "ready" event.
func readyFingerprint(t *testing.T, p *Proc) string {
	t.Helper()
	var r struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal([]byte(p.Ready().Raw), &r); err != nil || r.Fingerprint == "" {
		t.Fatalf("%s: no fingerprint in ready event %s (%v)", p, p.Ready().Raw, err)
	}
	return r.Fingerprint
}

// command sends line and returns the first answer-like event after it.
func command(t *testing.T, p *Proc, line string, kinds ...string) Event {
	t.Helper()
	m := p.Mark()
	p.Send(line)
	return p.WaitFrom(t, m, msgTimeout, func(e Event) bool {
		for _, k := range kinds {
			if e.Event == k {
				return true
			}
		}
		return false
	})
}

// ---------------------------------------------------------------------------
// 1. A passive listener on the LAN

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
			// Without -peer nobody probes: every chat datagram is sealed
			// (type 2) and at least header + nonce + box overhead + inner
			// header long.
			if len(f.Payload) < 6 || f.Payload[5] != byte(wire.TypeSealed) || len(f.Payload) < 4+1+1+32+24+16+17 {
				t.Errorf("frame %d: chat datagram %s -> %s is not a sealed packet: % x", i, f.Src, f.Dst, f.Payload[:min(len(f.Payload), 40)])
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

// ---------------------------------------------------------------------------
// 2. Someone else calls itself bob

// TestImpostorKeepsNoName: alice knows bob (his key is pinned to "bob" on
// first sight). bob leaves; a process on another laptop with another key
// calls itself bob. alice must show it as bob@<its host>, warn, keep "bob"
// for the original, and only give it the name after /trust, which must
// survive a restart of alice.
func TestImpostorKeepsNoName(t *testing.T) {
	lab := testnet.New(t, 3)
	ha, hb, hi := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	aliceHome, bobHome := t.TempDir(), t.TempDir()

	alice := startWithHome(t, ha, "alice", aliceHome)
	bob := startWithHome(t, hb, "bob", bobHome)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	sendAndConfirm(t, bob, "alice", "hello from the real bob", alice)
	bobFP := readyFingerprint(t, bob)
	if w := whois(t, alice, "bob"); w.Fingerprint != bobFP {
		t.Fatalf("alice: /whois bob shows fingerprint %q, bob's ready event %q", w.Fingerprint, bobFP)
	}
	if b, err := os.ReadFile(filepath.Join(aliceHome, "known_peers")); err != nil || !bytes.Contains(b, []byte("bob")) {
		t.Errorf("alice's known_peers does not pin bob (%v):\n%s", err, b)
	}

	bob.Send("/quit")
	alice.Wait(t, msgTimeout, IsLeft("bob", "quit"))
	if code := bob.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("bob exited with %d after /quit", code)
	}

	// The impostor: same nickname, its own (fresh) identity, another laptop.
	am := alice.Mark()
	imp := StartNode(t, hi, "bob")
	impName := "bob@" + hi.Hostname
	impFP := readyFingerprint(t, imp)
	if impFP == bobFP {
		t.Fatalf("the impostor has bob's fingerprint %q: not a different identity", impFP)
	}
	j := alice.WaitFrom(t, am, joinTimeout, func(e Event) bool {
		return e.Event == "joined" && strings.HasPrefix(e.Name, "bob")
	})
	if j.Name != impName {
		t.Errorf("alice: the impostor joined as %q, want %q", j.Name, impName)
	}
	if j.Addr != peerAddr(hi) {
		t.Errorf("alice: the impostor joined from %q, want %q", j.Addr, peerAddr(hi))
	}
	w := alice.WaitFrom(t, am, msgTimeout, func(e Event) bool { return e.Event == "warning" && strings.Contains(e.Text, impName) })
	if !strings.Contains(strings.ToLower(w.Text), "different key") || !strings.Contains(w.Text, "/trust") {
		t.Errorf("alice: the impostor warning does not mention the different key and /trust: %q", w.Text)
	}
	imp.WaitJoined(t, "alice")

	// Its messages come from bob@<host>.
	m := alice.Mark()
	imp.SendTo(t, "alice", "it is me, bob, honest")
	if e := alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.Text == "it is me, bob, honest" }); e.From != impName {
		t.Errorf("alice: the impostor's message is from %q, want %q", e.From, impName)
	}

	// "bob" still means the original: what alice sends to bob (queued for
	// him while he is away) does not go to the impostor.
	if e := command(t, alice, "/to bob for the real bob only", "sent", "error"); e.Event != "sent" {
		t.Logf("alice: /to bob while the real bob is away: %s", e)
	}
	sendAndConfirm(t, alice, impName, "marker for the newcomer", imp)
	mk := imp.Wait(t, 0, IsMessage("alice", "bob", "marker for the newcomer"))
	noEvent(t, imp, imp.Events()[:mk.Seq], "a message alice meant for the real bob", func(e Event) bool {
		return e.Event == "message" && strings.Contains(e.Text, "for the real bob only")
	})

	// /whois tells them apart.
	wi := whois(t, alice, impName)
	if wi.Fingerprint != impFP || wi.Fingerprint == bobFP {
		t.Errorf("alice: /whois %s shows fingerprint %q; the impostor's is %q, the real bob's %q", impName, wi.Fingerprint, impFP, bobFP)
	}
	if wi.Nick != "bob" || wi.Host != hi.Hostname || wi.Name != impName {
		t.Errorf("alice: /whois %s = %+v, want name %q nick bob host %q", impName, wi, impName, hi.Hostname)
	}
	if wo := whois(t, alice, "bob"); wo.Fingerprint != bobFP {
		t.Errorf("alice: /whois bob shows %q, want the real bob's %q", wo.Fingerprint, bobFP)
	}
	noEvent(t, alice, alice.Events()[am:], "the impostor shown as plain bob", func(e Event) bool {
		return (e.Event == "joined" || e.Event == "renamed") && e.Name == "bob" || e.Event == "message" && e.From == "bob"
	})

	// alice checks the fingerprint in person and accepts the new key.
	if e := command(t, alice, "/trust "+impName, "info", "error"); e.Event != "info" {
		t.Fatalf("alice: /trust %s answered %s", impName, e)
	}
	m = alice.Mark()
	imp.SendTo(t, "alice", "now you trust me")
	if e := alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "message" && e.Text == "now you trust me" }); e.From != "bob" {
		t.Errorf("alice: after /trust the message is from %q, want bob", e.From)
	}
	if w := whois(t, alice, "bob"); w.Fingerprint != impFP {
		t.Errorf("alice: after /trust, /whois bob shows %q, want the new key %q", w.Fingerprint, impFP)
	}

	// The pin is on disk: alice restarts with the same -home.
	im := imp.Mark()
	alice.Send("/quit")
	if code := alice.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("alice exited with %d after /quit", code)
	}
	alice2 := startWithHome(t, ha, "alice", aliceHome)
	if j := alice2.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "joined" && strings.HasPrefix(e.Name, "bob") }); j.Name != "bob" {
		t.Errorf("restarted alice: the trusted key joined as %q, want bob", j.Name)
	}
	imp.WaitFrom(t, im, joinTimeout, IsJoined("alice"))
	imp.SendTo(t, "alice", "after alice restarted")
	if e := alice2.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "message" && e.Text == "after alice restarted" }); e.From != "bob" {
		t.Errorf("restarted alice: the trusted key's message is from %q, want bob", e.From)
	}
	if w := whois(t, alice2, "bob"); w.Fingerprint != impFP {
		t.Errorf("restarted alice: /whois bob shows %q, want the trusted key %q", w.Fingerprint, impFP)
	}

	// And the original bob, back with his old key, is now the one set apart.
	a2 := alice2.Mark()
	bob2 := startWithHome(t, hb, "bob", bobHome)
	if fp := readyFingerprint(t, bob2); fp != bobFP {
		t.Fatalf("bob restarted with the same -home has fingerprint %q, was %q", fp, bobFP)
	}
	oldName := "bob@" + hb.Hostname
	if j := alice2.WaitFrom(t, a2, joinTimeout, func(e Event) bool { return e.Event == "joined" && strings.HasPrefix(e.Name, "bob") }); j.Name != oldName {
		t.Errorf("restarted alice: the old key joined as %q, want %q", j.Name, oldName)
	}
	alice2.WaitFrom(t, a2, msgTimeout, func(e Event) bool { return e.Event == "warning" && strings.Contains(e.Text, oldName) })
}

// ---------------------------------------------------------------------------
// 3. Replaying captured packets from another machine

// Environment of the replay helper: this test binary, re-executed by
// runReplay inside the attacker's namespace, sends the datagrams in the
// file named by replayEnvFile to every address in replayEnvTo; with
// replayEnvFrom it forges that source address and port with a raw socket.
const (
	replayEnvFile = "P2PCHAT_E2E_REPLAY_FILE"
	replayEnvTo   = "P2PCHAT_E2E_REPLAY_TO"
	replayEnvFrom = "P2PCHAT_E2E_REPLAY_FROM"
)

func init() {
	file := os.Getenv(replayEnvFile)
	if file == "" {
		return
	}
	n, err := replayHelper(file, os.Getenv(replayEnvTo), os.Getenv(replayEnvFrom))
	if err != nil {
		fmt.Fprintf(os.Stderr, "replay helper: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("sent %d datagrams\n", n)
	os.Exit(0)
}

// labNet holds every address testnet uses (10.77.k.i): the helper sends
// nowhere else.
var labNet = netip.MustParsePrefix("10.77.0.0/16")

func replayHelper(file, to, from string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var payloads [][]byte
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if 4+n > len(b) {
			return 0, errors.New("truncated payload file")
		}
		payloads = append(payloads, b[4:4+n])
		b = b[4+n:]
	}
	var dsts []netip.AddrPort
	for _, s := range strings.Split(to, ",") {
		a, err := netip.ParseAddrPort(s)
		if err != nil || !labNet.Contains(a.Addr()) {
			return 0, fmt.Errorf("destination %q is not a lab address", s)
		}
		dsts = append(dsts, a)
	}
	sent := 0
	if from == "" {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		for _, p := range payloads {
			for _, d := range dsts {
				if _, err := c.WriteToUDPAddrPort(p, d); err != nil {
					return sent, err
				}
				sent++
			}
		}
		return sent, nil
	}
	src, err := netip.ParseAddrPort(from)
	if err != nil || !labNet.Contains(src.Addr()) {
		return 0, fmt.Errorf("source %q is not a lab address", from)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return 0, fmt.Errorf("raw socket: %w", err)
	}
	defer syscall.Close(fd)
	for _, p := range payloads {
		for _, d := range dsts {
			if err := syscall.Sendto(fd, forgedUDP(src, d, p), 0, &syscall.SockaddrInet4{Addr: d.Addr().As4()}); err != nil {
				return sent, fmt.Errorf("sendto %s: %w", d, err)
			}
			sent++
		}
	}
	return sent, nil
}

// forgedUDP builds an IPv4 packet holding a UDP datagram from src to dst.
func forgedUDP(src, dst netip.AddrPort, payload []byte) []byte {
	ulen := 8 + len(payload)
	b := make([]byte, 20+ulen)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[6] = 0x40 // don't fragment
	b[8] = 64   // TTL
	b[9] = 17
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], s4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[10:], inetChecksum(b[:20]))
	u := b[20:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	copy(u[8:], payload)
	pseudo := append(append(append([]byte{}, s4[:]...), d4[:]...), 0, 17, byte(ulen>>8), byte(ulen))
	cs := inetChecksum(append(pseudo, u...))
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], cs)
	return b
}

func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// runReplay sends payloads to every one of to from host h, forging the
// source address from when it is valid, and checks they all went out.
func runReplay(t *testing.T, h *testnet.Host, payloads [][]byte, from netip.AddrPort, to ...netip.AddrPort) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, p := range payloads {
		file = binary.BigEndian.AppendUint32(file, uint32(len(p)))
		file = append(file, p...)
	}
	path := filepath.Join(t.TempDir(), "replay.bin")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, d := range to {
		dsts = append(dsts, d.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h.Name, exe)
	cmd.Env = append(os.Environ(), replayEnvFile+"="+path, replayEnvTo+"="+strings.Join(dsts, ","), replayEnvFrom+"=")
	if from.IsValid() {
		cmd.Env[len(cmd.Env)-1] = replayEnvFrom + "=" + from.String()
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("replay helper on %s: %v\n%s", h.Name, err, out)
	}
	want := fmt.Sprintf("sent %d datagrams", len(payloads)*len(to))
	if !strings.Contains(string(out), want) {
		t.Fatalf("replay helper on %s: %q, want %q", h.Name, out, want)
	}
	how := "from its own address"
	if from.IsValid() {
		how = "forged as coming from " + from.String()
	}
	t.Logf("%s: %s to %s, %s", h.Name, want, strings.Join(dsts, ", "), how)
}

// countReplayed counts the frames of a capture that carry one of payloads
// to one of dsts.
func countReplayed(t *testing.T, pcap []byte, payloads [][]byte, dsts ...netip.AddrPort) int {
	t.Helper()
	frames, err := parsePcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, p := range payloads {
		set[string(p)] = true
	}
	n := 0
	for _, f := range frames {
		if f.Proto == 17 && set[string(f.Payload)] {
			for _, d := range dsts {
				if f.Dst == d {
					n++
				}
			}
		}
	}
	return n
}

func countText(p *Proc, text string) int {
	return countEvents(p, func(e Event) bool { return e.Event == "message" && strings.Contains(e.Text, text) })
}

// TestReplayAcrossTheLAN records what alice sends bob over UDP while she
// sends "replay-me", then replays every one of those datagrams from a
// fourth machine to bob and to carol: from the attacker's own address, and
// forged as coming from alice's. bob must show the message once, carol
// never, and neither may take the attacker's address for alice's. Then bob
// restarts (same identity) and the same datagrams are replayed to him.
func TestReplayAcrossTheLAN(t *testing.T) {
	lab := testnet.New(t, 4)
	ha, hb, hc, hx := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2], lab.Hosts[3]
	bobHome := t.TempDir()
	aliceAt, bobAt, carolAt := netip.MustParseAddrPort(peerAddr(ha)), netip.MustParseAddrPort(peerAddr(hb)), netip.MustParseAddrPort(peerAddr(hc))

	cp := startCapture(t, lab, "udp", "and", "dst", "port", fmt.Sprint(port))
	alice := StartNode(t, ha, "alice")
	bob := startWithHome(t, hb, "bob", bobHome)
	carol := StartNode(t, hc, "carol")
	alice.WaitJoined(t, "bob", "carol")
	bob.WaitJoined(t, "alice", "carol")
	carol.WaitJoined(t, "alice", "bob")
	sendAndConfirm(t, alice, "bob", "replay-me", bob)
	pcap := cp.stop(t)

	frames, err := parsePcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	var recorded [][]byte
	for _, f := range frames {
		if f.Proto == 17 && f.Src.Addr() == ha.IP && f.Dst == bobAt && bytes.HasPrefix(f.Payload, []byte(wire.Magic)) {
			recorded = append(recorded, bytes.Clone(f.Payload))
		}
	}
	t.Logf("capture: %d bytes, %d frames to port %d; %d datagrams from alice to bob (the message and whatever else she sent him: hello, acks)", len(pcap), len(frames), port, len(recorded))
	if len(recorded) == 0 {
		t.Fatalf("no datagram from alice to bob captured")
	}

	checkAddr := func(t *testing.T, p *Proc, name string, want netip.AddrPort) {
		t.Helper()
		if pe := findPeer(t, p, name); pe.Addr != want.String() {
			t.Errorf("%s: after the replay %s's address is %q, want %q: the attacker's datagrams moved it", p, name, pe.Addr, want)
		}
	}

	t.Run("live-receiver", func(t *testing.T) {
		for i, from := range []netip.AddrPort{{}, aliceAt} {
			rc := startCapture(t, lab, "udp", "and", "dst", "port", fmt.Sprint(port))
			runReplay(t, hx, recorded, from, bobAt, carolAt)
			n := countReplayed(t, rc.stop(t), recorded, bobAt, carolAt)
			t.Logf("the bridge carried %d replayed datagrams to bob and carol", n)
			if n < 2*len(recorded) {
				t.Errorf("only %d of %d replayed datagrams seen on the bridge", n, 2*len(recorded))
			}
			// alice's next messages come after the replayed datagrams in
			// bob's and carol's sockets: once they are shown, so would a
			// replay have been.
			sendAndConfirm(t, alice, "bob", fmt.Sprintf("marker after replay %d", i+1), bob)
			sendAndConfirm(t, alice, "carol", fmt.Sprintf("marker after replay %d", i+1), carol)
			if n := countText(bob, "replay-me"); n != 1 {
				t.Errorf("bob shows \"replay-me\" %d times, want once", n)
			}
			if n := countText(carol, "replay-me"); n != 0 {
				t.Errorf("carol shows \"replay-me\" %d times; it was never sent to her", n)
			}
			checkAddr(t, bob, "alice", aliceAt)
			checkAddr(t, carol, "alice", aliceAt)
			sendAndConfirm(t, bob, "alice", fmt.Sprintf("bob still reaches alice %d", i+1), alice)
		}
		for _, p := range []*Proc{bob, carol} {
			noEvent(t, p, p.Events(), "warning or stray message after the replay", func(e Event) bool {
				return e.Event == "warning" || e.Event == "message" && e.From != "alice"
			})
		}
	})

	// bob restarts with the same key. His new process has no memory of
	// what alice sent the old one: the replay window starts empty, and the
	// recorded datagrams are sealed to the same key with alice's current
	// (boot, counter), so nothing in them says they are old.
	t.Run("restarted-receiver", func(t *testing.T) {
		am := alice.Mark()
		bob.Send("/quit")
		bob.ExitCode(t, exitTimeout)
		bob2 := startWithHome(t, hb, "bob", bobHome)
		bob2.WaitJoined(t, "alice")
		alice.WaitFrom(t, am, joinTimeout, IsJoined("bob"))

		// Replayed before alice sends the new bob anything: he has no
		// stream state for alice yet. (Once a newer message of alice's has
		// arrived, the replayed one is below it and dropped as a duplicate.)
		runReplay(t, hx, recorded, aliceAt, bobAt)
		sendAndConfirm(t, alice, "bob", "marker after the replay to the new bob", bob2)
		if n := countText(bob2, "replay-me"); n != 0 {
			t.Errorf("restarted bob shows \"replay-me\" %d times: datagrams alice sent to bob's previous process, replayed by another machine, were accepted and the old message shown again (README: \"replayed packets are dropped\", \"shown once each\")", n)
		}
		checkAddr(t, bob2, "alice", aliceAt)
	})
}

// ---------------------------------------------------------------------------
// 4. What a peer can make another's terminal do

// forbiddenInTerminal describes the first byte sequence in out that must
// not reach a terminal from the network: a C0 control other than "\n"
// (ESC, BEL, CR, BS, ...), DEL, a C1 control (U+0080-U+009F) or a bidi
// embedding/override/isolate; "" if there is none.
func forbiddenInTerminal(out []byte) string {
	if !utf8.Valid(out) {
		return "invalid UTF-8"
	}
	for i, r := range string(out) {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U at byte %d, in %q", r, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
	return ""
}

// TestTerminalEscapesNeutralised: alice sends messages full of terminal
// escapes to bob, who runs p2pchat in text mode with its output going to a
// pipe (as to a terminal: no -json), and to carol (-json). alice's host
// name, which peers see in her hello, carries escapes too, and so does her
// away text. bob's output must not contain a single control character but
// "\n"; carol must get the exact texts, JSON-escaped. And nicknames with
// control characters are refused at the start.
func TestTerminalEscapesNeutralised(t *testing.T) {
	lab := testnet.New(t, 3)
	h0 := lab.Hosts[0]
	// Same namespace as lab.Hosts[0], with a host name that is an attack.
	evilHost := &testnet.Host{Name: h0.Name, Hostname: "evil\x1b]0;pwned-host\x07\x1b[31m\x7f", IP: h0.IP, Index: h0.Index, Lab: lab}
	// (p2pchat refuses to advertise such a host name over mDNS, and then
	// does no discovery at all: alice finds the others with -peer, and
	// her hello, which carries the host name, reaches them that way.)
	alice := StartNode(t, evilHost, "alice", "-mdns=false", "-peer", peerAddr(lab.Hosts[1]), "-peer", peerAddr(lab.Hosts[2]))
	bob := startTextNode(t, lab.Hosts[1], "bob")
	carol := StartNode(t, lab.Hosts[2], "carol")
	alice.WaitJoined(t, "bob", "carol")
	carol.WaitJoined(t, "alice")

	texts := []string{
		"\x1b[2J\x1b]0;pwned\x07 esc-text-1",
		"before\r\x1b[1A\x1b[2K10:00 carol: fake line\x08\x7f esc-text-2",
		"\u009b31m\u202eesc-text-3\u202c\u2066 \x1bPdcs\x1b\\ \x1b]52;c;cHduZWQ=\x07 \x1b(0\x0e\x0f\x1bc\x05",
		"\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ \u2028\u0085next esc-text-4 \x1b[6n\x1b[21t",
	}
	// Direct to bob, then to everyone; bob (text mode) is checked on his
	// output, alice hears every copy acknowledged.
	for _, text := range texts {
		for _, line := range []string{"/to bob " + text, "/all " + text} {
			m := alice.Mark()
			sent := command(t, alice, line, "sent", "error")
			if sent.Event != "sent" {
				t.Fatalf("alice: %q answered %s", line, sent)
			}
			for _, id := range sent.IDs {
				alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "delivered" && e.ID == id })
			}
		}
	}
	for i := range texts {
		bob.waitOut(t, 0, msgTimeout, fmt.Sprintf("esc-text-%d", i+1))
	}
	// carol (-json) has every text exactly, and her output lines are clean.
	for _, text := range texts {
		carol.Wait(t, msgTimeout, IsMessage("alice", "all", text))
	}
	// JSON mode escapes every C0 control (ESC, BEL, CR...). It does not
	// escape DEL, C1 controls or bidi overrides (encoding/json leaves them
	// as they are): logged, not failed, since -json output is for programs.
	for _, e := range carol.Events() {
		if i := bytes.IndexFunc([]byte(e.Raw), func(r rune) bool { return r < 0x20 }); i >= 0 {
			t.Errorf("carol's JSON output holds a raw C0 control at byte %d: %q", i, e.Raw)
		} else if bad := forbiddenInTerminal([]byte(e.Raw)); bad != "" && e.Event == "message" {
			t.Logf("carol (-json) passes through unescaped: %s", bad)
		}
	}

	// alice's away text, shown by /peers and /whois (if this build has /away).
	if e := command(t, alice, "/away \x1b]0;away-pwned\x07gone\x1b[5m fishing", "info", "error"); e.Event != "info" {
		t.Logf("alice: /away answered %s (not checked further)", e)
	}
	fp := readyFingerprint(t, alice)
	m := bob.out.Len()
	bob.send(t, "/whois alice")
	bob.waitOut(t, m, msgTimeout, fp)
	m = bob.out.Len()
	bob.send(t, "/peers")
	bob.waitOut(t, m, msgTimeout, h0.IP.String())
	m = bob.out.Len()
	bob.send(t, "/history")
	bob.waitOut(t, m, msgTimeout, "esc-text-4")
	if code := bob.finish(t); code != 0 {
		t.Errorf("bob (text mode) exited with %d", code)
	}

	out := bob.out.Bytes()
	if bad := forbiddenInTerminal(out); bad != "" {
		t.Errorf("bob's text output holds a control character from the network: %s", bad)
	}
	for _, c := range []byte{0x1b, 0x07} {
		if i := bytes.IndexByte(out, c); i >= 0 {
			t.Errorf("bob's output has byte %#02x at %d", c, i)
		}
	}
	// The forged line inside message 2 cannot pass for a line of its own.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "fake line") && !strings.HasPrefix(l, " ") && !strings.Contains(l, "alice") {
			t.Errorf("bob: a peer's text produced a line that looks like p2pchat's own: %q", l)
		}
	}
	t.Logf("bob's text output (%d bytes, quoted):\n%q", len(out), out)

	// Nicknames with control characters are refused at the start, and the
	// refusal itself does not print them raw.
	for _, name := range []string{"evil\x1b[31m", "bell\a", "cr\rname", "nl\nname", "tab\tname", "del\x7f", "c1\u009bname", "\u202eevil"} {
		ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
		cmd := lab.Hosts[2].Command(ctx, binPath, "-json", "-mdns=false", "-name", name, "-home", t.TempDir())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("-name %q: %v, want exit status 2; stdout %q stderr %q", name, err, stdout.Bytes(), stderr.Bytes())
			continue
		}
		if !strings.Contains(stderr.String(), "-name") {
			t.Errorf("-name %q: the error does not say what is wrong: %q", name, stderr.Bytes())
		}
		if bad := forbiddenInTerminal(bytes.TrimSuffix(stderr.Bytes(), []byte("\n"))); bad != "" {
			t.Errorf("-name %q: the error message echoes a control character: %s", name, bad)
		}
	}
	// /nick too.
	if e := command(t, alice, "/nick ev\x1b[2Jil", "info", "error"); e.Event != "error" {
		t.Errorf("alice: /nick with an escape answered %s, want an error", e)
	}
}

// ---------------------------------------------------------------------------
// 5. The message size limit

// TestLimits: a message of MaxTextBytes+1 bytes is refused with an error
// naming the limit and nothing is sent; one of exactly MaxTextBytes
// (Chinese, so three bytes a character) arrives whole.
func TestLimits(t *testing.T) {
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	limit := fmt.Sprint(peer.MaxTextBytes)

	tooLong := strings.Repeat("x", peer.MaxTextBytes-1) + "é" // MaxTextBytes+1 bytes
	if len(tooLong) != peer.MaxTextBytes+1 {
		t.Fatalf("test bug: %d bytes", len(tooLong))
	}
	for _, line := range []string{"/to bob " + tooLong, "/all " + tooLong} {
		m := alice.Mark()
		e := command(t, alice, line, "sent", "error")
		if e.Event != "error" || !strings.Contains(e.Text, limit) {
			t.Errorf("alice: %s... of %d bytes answered %s; want an error naming the limit %s", line[:6], len(tooLong), e, limit)
		}
		noEvent(t, alice, alice.Events()[m:], "a sent answer for a refused message", IsKind("sent"))
	}

	// Exactly the limit: 10,922 Chinese characters (all different runs of
	// them, so reordered chunks would show) and two ASCII letters.
	var b strings.Builder
	for i := 0; b.Len()+3 <= peer.MaxTextBytes-2; i++ {
		b.WriteRune(rune(0x4e00 + i%2000))
	}
	b.WriteString("ok")
	full := b.String()
	if len(full) != peer.MaxTextBytes {
		t.Fatalf("test bug: %d bytes", len(full))
	}
	ids := alice.SendTo(t, "bob", full)
	got := bob.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "alice" })
	if got.Text != full {
		t.Fatalf("the %d-byte message arrived altered: %d bytes, first difference at byte %d", len(full), len(got.Text), firstDiff(got.Text, full))
	}
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	// The refused ones never arrived: bob's first message is the full one
	// (alice's messages are shown in order), and it is the only one.
	sendAndConfirm(t, alice, "bob", "end of limits", bob)
	if n := countEvents(bob, IsKind("message")); n != 2 {
		t.Errorf("bob got %d messages, want 2 (the full one and the end marker)", n)
	}
}
