// Package hostile is a p2pchat peer driven packet by packet over a real
// network, for tests that attack a node the way an authenticated stranger
// can: anyone can make a key, answer a challenge and then send whatever it
// likes. It speaks the wire format of internal/wire and nothing more: no
// retransmission, no window, no politeness.
package hostile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// Peer is one hostile key talking to one target node, over UDP or over one
// TCP connection (which several Peers may share, as one attacker would).
type Peer struct {
	Public  [32]byte
	sl      *peer.SessionLayer // its sessions (version 2: a handshake, then data in the session)
	target  netip.AddrPort
	key     [32]byte // the target's public key, learned from its first answer (p.mu)
	known   bool     // key is set (p.mu)
	boot    uint64
	counter uint64
	toBoot  uint64

	conn    Conn
	mu      sync.Mutex
	inbox   chan wire.Payload
	cookies chan [16]byte // cookies of the target's cookie probes (any peer's on this Conn)
}

// Conn carries a Peer's packets: a UDP socket, or a shared TCP connection.
type Conn interface {
	send(b []byte) error
	register(p *Peer)
}

// New makes a fresh key that will talk to target over c.
func New(target netip.AddrPort, c Conn) (*Peer, error) {
	id, err := peer.NewIdentity()
	if err != nil {
		return nil, fmt.Errorf("hostile: key: %w", err)
	}
	p := &Peer{Public: id.Public, sl: peer.NewSessionLayer(id), target: target, conn: c,
		boot: uint64(time.Now().UnixNano()), inbox: make(chan wire.Payload, 4096), cookies: make(chan [16]byte, 16)}
	if !wire.CanonicalKey(&p.Public) { // one key in 2^250: make another
		return New(target, c)
	}
	c.register(p)
	return p, nil
}

