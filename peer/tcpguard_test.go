package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// startNetNode starts a node on a real transport bound to 127.0.0.1 (no
// discovery: nothing leaves loopback).
func startNetNode(t *testing.T, name string) (*testNode, *NetTransport) {
	t.Helper()
	tr := listenLoopback(t)
	n, err := New(Config{Name: name, Host: "host-" + name}, tr)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{Node: n, evs: make(chan Event, testEvents), t: t}
	go func() {
		for e := range n.Events() {
			tn.evs <- e
		}
	}()
	t.Cleanup(func() { n.Close() })
	return tn, tr
}

// accepted is how many connections tr holds that it accepted.
func accepted(tr *NetTransport) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.in)
}

// slowloris holds idle TCP connections to addr from the addresses of srcs
// (perSrc each), opening them again when they are closed, and reopens
// `prefixers` more that send two bytes of a frame header and nothing else,
// until stop is closed.
func slowloris(t *testing.T, addr netip.AddrPort, srcs []netip.Addr, perSrc, prefixers int, stop <-chan struct{}) (opened *atomic.Int64, wg *sync.WaitGroup) {
	opened, wg = new(atomic.Int64), new(sync.WaitGroup)
	hold := func(src netip.Addr, prefix bool) {
		defer wg.Done()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := d.Dial("tcp", addr.String())
			if err != nil {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			opened.Add(1)
			if prefix {
				c.Write([]byte{0, 0})
			}
			closed := make(chan struct{})
			go func() { // a read returns when the node closes it
				var b [1]byte
				c.Read(b[:])
				close(closed)
			}()
			select {
			case <-stop:
				c.Close()
				return
			case <-closed:
				c.Close()
				select { // open it again, a little later
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	for i, src := range srcs {
		for range perSrc {
			wg.Add(1)
			go hold(src, false)
		}
		if i == 0 {
			for range prefixers {
				wg.Add(1)
				go hold(src, true)
			}
		}
	}
	return opened, wg
}

// TestTCPSlotSlowloris: idle TCP connections from strangers, and strangers
// that send part of a frame header and reconnect whenever they are closed,
// do not keep a peer's long message (it goes over TCP) from arriving
// promptly: one address holds only a few accepted connections, those that
// do not authenticate are closed within seconds, and peers in the book keep
// a reserve of slots (finding 7, review B3). They used to take all 256
// slots: the message was not delivered in 15 s of attack.
func TestTCPSlotSlowloris(t *testing.T) {
	t.Parallel() // real sockets, mostly waiting for the attack to settle: beside the CPU-bound tests
	ips := func(first, n int) []netip.Addr {
		var a []netip.Addr
		for i := range n {
			a = append(a, netip.AddrFrom4([4]byte{127, 0, 1, byte(first + i)}))
		}
		return a
	}
	for _, tc := range []struct {
		name   string
		srcs   []netip.Addr
		perSrc int
	}{
		{"300 sockets from one stranger", ips(2, 1), 300},
		{"8 sockets from each of 40 strangers", ips(2, 40), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice, _ := startNetNode(t, "alice")
			bob, bobTr := startNetNode(t, "bob")
			bobAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(bob.Port()))
			alice.AddPeer(bobAddr)
			waitOnline(t, alice, "bob")
			waitOnline(t, bob, "alice")

			stop := make(chan struct{})
			opened, wg := slowloris(t, bobAddr, tc.srcs, tc.perSrc, 32, stop)
			defer func() { close(stop); wg.Wait() }()
			// Let the attack settle: the accepted connections stop changing.
			last, steady := -1, 0
			for deadline := time.Now().Add(10 * time.Second); steady < 5 && time.Now().Before(deadline); {
				if a := accepted(bobTr); a == last {
					steady++
				} else {
					last, steady = a, 0
				}
				// Polling with a deadline, on purpose: real sockets (no bubble),
				// and the attack reconnects for ever, so no event marks
				// "settled": only an accepted count that stops changing.
				time.Sleep(100 * time.Millisecond)
			}
			text := strings.Repeat("long message ", 5000/13+1)[:5000]
			sent := time.Now()
			if _, err := alice.Send("bob", text); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(10 * time.Second)
			for {
				select {
				case e := <-bob.evs:
					if e.Kind == EvMessage && e.Text == text {
						t.Logf("delivered %v after sending, during the attack (%d attacking connections opened, %d accepted when it was sent; %+v)",
							time.Since(sent).Round(time.Millisecond), opened.Load(), last, bobTr.Stats())
						if st := bobTr.Stats(); st.RefusedSource+st.RefusedReserve == 0 {
							t.Errorf("no refusal counted: %+v", st)
						}
						return
					}
				case <-deadline:
					t.Fatalf("not delivered in 10 s of attack (%d attacking connections opened, %d accepted when it was sent)", opened.Load(), last)
				}
			}
		})
	}
}

// TestTCPUnauthenticatedClosed: an accepted connection that sends
// nothing, or only junk frames of a valid length, is closed within seconds;
// one that carries a packet the node opens stays (review B3). They used to
// hold their slot for 2 min 10 s, the junk one for ever. Real sockets on a
// real clock: the transport's deadline is shortened to 3 s (production
// 5 s) so that the test takes 4 s, not 10.
func TestTCPUnauthenticatedClosed(t *testing.T) {
	t.Parallel() // seconds of real time spent waiting: other tests use the CPU meanwhile
	const auth = 3 * time.Second
	tr, err := Listen(NetConfig{Bind: netip.MustParseAddr("127.0.0.1"), authTimeout: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	bob, err := New(Config{Name: "bob", Host: "host-bob"}, tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bob.Close() })
	go func() {
		for range bob.Events() {
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", bob.Port())
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	idle, junk, peer := dial(), dial(), dial()
	f := newFakePeer(t, bob, "127.0.0.1:1")
	hello := f.seal(f.hello("carol", wire.FlagReply, zeroChallenge))
	frame := func(c net.Conn, b []byte) error {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		_, err := c.Write(append(hdr[:], b...))
		return err
	}
	if err := frame(peer, hello); err != nil {
		t.Fatal(err)
	}
	// closedIn watches c (feeding it junk frames if feed) until it is
	// closed or stop returns true.
	closedIn := func(c net.Conn, feed bool, stop func(time.Duration) bool) (time.Duration, bool) {
		start := time.Now()
		for !stop(time.Since(start)) {
			if feed && frame(c, []byte("junk junk junk")) != nil {
				return time.Since(start), true
			}
			_ = c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
			var b [4096]byte
			if _, err := c.Read(b[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return time.Since(start), true
			}
		}
		return time.Since(start), false
	}
	// The unauthenticated ones must be closed within twice the deadline.
	// The authenticated one, dialed with them, must still be open half a
	// deadline after both were closed: it outlived its own deadline (it
	// used to be watched for twice the deadline; this proves the same).
	var othersDone sync.WaitGroup
	othersDone.Add(2)
	var closedAt atomic.Int64 // when the last of the two was seen closed (ns since start)
	start := time.Now()
	others := make(chan struct{})
	go func() { othersDone.Wait(); close(others) }()
	results := make(chan string, 3)
	for _, tc := range []struct {
		name string
		c    net.Conn
		feed bool
		want bool
	}{
		{"idle", idle, false, true},
		{"junk frames", junk, true, true},
		{"authenticated", peer, false, false},
	} {
		go func() {
			stop := func(d time.Duration) bool { return d >= 2*auth }
			if !tc.want {
				stop = func(d time.Duration) bool {
					select {
					case <-others:
						return time.Since(start) >= time.Duration(closedAt.Load())+auth/2
					default:
						return d >= 3*auth // the others failed their own check
					}
				}
			}
			after, closed := closedIn(tc.c, tc.feed, stop)
			if tc.want {
				at := int64(time.Since(start))
				for old := closedAt.Load(); at > old && !closedAt.CompareAndSwap(old, at); old = closedAt.Load() {
				}
				othersDone.Done()
			}
			switch {
			case closed != tc.want:
				results <- fmt.Sprintf("%s connection: closed %v after %v, want closed %v", tc.name, closed, after.Round(time.Millisecond), tc.want)
			default:
				t.Logf("%s connection: closed %v after %v", tc.name, closed, after.Round(time.Millisecond))
				results <- ""
			}
		}()
	}
	for range 3 {
		if r := <-results; r != "" {
			t.Error(r)
		}
	}
	if st := tr.Stats(); st.Unauthenticated != 2 {
		t.Errorf("%d connections counted as closed unauthenticated, want 2", st.Unauthenticated)
	}
}
