//go:build unix

package peer

import (
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// TestBroadcastLead: a peer-exchange lead at the broadcast or network
// address of a local interface's prefix is not followed (loopback's
// 127.0.0.0/8 is on every machine), and the chat sockets cannot send to a
// broadcast address (finding 14).
func TestBroadcastLead(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(11)
		n := startNode(t, mn, "alice")
		f := newFakePeer(t, n.Node, "127.0.0.1:7117")
		f.join("bob")
		for i, lead := range []string{"127.255.255.255:7117", "127.0.0.0:7117"} {
			key := testKey(500 + i)
			f.say(wire.Payload{Kind: wire.KindPeers, Peers: []wire.PeerEntry{{Key: key, Addr: netip.MustParseAddrPort(lead)}}})
			n.mu.Lock()
			followed := hinted(n.Node, key)
			n.mu.Unlock()
			t.Logf("lead %s from %v: followed %v", lead, f.from, followed)
			if followed {
				t.Errorf("lead %s from %v followed", lead, f.from)
			}
		}
		if st := n.Stats(); st.LeadsRefused != 2 {
			t.Errorf("%d leads counted as refused, want 2", st.LeadsRefused)
		}

		tr := listenLoopback(t)
		raw, err := tr.udp.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var opt int
		raw.Control(func(fd uintptr) { opt, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST) })
		err = tr.SendUDP(netip.MustParseAddrPort("127.255.255.255:9"), []byte("x"))
		t.Logf("SO_BROADCAST on the chat socket: %d; a send to 127.255.255.255: %v", opt, err)
		if opt != 0 || err == nil {
			t.Errorf("the chat socket can broadcast (SO_BROADCAST %d, send error %v)", opt, err)
		}
	})
}
