package transfer

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// TestInjectedDataConnection: someone who saw a data connection's hello
// (it travels in the clear) opens another connection to the receiver
// while the transfer runs, replays that hello and sends a frame of
// garbage. The running transfer goes on: it is not failed, its partial
// file stays, and the file arrives once, whole.
func TestInjectedDataConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		replay func(hello []byte) []byte // what the intruder sends
	}{
		{"replayed hello, garbage frame", func(h []byte) []byte {
			junk := make([]byte, 4+200)
			binary.BigEndian.PutUint32(junk, 200)
			rand.Read(junk[4:])
			return append(append([]byte(nil), h...), junk...)
		}},
		{"replayed hello, then silence", func(h []byte) []byte { return h }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := aliceAndBob(t)
				l := connect(a, b, linkOpts{rate: 1 << 20}) // 8 s for 8 MiB
				src := filepath.Join(t.TempDir(), "f.bin")
				want := writeRandom(t, src, 8<<20)
				if _, err := a.m.Send(b.id(), []string{src}); err != nil {
					t.Fatal(err)
				}
				off, ok := b.awaitV(10*time.Second, kind(EvOffer))
				if !ok {
					t.Fatal("no offer")
				}
				b.m.Accept(off.ID)
				if _, ok := b.awaitV(10*time.Second, kind(EvProgress)); !ok {
					t.Fatal("no progress")
				}
				_, hellos := l.dialed()
				// The intruder, from another address.
				c, s := net.Pipe()
				go b.m.serveStream(s, bufio.NewReader(s), netip.MustParseAddrPort("10.0.0.66:5555"))
				go io.Copy(io.Discard, c)
				go c.Write(tc.replay(hellos[0]))
				time.Sleep(3 * time.Second)
				c.Close()
				synctest.Wait()
				if st := b.m.Stats(); st.StreamsUnauthenticated != 1 {
					t.Errorf("Stats: %+v, want the intruder counted once as unauthenticated", st)
				}
				if in := b.m.List()[0]; in.State.Final() {
					t.Errorf("after the intrusion the receiver's transfer is %s (%s)", in.State, in.Code)
				}
				parts, _ := filepath.Glob(filepath.Join(b.dl, partialDir, "*.part"))
				done := false
				for _, f := range downloads(t, b.dl) {
					done = done || f == "f.bin"
				}
				if len(parts) == 0 && !done {
					t.Error("after the intrusion the partial file is gone")
				}
				end := func(e Event) bool { return e.Kind == EvDone && e.Last || e.Kind == EvFailed && !e.Resumable }
				e, ok := b.awaitV(time.Minute, end)
				if !ok || e.Kind != EvDone {
					t.Errorf("the receiver ends with %+v (within a minute: %v), want done", e, ok)
				}
				if e, ok := a.awaitV(time.Minute, end); !ok || e.Kind != EvDone {
					t.Errorf("the sender ends with %+v (within a minute: %v), want done", e, ok)
				}
				n, _ := l.dialed()
				t.Logf("receiver: %s; %d data connections from the sender", b.m.List()[0].State, n)
				if n != 1 {
					t.Errorf("the sender needed %d data connections: the intrusion cut its connection", n)
				}
				if _, err := os.Stat(filepath.Join(b.dl, "f.bin")); err == nil {
					checkOneCopy(t, b.dl, "f.bin", want)
				}
			})
		})
	}
}

// TestForgedRefusal: whoever answers the sender's data connection first
// (a machine that took the receiver's address, or an injected packet)
// and says "unknown transfer" or "refused" without the transfer's key does
// not end the transfer: the sender takes it as a lost link, and the next
// connection, to the real receiver, finishes it.
func TestForgedRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status byte
	}{
		{"unknown", 1},
		{"refused", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := aliceAndBob(t)
				l := connect(a, b, linkOpts{fake: func(conn int) func(net.Conn) {
					if conn > 1 {
						return nil
					}
					return func(nc net.Conn) {
						defer nc.Close()
						buf := make([]byte, 4096)
						nc.Read(buf) // the hello
						reply := make([]byte, 64)
						rand.Read(reply)
						reply[0] = tc.status
						nc.Write(reply)
					}
				}})
				src := filepath.Join(t.TempDir(), "f.bin")
				want := writeRandom(t, src, 1<<20)
				done, took := vTransfer(t, a, b, src, time.Minute)
				n, _ := l.dialed()
				t.Logf("done: %v after %v, %d data connections; the sender: %s (%s)", done, took, n, a.m.List()[0].State, a.m.List()[0].Code)
				if !done {
					t.Errorf("a forged %q answer ended the transfer: %s (%s)", tc.name, a.m.List()[0].State, a.m.List()[0].Code)
				}
				if done {
					checkOneCopy(t, b.dl, "f.bin", want)
				}
			})
		})
	}
}
