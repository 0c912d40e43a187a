package hostile

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// target is a real node on loopback (no discovery: nothing leaves the
// machine), with its events.
func target(t *testing.T) (*peer.Node, netip.AddrPort) {
	t.Helper()
	tr, err := peer.Listen(peer.NetConfig{Bind: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	n, err := peer.New(peer.Config{Name: "target"}, tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(n.Port()))
}

func waitMessage(t *testing.T, n *peer.Node, from, text string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-n.Events():
			if e.Kind == peer.EvMessage && e.Peer == from && e.Text == text {
				return
			}
		case <-deadline:
			t.Fatalf("no message %q from %s", text, from)
		}
	}
}

// TestJoinAndTalk: over UDP and over one shared TCP connection, hostile
// peers get into a real node's book the honest way and what they say is
// shown and acknowledged.
func TestJoinAndTalk(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		n, addr := target(t)
		var c Conn
		if tcp {
			conn, err := DialTCP(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c = conn
		} else {
			conn, err := DialUDP(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c = conn
		}
		for _, name := range []string{"eve", "mallory"} {
			p, err := New(addr, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Join(name, "evilhost", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := p.Say(Message(7, 1, 1, "hi from "+name)); err != nil {
				t.Fatal(err)
			}
			waitMessage(t, n, name, "hi from "+name)
			ack, err := p.Await(wire.KindAck, 5*time.Second)
			if err != nil || ack.Stream != 7 || ack.Seq != 1 {
				t.Fatalf("ack %+v, %v", ack, err)
			}
		}
	}
}

// TestJoinKnowing: once one hostile peer learned the target's key, others
// join with a sealed hello instead of a probe, many in a row from one
// address (answers to probes are 10 a second per /24, and a probing join
// takes two, so 20 probing joins would take 3 s; these do not wait for
// that).
func TestJoinKnowing(t *testing.T) {
	n, addr := target(t)
	conn, err := DialUDP(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	first, err := New(addr, conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := first.TargetKey(); ok {
		t.Fatal("a fresh peer claims to know the target's key")
	}
	if err := first.Join("first", "evilhost", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	key, ok := first.TargetKey()
	if !ok {
		t.Fatal("the target's key is not known after Join")
	}
	start := time.Now()
	for i := range 20 {
		p, err := New(addr, conn)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("knowing%d", i)
		if err := p.JoinKnowing(key, name, "evilhost", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := p.Say(Message(3, 1, 1, "hi from "+name)); err != nil {
			t.Fatal(err)
		}
		waitMessage(t, n, name, "hi from "+name)
	}
	if d := time.Since(start); d > 1900*time.Millisecond {
		t.Errorf("20 joins knowing the key took %v: no faster than probing", d)
	}
}
