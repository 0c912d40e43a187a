package peer

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/p2pchat/p2pchat/internal/lru"
	"github.com/p2pchat/p2pchat/internal/rate"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// NetConfig configures the real UDP+TCP transport.
type NetConfig struct {
	Bind   netip.Addr   // address to bind; the zero Addr means all interfaces
	Port   int          // port for UDP and TCP; 0 picks a free one
	Logger *slog.Logger // nil discards

	authTimeout time.Duration // tcpAuthTimeout when zero; tests shorten it (real sockets, real clock)
}

// Tuning of the real transport.
const (
	tcpDialTimeout  = time.Second
	tcpWriteTimeout = 3 * time.Second
	tcpIdleTimeout  = 2 * time.Minute
	tcpQueue        = 1024    // packets waiting per connection
	tcpQueueBytes   = 4 << 20 // bytes waiting per connection
	maxIncomingTCP  = 256     // concurrent accepted connections
	tcpReserve      = 64      // of which only peers in the book may take the last ones
	maxTCPPerSource = 8       // accepted connections from one IPv4 address or IPv6 /64 (peers in the book may have more)
	// tcpAuthTimeout is how long an accepted connection may go without
	// carrying a packet the node opens (Packet.Authenticated): a stream's
	// first four bytes, or a peer's first packet, come within milliseconds.
	tcpAuthTimeout = 5 * time.Second
	maxOutgoingTCP = 64 // concurrent connections we dialed
	udpReadBuffer  = 4 << 20
)

// NetTransport is the real transport: UDP sockets for all chat traffic and
// a TCP listener on the same port number for the fallback. Unbound, it is
// dual-stack: one UDP socket for IPv4 and one for IPv6 (IPV6_V6ONLY: the
// IPv4 path is what it was before IPv6), on the same port, and one TCP
// listener taking both; IPv6 link-local addresses carry their zone (the
// interface name, as in fe80::1%eth0). Where the system has no IPv6 the
// transport is IPv4 only. Bound to an address, it has that family alone.
//
// Concurrency: the fields from udp to auth are immutable after Listen; mu
// guards the block after it (done is closed once, by Close; wg counts
// the readers, the accept loop and every connection's goroutine); bmu
// guards batching and pending; stats are atomics. mu and bmu are never
// held together, nor with a tcpConn's mu (tcpConn.close takes its own,
// then mu), and none is held while calling the handler, known or the
// stream handler: the node calls SendUDP, SendTCP and Forget with its
// own lock held, so these locks come after Node.mu.
type NetTransport struct {
	udp  *net.UDPConn // IPv4; nil when bound to an IPv6 address
	udp6 *net.UDPConn // IPv6; nil without IPv6 or when bound to an IPv4 address
	tcp  *net.TCPListener
	bc4  batchConn // udp's recvmmsg/sendmmsg side (udp_linux.go)
	bc6  batchConn // udp6's
	port int
	log  *slog.Logger
	auth time.Duration // how long an accepted connection may go unauthenticated (tcpAuthTimeout)

	mu      sync.Mutex
	out     map[netip.AddrPort]*tcpConn           // connections we dialed
	in      map[*tcpConn]struct{}                 // connections we accepted
	failed  *lru.Cache[netip.AddrPort, time.Time] // recent dial failures (the newest maxOutgoingTCP)
	handler func(Packet)
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
	inCount int                  // accepted connections holding a slot (streams free theirs when handed off)
	perSrc  map[netip.Prefix]int // inCount by source (rate.Host)
	known   func(netip.Addr) bool
	streams StreamHandler // takes accepted stream connections (streams.go)

	stats tcpCounters // atomic: no lock

	bmu      sync.Mutex
	batching bool       // the reader is handling several datagrams
	pending  []datagram // sent meanwhile, to leave together
}

// batchConn is the recvmmsg/sendmmsg side of a UDP socket: ipv4.PacketConn
// and ipv6.PacketConn, whose Message types are one and the same.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// datagram is one UDP packet waiting to be sent.
type datagram struct {
	to netip.AddrPort
	b  []byte
}