// Join introduces the peer as name: a probe (over UDP the echo of the
// cookie the target answers it with), then the answer to the target's
// challenge, as an honest peer would. It returns once the target has taken
// the key in (its hello answering ours came back), or an error after
// timeout.
func (p *Peer) Join(name, host string, timeout time.Duration) error {
	probe := wire.AppendProbe(nil, &p.Public, wire.ProbePlain, nil)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := p.conn.send(probe); err != nil {
			return err
		}
		hello, err := p.awaitHello(500 * time.Millisecond)
		if err != nil {
			continue // lost: probe again
		}
		if err := p.Say(p.Hello(name, host, 0, hello.Challenge)); err != nil {
			return err
		}
		if _, err := p.Await(wire.KindHello, time.Until(deadline)); err != nil {
			return fmt.Errorf("hostile: %s was not taken in: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("hostile: no answer to the probe from %s", p.target)
}

// TargetKey is the target's public key, once an answer of the target's
// reached this peer (after Join).
func (p *Peer) TargetKey() ([32]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.key, p.known
}

// Learn sets the target's key (as TargetKey gave it for another peer), so
// that Seal works before any answer came; a key already learned stays.
func (p *Peer) Learn(key [32]byte) { p.learn(key) }

// JoinKnowing is Join for a peer that already knows the target's key (one
// of the attacker's other peers learned it, TargetKey): instead of a probe
// it opens with a sealed hello, which the target answers with its
// challenge at once. Answers to probes are spaced per source address, so
// many keys behind one address join far faster this way.
func (p *Peer) JoinKnowing(key [32]byte, name, host string, timeout time.Duration) error {
	p.Learn(key)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := p.Say(p.Hello(name, host, wire.FlagReply, [16]byte{})); err != nil {
			return err
		}
		hello, err := p.Await(wire.KindHello, 500*time.Millisecond)
		if err != nil {
			continue // lost, or over the target's budget for strangers: again
		}
		// The answer asks for one (FlagReply): if it is dropped (over the
		// target's budget) or the reply lost, nothing comes and we start
		// again; a key already taken in is simply answered again.
		if err := p.Say(p.Hello(name, host, wire.FlagReply, hello.Challenge)); err != nil {
			return err
		}
		if _, err := p.Await(wire.KindHello, time.Second); err == nil {
			return nil
		}
	}
	return fmt.Errorf("hostile: %s was not taken in by %s within %v", name, p.target, timeout)
}

// Hello is a hello of this peer as name on host.
func (p *Peer) Hello(name, host string, flags byte, echo [16]byte) wire.Payload {
	return wire.Payload{Kind: wire.KindHello, Flags: flags, Port: 7117, Name: name, Host: host, Echo: echo}
}

// Message is message seq of stream (base: the lowest seq still waited on).
func Message(stream, seq, base uint64, text string) wire.Payload {
	return wire.Payload{Kind: wire.KindMsg, Stream: stream, Seq: seq, Base: base, Time: time.Now().UnixMilli(), Text: text}
}

// Say seals pl as the peer's next packet and sends it (after a handshake
// with the target when there is no session yet).
func (p *Peer) Say(pl wire.Payload) error {
	pkt, err := p.Seal(pl)
	if err != nil {
		return err
	}
	return p.conn.send(pkt)
}

// Seal makes pl the peer's next packet without sending it (to record and
// replay it later, say). With no session yet it first handshakes with the
// target (sending the initiation, waiting up to 5 s for the response).
func (p *Peer) Seal(pl wire.Payload) ([]byte, error) {
	p.mu.Lock()
	key, known := p.key, p.known
	p.mu.Unlock()
	if !known {
		return nil, errors.New("hostile: the target's key is not known yet (Join first)")
	}
	for try := 0; !p.sl.HasSession(key); try++ {
		if try == 2500 {
			return nil, fmt.Errorf("hostile: no session with %s", p.target)
		}
		if try%250 == 0 { // every 500 ms
			init, err := p.sl.Handshake(key)
			if err != nil {
				return nil, err
			}
			if err := p.conn.send(init); err != nil {
				return nil, err
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.mu.Lock()
	p.counter++
	pl.Boot, pl.Counter, pl.ToBoot = p.boot, p.counter, p.toBoot
	p.mu.Unlock()
	pkts := p.sl.Seal(key, pl.AppendMarshal(nil))
	data := pkts[len(pkts)-1]
	for _, b := range pkts[:len(pkts)-1] { // a rekey's initiation
		if err := p.conn.send(b); err != nil {
			return nil, err
		}
	}
	if wire.PacketType(data[5]) != wire.TypeData {
		return nil, fmt.Errorf("hostile: session with %s lost", p.target)
	}
	return data, nil
}

// Send sends a raw packet (one recorded earlier, say).
func (p *Peer) Send(pkt []byte) error { return p.conn.send(pkt) }

// Await returns the next packet of kind the target sent this peer, dropping
// others, or an error after timeout.
func (p *Peer) Await(kind wire.Kind, timeout time.Duration) (wire.Payload, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case pl := <-p.inbox:
			if pl.Kind == kind {
				return pl, nil
			}
		case <-t.C:
			return wire.Payload{}, fmt.Errorf("hostile: no %s from %s within %v", kind, p.target, timeout)
		}
	}
}

// awaitHello waits for the target's hello, echoing every cookie probe
// that comes meanwhile (the cookies of other peers on the Conn too: the
// target drops those echoes), or fails after timeout.
func (p *Peer) awaitHello(timeout time.Duration) (wire.Payload, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case pl := <-p.inbox:
			if pl.Kind == wire.KindHello {
				return pl, nil
			}
		case c := <-p.cookies:
			if err := p.conn.send(wire.AppendProbe(nil, &p.Public, wire.ProbeEcho, &c)); err != nil {
				return wire.Payload{}, err
			}
		case <-t.C:
			return wire.Payload{}, fmt.Errorf("hostile: no hello from %s within %v", p.target, timeout)
		}
	}
}

// Inbox delivers every packet the target sent this peer, opened.
func (p *Peer) Inbox() <-chan wire.Payload { return p.inbox }

