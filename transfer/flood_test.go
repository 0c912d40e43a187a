package transfer

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/rate"
	"github.com/p2pchat/p2pchat/peer"
)

// TestStreamFloodDoesNotBlockTransfer: 20 attackers, each from its own
// loopback address, keep 8 connections each open to the receiver's chat
// port, reopening every one the receiver closes; each says only "p2pf",
// or half a hello, and then nothing. A 1 MiB transfer
// between two honest peers still finishes within a few seconds, and the
// receiver counts what it refused (Stats).
func TestStreamFloodDoesNotBlockTransfer(t *testing.T) {
	t.Parallel() // 2.5 s of real time waiting per case: beside the other cases and tests
	tests := []struct {
		name    string
		payload func() []byte
	}{
		{"p2pf only", func() []byte { return []byte(peer.StreamMagic) }},
		{"half a hello and nothing", func() []byte {
			b := make([]byte, helloLen/2)
			rand.Read(b)
			copy(b, peer.StreamMagic)
			b[4] = streamVersion
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b, bobID := pair(t)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var mu sync.Mutex
			opened := 0
			for i := range 20 {
				src := netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)})
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), Timeout: time.Second}
						for ctx.Err() == nil {
							nc, err := d.DialContext(ctx, "tcp", b.addr.String())
							if err != nil {
								time.Sleep(10 * time.Millisecond)
								continue
							}
							mu.Lock()
							opened++
							mu.Unlock()
							nc.Write(tc.payload())
							stop := context.AfterFunc(ctx, func() { nc.Close() })
							start := time.Now()
							io.Copy(io.Discard, nc) // until the receiver closes it
							stop()
							nc.Close()
							if time.Since(start) < 10*time.Millisecond {
								time.Sleep(10 * time.Millisecond) // refused at once: do not spin
							}
						}
					}()
				}
			}
			defer func() { cancel(); wg.Wait() }()
			// Let the flood fill what it can, and its first connections
			// time out (handshakeTimeout) and come back.
			time.Sleep(handshakeTimeout + 500*time.Millisecond)

			src := filepath.Join(t.TempDir(), "f.bin")
			writeRandom(t, src, 1<<20)
			start := time.Now()
			id, err := a.m.Send(bobID, []string{src})
			if err != nil {
				t.Fatal(err)
			}
			off := b.await(t, "offer", kind(EvOffer))
			b.m.Accept(off.ID)
			const bound = 10 * time.Second
			deadline := time.After(bound)
			done := false
		wait:
			for {
				select {
				case e := <-a.ev:
					if e.ID == id && (e.Kind == EvDone && e.Last || e.Kind == EvFailed && !e.Resumable) {
						done = e.Kind == EvDone
						break wait
					}
				case <-deadline:
					break wait
				}
			}
			took := time.Since(start)
			mu.Lock()
			n := opened
			mu.Unlock()
			st := b.m.Stats()
			t.Logf("done: %v after %v; the attackers opened %d connections; receiver: %+v", done, took.Round(time.Millisecond), n, st)
			if !done {
				t.Errorf("the 1 MiB transfer is not done %v into the flood: %s", bound, fmt.Sprint(a.m.List()[0].State))
			}
			if st.StreamsRefusedSource == 0 || st.StreamsBadHello == 0 {
				t.Errorf("Stats: %+v, want connections over the per-source budget and late hellos counted", st)
			}
		})
	}
}

// TestSourceOf: the handshake budget is per IPv4 address and per IPv6
// /64, an IPv4-mapped address counting as its IPv4 address.
func TestSourceOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"10.0.0.1", "10.0.0.1", true},
		{"10.0.0.1", "10.0.0.2", false},
		{"::ffff:10.0.0.1", "10.0.0.1", true},
		{"fd00:1:2:3::1", "fd00:1:2:3:ffff::9", true},
		{"fd00:1:2:3::1", "fd00:1:2:4::1", false},
	}
	for _, tc := range tests {
		got := rate.Host(netip.MustParseAddr(tc.a)) == rate.Host(netip.MustParseAddr(tc.b))
		if got != tc.same {
			t.Errorf("%s and %s in one budget: %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