// handleDatagram passes one received datagram to h.
func (t *NetTransport) handleDatagram(h func(Packet), data []byte, from netip.AddrPort) {
	if len(data) > wire.MaxDatagram+100 {
		return // larger than any datagram we send: not ours
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	h(Packet{Data: data, From: from, Reply: func(b []byte) { _ = t.SendUDP(from, b) }})
}

// Listen opens the UDP sockets and the TCP listener on the same port. If
// the port is taken the error wraps the system's "address already in use".
func Listen(cfg NetConfig) (*NetTransport, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// With port 0 the kernel picks a UDP port that may be taken for the
	// other family or for TCP: try a few times.
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		u4, u6, t, err := listenPort(cfg.Bind, cfg.Port, log)
		if err != nil {
			lastErr = err
			if cfg.Port != 0 || !errors.Is(err, errPortTaken) {
				return nil, err
			}
			continue
		}
		var port int
		for _, u := range []*net.UDPConn{u4, u6} {
			if u != nil {
				_ = u.SetReadBuffer(udpReadBuffer)
				if err := noBroadcast(u); err != nil {
					log.Debug("udp: SO_BROADCAST stays set", "err", err)
				}
				port = u.LocalAddr().(*net.UDPAddr).Port
			}
		}
		tr := &NetTransport{
			udp: u4, udp6: u6, tcp: t, port: port, log: log, auth: cmp.Or(cfg.authTimeout, tcpAuthTimeout),
			out:    map[netip.AddrPort]*tcpConn{},
			in:     map[*tcpConn]struct{}{},
			failed: lru.New[netip.AddrPort, time.Time](maxOutgoingTCP),
			perSrc: map[netip.Prefix]int{},
			done:   make(chan struct{}),
		}
		if u4 != nil {
			tr.bc4 = ipv4.NewPacketConn(u4)
		}
		if u6 != nil {
			tr.bc6 = ipv6.NewPacketConn(u6)
		}
		return tr, nil
	}
	return nil, lastErr
}

// errPortTaken marks a port that one of the sockets could not have after
// another got it (worth another try with port 0).
var errPortTaken = errors.New("port taken")

// listenPort opens the sockets of one attempt: UDP for IPv4 and IPv6 (or
// the family of bind alone) and TCP, all on port (0: the first socket
// picks it).
func listenPort(bind netip.Addr, port int, log *slog.Logger) (u4, u6 *net.UDPConn, t *net.TCPListener, err error) {
	closeAll := func() {
		for _, u := range []*net.UDPConn{u4, u6} {
			if u != nil {
				u.Close()
			}
		}
	}
	bind = bind.Unmap()
	want4, want6 := !bind.IsValid() || bind.Is4(), !bind.IsValid() || bind.Is6()
	first := true
	if want4 {
		ip := net.IPv4zero
		if bind.IsValid() {
			ip = bind.AsSlice()
		}
		if u4, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port}); err != nil {
			return nil, nil, nil, fmt.Errorf("peer: listen udp port %d: %w", port, err)
		}
		port, first = u4.LocalAddr().(*net.UDPAddr).Port, false
	}
	if want6 {
		a := &net.UDPAddr{IP: net.IPv6unspecified, Port: port}
		if bind.IsValid() {
			a = net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind, uint16(port)))
		}
		u6, err = net.ListenUDP("udp6", a)
		switch {
		case err == nil:
			port = u6.LocalAddr().(*net.UDPAddr).Port
		case bind.IsValid() || first:
			return nil, nil, nil, fmt.Errorf("peer: listen udp6 port %d: %w", port, err)
		case errors.Is(err, syscall.EADDRINUSE):
			closeAll()
			return nil, nil, nil, fmt.Errorf("peer: listen udp6 port %d: %w (%w)", port, err, errPortTaken)
		default: // no IPv6 here: IPv4 alone
			log.Debug("udp6: no IPv6 socket; IPv4 only", "err", err)
			u6 = nil
		}
	}
	var tip net.IP
	if bind.IsValid() {
		tip = bind.AsSlice()
	}
	network := "tcp" // both families on one listener
	if u6 == nil {
		network = "tcp4"
	}
	ta := &net.TCPAddr{IP: tip, Port: port}
	if bind.IsValid() {
		ta = net.TCPAddrFromAddrPort(netip.AddrPortFrom(bind, uint16(port)))
	}
	if t, err = net.ListenTCP(network, ta); err != nil {
		closeAll()
		return nil, nil, nil, fmt.Errorf("peer: listen tcp port %d: %w (%w)", port, err, errPortTaken)
	}
	return u4, u6, t, nil
}