// deliver takes an answer of the target's opened for this peer.
func (p *Peer) deliver(pl wire.Payload) {
	if pl.Kind == wire.KindHello {
		p.mu.Lock()
		p.toBoot = pl.Boot
		p.mu.Unlock()
	}
	select {
	case p.inbox <- pl:
	default: // nobody reads: an attacker does not care
	}
}

// learn sets the target's key, once known (from its first answer).
func (p *Peer) learn(key [32]byte) (target [32]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known {
		p.key, p.known = key, true
	}
	return p.key
}

// demux hands packets to the Peers of one Conn. A packet does not name its
// recipient, so each registered peer tries to open it; only the one it is
// sealed to (or, for an initiation, made for) succeeds.
type demux struct {
	mu    sync.Mutex
	peers []*Peer
}

func (d *demux) register(p *Peer) {
	d.mu.Lock()
	d.peers = append(d.peers, p)
	d.mu.Unlock()
}

func (d *demux) dispatch(b []byte) {
	o, err := wire.ParseOuter(b)
	if err != nil {
		return
	}
	d.mu.Lock()
	peers := d.peers
	d.mu.Unlock()
	if o.Type == wire.TypeProbe {
		// A cookie probe does not say whose probe it answers: every peer
		// gets it, the one it was made for proves its address with it.
		if kind, cookie := wire.ParseProbe(b); kind == wire.ProbeCookie {
			for _, p := range peers {
				select {
				case p.cookies <- cookie:
				default:
				}
			}
		}
		return
	}
	for _, p := range peers {
		if p.learn(o.Key) != o.Key {
			continue
		}
		_, plain, send, err := p.sl.Open(b)
		for _, s := range send {
			_ = p.conn.send(s)
		}
		if err != nil {
			continue
		}
		if plain != nil {
			if pl, err := wire.ParsePayload(plain); err == nil {
				p.deliver(pl)
			}
		}
		return
	}
}

// UDP is a UDP socket for hostile peers.
type UDP struct {
	demux
	c      *net.UDPConn
	target netip.AddrPort
}

// DialUDP opens a UDP socket to target and starts reading answers; close
// it with Close.
func DialUDP(target netip.AddrPort) (*UDP, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(target))
	if err != nil {
		return nil, fmt.Errorf("hostile: %w", err)
	}
	u := &UDP{c: c, target: target}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // e.g. ICMP unreachable
			}
			u.dispatch(append([]byte(nil), buf[:n]...))
		}
	}()
	return u, nil
}

func (u *UDP) send(b []byte) error {
	_, err := u.c.Write(b)
	return err
}

// Close closes the socket.
func (u *UDP) Close() error { return u.c.Close() }

// TCP is one TCP connection to the target's chat port, framed as p2pchat
// frames it, shared by any number of hostile peers.
type TCP struct {
	demux
	c  net.Conn
	w  *bufio.Writer
	wm sync.Mutex
}

// DialTCP connects to target and starts reading answers.
func DialTCP(target netip.AddrPort) (*TCP, error) {
	c, err := net.DialTimeout("tcp4", target.String(), 3*time.Second)
	if err != nil {
		return nil, fmt.Errorf("hostile: %w", err)
	}
	t := &TCP{c: c, w: bufio.NewWriterSize(c, 256<<10)}
	go func() {
		r := bufio.NewReader(c)
		var hdr [4]byte
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				return
			}
			n := binary.BigEndian.Uint32(hdr[:])
			if n > wire.MaxPacket {
				return
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			t.dispatch(b)
		}
	}()
	return t, nil
}

func (t *TCP) send(b []byte) error {
	t.wm.Lock()
	defer t.wm.Unlock()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	_ = t.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := t.w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := t.w.Write(b); err != nil {
		return err
	}
	return t.w.Flush()
}

// Close closes the connection.
func (t *TCP) Close() error { return t.c.Close() }
