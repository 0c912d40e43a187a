package peer

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// listenLoopback opens a real transport on 127.0.0.1 (loopback only: no
// discovery, nothing leaves the machine).
func listenLoopback(t *testing.T) *NetTransport {
	t.Helper()
	tr, err := Listen(NetConfig{Bind: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestNetTransportBurst: a burst of datagrams, each answered from inside
// the handler (as acknowledgements are), arrives whole both ways, whether
// the reader takes them one by one or in batches.
func TestNetTransportBurst(t *testing.T) {
	a, b := listenLoopback(t), listenLoopback(t)
	addrB := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(b.LocalPort()))
	const n = 2000
	b.Serve(func(p Packet) { p.Reply(append([]byte("re:"), p.Data...)) })
	var mu sync.Mutex
	got := map[string]bool{}
	done := make(chan struct{})
	var w waiter // guarded by mu
	a.Serve(func(p Packet) {
		mu.Lock()
		defer mu.Unlock()
		got[string(p.Data)] = true
		w.reached(len(got))
		if len(got) == n {
			close(done)
		}
		if p.From != addrB {
			t.Errorf("answer from %v, want %v", p.From, addrB)
		}
	})
	for i := 0; i < n; i++ {
		if err := a.SendUDP(addrB, []byte(fmt.Sprintf("d%04d", i))); err != nil {
			t.Fatal(err)
		}
		if i%200 == 199 { // stay within the socket buffers: this tests batching, not loss
			w.wait(t, &mu, got, i+1)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		mu.Lock()
		t.Fatalf("%d of %d answers arrived", len(got), n)
	}
}

// waiter lets the test wait until the handler has counted want answers:
// the handler closes ch when the count reaches want (both under mu).
type waiter struct {
	want int
	ch   chan struct{}
}

func (w *waiter) reached(have int) {
	if w.ch != nil && have >= w.want {
		close(w.ch)
		w.ch = nil
	}
}

// wait returns once want answers were counted, failing after 10 s.
func (w *waiter) wait(t *testing.T, mu *sync.Mutex, got map[string]bool, want int) {
	t.Helper()
	mu.Lock()
	if len(got) >= want {
		mu.Unlock()
		return
	}
	ch := make(chan struct{})
	w.want, w.ch = want, ch
	mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d answers arrived", len(got), want)
	}
}

// TestNetTransportTCPBounds: connections we dial are capped, and a peer that
// accepts but never reads makes us hold at most tcpQueueBytes for it.
func TestNetTransportTCPBounds(t *testing.T) {
	tr := listenLoopback(t)
	tr.Serve(func(Packet) {})
	var sinks []*net.TCPListener
	for i := 0; i < maxOutgoingTCP+3; i++ {
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		sinks = append(sinks, l)
		go func() { // accept, never read
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
	}
	addr := func(l *net.TCPListener) netip.AddrPort { return l.Addr().(*net.TCPAddr).AddrPort() }
	var refused int
	for _, l := range sinks {
		if err := tr.SendTCP(addr(l), []byte("x")); err != nil {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d of %d connections refused, want the 3 past the cap of %d", refused, len(sinks), maxOutgoingTCP)
	}
	big := make([]byte, 32<<10)
	sent := 0
	for ; sent < 4096; sent++ { // 128 MiB offered: far past any socket buffer
		if err := tr.SendTCP(addr(sinks[0]), big); err != nil {
			break
		}
	}
	tr.mu.Lock()
	c := tr.out[addr(sinks[0])]
	tr.mu.Unlock()
	if sent == 4096 || c == nil {
		t.Fatalf("a peer that never reads took %d packets of 32 KiB without a refusal", sent)
	}
	if q := c.queued.Load(); q > tcpQueueBytes {
		t.Fatalf("%d bytes queued for one connection, bound %d", q, tcpQueueBytes)
	}
}