// LocalPort implements Transport.
func (t *NetTransport) LocalPort() int { return t.port }

// Serve implements Transport.
func (t *NetTransport) Serve(h func(Packet)) {
	t.mu.Lock()
	t.handler = h
	t.mu.Unlock()
	for _, u := range []*net.UDPConn{t.udp, t.udp6} {
		if u != nil {
			t.wg.Add(1)
			go t.readUDPLoop(u, h)
		}
	}
	t.wg.Add(1)
	go t.acceptTCP()
}

// SendUDP implements Transport. While the reader works through a batch of
// datagrams, what is sent is collected and leaves in one batch at its end.
func (t *NetTransport) SendUDP(to netip.AddrPort, b []byte) error {
	t.bmu.Lock()
	if t.batching {
		t.pending = append(t.pending, datagram{to, b})
		t.bmu.Unlock()
		return nil
	}
	t.bmu.Unlock()
	u, to := t.socketFor(to)
	if u == nil {
		return fmt.Errorf("peer: udp send to %s: no socket for its address family", to)
	}
	if _, err := u.WriteToUDPAddrPort(b, to); err != nil {
		return fmt.Errorf("peer: udp send to %s: %w", to, err)
	}
	return nil
}

// socketFor returns the UDP socket that sends to to (nil: none of its
// family) and to as that socket takes it (IPv4-mapped addresses unmapped).
func (t *NetTransport) socketFor(to netip.AddrPort) (*net.UDPConn, netip.AddrPort) {
	a := to.Addr().Unmap()
	if a.Is4() {
		return t.udp, netip.AddrPortFrom(a, to.Port())
	}
	return t.udp6, to
}

// SendTCP implements Transport.
func (t *NetTransport) SendTCP(to netip.AddrPort, b []byte) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	c := t.out[to]
	if c == nil {
		if when, ok := t.failed.Get(to); ok && time.Since(when) < tcpDialTimeout {
			t.mu.Unlock()
			return fmt.Errorf("peer: tcp to %s: recent connection failure", to)
		}
		if len(t.out) >= maxOutgoingTCP {
			t.mu.Unlock()
			return fmt.Errorf("peer: tcp to %s: %d connections open already", to, maxOutgoingTCP)
		}
		c = newTCPConn(t, nil, to)
		t.out[to] = c
		t.wg.Add(1)
		go c.dialAndServe()
	}
	t.mu.Unlock()
	return c.enqueue(b)
}

