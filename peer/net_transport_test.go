package peer

import (
	"fmt"
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
	a.Serve(func(p Packet) {
		mu.Lock()
		defer mu.Unlock()
		got[string(p.Data)] = true
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
			waitCount(t, &mu, got, i+1)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		mu.Lock()
		t.Fatalf("%d of %d answers arrived", len(got), n)
	}
}

func waitCount(t *testing.T, mu *sync.Mutex, got map[string]bool, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		mu.Lock()
		have := len(got)
		mu.Unlock()
		if have >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answers arrived", have, want)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}
