package peer

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestStreamHandOff: a connection to the chat port that starts with
// StreamMagic goes to the stream handler with its first bytes intact, while
// packet connections on the same port keep working; without a handler a
// stream connection is closed.
func TestStreamHandOff(t *testing.T) {
	tr := listenLoopback(t)
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(tr.LocalPort()))
	packets := make(chan string, 1)
	tr.Serve(func(p Packet) { packets <- string(p.Data) })

	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// No handler yet: closed.
	c := dial()
	c.Write([]byte(StreamMagic + "hello"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a stream connection without a handler was not closed")
	}

	got := make(chan string, 1)
	tr.HandleStreams(func(nc net.Conn, r *bufio.Reader, from netip.AddrPort) {
		defer nc.Close()
		b := make([]byte, len(StreamMagic)+5)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Error(err)
		}
		nc.Write([]byte("ok"))
		got <- string(b)
	})
	c = dial()
	c.Write([]byte(StreamMagic + "hello"))
	select {
	case s := <-got:
		if s != StreamMagic+"hello" {
			t.Fatalf("handler read %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream handler was not called")
	}
	b := make([]byte, 2)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ok" {
		t.Fatalf("answer %q, %v", b, err)
	}

	// A packet connection still delivers packets.
	c = dial()
	c.Write([]byte{0, 0, 0, 3, 'a', 'b', 'c'})
	select {
	case s := <-packets:
		if s != "abc" {
			t.Fatalf("packet %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the packet did not arrive")
	}
}