// Forget implements Transport.
func (t *NetTransport) Forget(addr netip.AddrPort) {
	t.mu.Lock()
	c := t.out[addr]
	t.failed.Remove(addr)
	t.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// TCPStats counts what the transport refused or closed on its TCP
// listener.
type TCPStats struct {
	RefusedFull     uint64 // accepted connections closed at once: all maxIncomingTCP slots taken
	RefusedSource   uint64 // closed at once: maxTCPPerSource from that address (IPv6: /64) already, and no peer in the book there
	RefusedReserve  uint64 // closed at once: only the reserve (tcpReserve) was left, and no peer in the book there
	Unauthenticated uint64 // closed after tcpAuthTimeout without a stream header or a packet the node opened
}

type tcpCounters struct {
	refusedFull, refusedSource, refusedReserve, unauthenticated atomic.Uint64
}

// Stats returns the counters of the TCP listener.
func (t *NetTransport) Stats() TCPStats {
	return TCPStats{
		RefusedFull:     t.stats.refusedFull.Load(),
		RefusedSource:   t.stats.refusedSource.Load(),
		RefusedReserve:  t.stats.refusedReserve.Load(),
		Unauthenticated: t.stats.unauthenticated.Load(),
	}
}

// SetKnown gives the transport a way to tell whether a peer in the node's
// book is at an address: such a peer may take the reserve of slots, and
// more than maxTCPPerSource connections. known must not call into the
// transport. Call it before Serve.
func (t *NetTransport) SetKnown(known func(netip.Addr) bool) {
	t.mu.Lock()
	t.known = known
	t.mu.Unlock()
}

// admit takes a slot for a connection from a, or says which bound refused
// it (nil: admitted). The accept loop alone calls it.
func (t *NetTransport) admit(a netip.Addr) *atomic.Uint64 {
	src := rate.Host(a)
	t.mu.Lock()
	full := t.inCount >= maxIncomingTCP
	crowded := t.perSrc[src] >= maxTCPPerSource
	reserve := t.inCount >= maxIncomingTCP-tcpReserve
	known := t.known
	t.mu.Unlock()
	switch {
	case full:
		return &t.stats.refusedFull
	case (crowded || reserve) && (known == nil || !known(a)): // (without t.mu: known takes the node's lock)
		if crowded {
			return &t.stats.refusedSource
		}
		return &t.stats.refusedReserve
	}
	t.mu.Lock()
	t.inCount++
	t.perSrc[src]++
	t.mu.Unlock()
	return nil
}

// release gives back the slot of a connection from a.
func (t *NetTransport) release(a netip.Addr) {
	src := rate.Host(a)
	t.mu.Lock()
	t.inCount--
	if t.perSrc[src]--; t.perSrc[src] <= 0 {
		delete(t.perSrc, src)
	}
	t.mu.Unlock()
}

// acceptTCP takes connections within the bounds above: a stranger's
// address gets at most maxTCPPerSource and none of the last tcpReserve
// slots, and a connection that carries nothing the node can open is
// closed after tcpAuthTimeout, so idle or junk sockets cannot keep peers
// out.
func (t *NetTransport) acceptTCP() {
	defer t.wg.Done()
	for {
		nc, err := t.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Debug("tcp accept", "err", err)
			continue
		}
		ap := nc.RemoteAddr().(*net.TCPAddr).AddrPort()
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if refused := t.admit(ap.Addr()); refused != nil {
			refused.Add(1)
			t.log.Debug("tcp: over the bounds, refusing", "from", ap)
			// A reset, not a FIN: nothing is kept for it (no TIME_WAIT
			// per refusal: a stranger reconnecting in a loop would keep
			// thousands), and the refusal costs the least.
			_ = nc.SetLinger(0)
			nc.Close()
			continue
		}
		c := newTCPConn(t, nc, ap)
		c.accepted = true
		c.authBy = time.Now().Add(t.auth)
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			nc.Close()
			t.release(ap.Addr())
			return
		}
		t.in[c] = struct{}{}
		t.mu.Unlock()
		t.wg.Add(1)
		go func() {
			defer t.release(ap.Addr())
			c.serve()
		}()
	}
}

// Close implements Transport.
func (t *NetTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	conns := make([]*tcpConn, 0, len(t.out)+len(t.in))
	for _, c := range t.out {
		conns = append(conns, c)
	}
	for c := range t.in {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	// Let queued packets (goodbyes) leave, briefly.
	deadline := time.After(500 * time.Millisecond)
	for _, c := range conns {
		c.closeWhenFlushed(deadline)
	}
	close(t.done)
	for _, u := range []*net.UDPConn{t.udp, t.udp6} {
		if u != nil {
			u.Close()
		}
	}
	t.tcp.Close()
	for _, c := range conns {
		c.close()
	}
	t.wg.Wait()
	return nil
}

// tcpConn is one TCP connection, dialed or accepted, carrying framed
// packets both ways. A writer goroutine drains its queue.
//
// Concurrency: t, addr, queue, closed and (accepted) authBy are immutable
// after newTCPConn and acceptTCP; mu guards nc, which the dialer sets
// before its reader and writer start and handOff takes away (they use it
// without mu); once makes close run once; queued and authed are atomics.
type tcpConn struct {
	t      *NetTransport
	addr   netip.AddrPort
	queue  chan []byte
	mu     sync.Mutex
	nc     net.Conn
	closed chan struct{}
	once   sync.Once
	queued atomic.Int64 // bytes in queue

	accepted bool        // we accepted it: it may be a stream (streams.go)
	authBy   time.Time   // accepted: closed at this time unless authed (set before serve)
	authed   atomic.Bool // accepted: carried a packet the node opened
}

func newTCPConn(t *NetTransport, nc net.Conn, addr netip.AddrPort) *tcpConn {
	return &tcpConn{t: t, nc: nc, addr: addr, queue: make(chan []byte, tcpQueue), closed: make(chan struct{})}
}

func (c *tcpConn) enqueue(b []byte) error {
	select {
	case <-c.closed:
		return fmt.Errorf("peer: tcp to %s: connection closed", c.addr)
	default:
	}
	if c.queued.Add(int64(len(b))) > tcpQueueBytes {
		c.queued.Add(-int64(len(b)))
		return fmt.Errorf("peer: tcp to %s: queue full", c.addr)
	}
	select {
	case c.queue <- b:
		return nil
	default:
		c.queued.Add(-int64(len(b)))
		return fmt.Errorf("peer: tcp to %s: queue full", c.addr)
	}
}

func (c *tcpConn) dialAndServe() {
	nc, err := net.DialTimeout("tcp", c.addr.String(), tcpDialTimeout)
	if err != nil {
		c.t.log.Debug("tcp dial", "to", c.addr, "err", err)
		c.t.mu.Lock()
		c.t.failed.Put(c.addr, time.Now())
		c.t.mu.Unlock()
		c.close()
		c.t.wg.Done()
		return
	}
	c.mu.Lock()
	c.nc = nc
	c.mu.Unlock()
	select {
	case <-c.closed: // closed while dialing
		nc.Close()
		c.t.wg.Done()
		return
	default:
	}
	c.serve()
}

// serve runs the writer and the reader of an established connection.
func (c *tcpConn) serve() {
	defer c.t.wg.Done()
	defer c.close()
	r := bufio.NewReader(c.nc)
	if c.accepted && c.handOff(r) {
		return // a stream: its handler owns the connection now
	}
	go c.writeLoop()
	var hdr [4]byte
	reply := func(b []byte) { _ = c.enqueue(b) }
	var authenticated func()
	if c.accepted {
		authenticated = func() { c.authed.Store(true) }
	}
	for {
		deadline := time.Now().Add(tcpIdleTimeout)
		if c.accepted && !c.authed.Load() {
			deadline = c.authBy
		}
		_ = c.nc.SetReadDeadline(deadline)
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			c.noteUnauthenticated(err)
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > wire.MaxPacket {
			c.t.log.Debug("tcp: bad frame length, closing", "from", c.addr, "len", n)
			return
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			c.noteUnauthenticated(err)
			return
		}
		c.t.mu.Lock()
		h := c.t.handler
		c.t.mu.Unlock()
		if h != nil {
			h(Packet{Data: data, From: c.addr, TCP: true, Reply: reply, Authenticated: authenticated})
		}
	}
}

// noteUnauthenticated counts an accepted connection closed because it
// authenticated too late (err: the read that ended it).
func (c *tcpConn) noteUnauthenticated(err error) {
	if c.accepted && !c.authed.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.stats.unauthenticated.Add(1)
		c.t.log.Debug("tcp: nothing authenticated in time, closing", "from", c.addr)
	}
}

func (c *tcpConn) writeLoop() {
	w := bufio.NewWriter(c.nc)
	for {
		select {
		case <-c.closed:
			return
		case b := <-c.queue:
			if err := c.write(w, b); err != nil {
				c.t.log.Debug("tcp write", "to", c.addr, "err", err)
				c.close()
				return
			}
		}
	}
}

func (c *tcpConn) write(w *bufio.Writer, b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
	for {
		c.queued.Add(-int64(len(b)))
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		w.Write(hdr[:])
		w.Write(b)
		select { // batch what is already queued
		case b = <-c.queue:
			continue
		default:
		}
		return w.Flush()
	}
}

// closeWhenFlushed waits until the queue is empty or the deadline passes.
func (c *tcpConn) closeWhenFlushed(deadline <-chan time.Time) {
	for len(c.queue) > 0 {
		select {
		case <-deadline:
			return
		case <-c.closed:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *tcpConn) close() {
	c.once.Do(func() {
		close(c.closed)
		c.mu.Lock()
		if c.nc != nil {
			c.nc.Close()
		}
		c.mu.Unlock()
		c.t.mu.Lock()
		if c.t.out[c.addr] == c {
			delete(c.t.out, c.addr)
		}
		delete(c.t.in, c)
		c.t.mu.Unlock()
	})
}
