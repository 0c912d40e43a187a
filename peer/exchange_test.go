package peer

import (
	"context"
	"crypto/rand"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// TestExchangeOnePeerFindsAll: without any discovery, a node told only
// where alice is learns bob and carol from her, and they learn it: each
// through an authenticated hello of its own.
func TestExchangeOnePeerFindsAll(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(1)
		alice := startNode(t, mn, "alice")
		bob := startNode(t, mn, "bob")
		carol := startNode(t, mn, "carol")
		bob.AddPeer(alice.tr.Addr())
		carol.AddPeer(alice.tr.Addr())
		waitOnline(t, alice, "bob")
		waitOnline(t, alice, "carol")

		dave := startNode(t, mn, "dave")
		dave.AddPeer(alice.tr.Addr())
		for _, name := range []string{"alice", "bob", "carol"} {
			waitOnline(t, dave, name)
		}
		waitOnline(t, bob, "dave")
		waitOnline(t, carol, "dave")
		for _, name := range []string{"bob", "carol"} {
			p, err := dave.Resolve(name)
			if err != nil {
				t.Fatal(err)
			}
			// Either dave followed alice's lead ("exchange"), or the peer,
			// told about dave by alice, said hello first ("traffic"): there is
			// no other way to learn each other here.
			if p.Via != "exchange" && p.Via != "traffic" {
				t.Errorf("dave learned %s via %q, want exchange (or traffic)", name, p.Via)
			}
		}
		// bob and carol knew each other only through alice as well.
		waitOnline(t, bob, "carol")
	})
}

// TestExchangePoison: a hostile peer feeds 5,000 made-up entries. The node
// follows at most maxLearnedFrom of them (one hello each), drops the rest
// cheaply, lists none of them, and still talks to an honest peer.
func TestExchangePoison(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(2)
		n := startNode(t, mn, "alice")
		bob := startNode(t, mn, "bob")
		bob.AddPeer(n.tr.Addr())
		waitOnline(t, n, "bob")

		f := newFakePeer(t, n.Node, "10.0.0.99:7117")
		f.join("mallory")
		udp0, _ := n.tr.Sent()
		const packets, per = 250, wire.MaxPeerEntries
		for i := range packets {
			pl := wire.Payload{Kind: wire.KindPeers}
			for j := range per {
				var key [32]byte
				rand.Read(key[:])
				key[31] &= 0x7f
				pl.Peers = append(pl.Peers, wire.PeerEntry{Key: key, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), byte(j + 1)}), 7117)})
			}
			f.say(pl)
		}
		udp1, _ := n.tr.Sent()
		st := n.Stats()
		followed := packets*per - int(st.LeadsDropped)
		t.Logf("5,000 entries: %d followed, %d dropped, %d datagrams sent meanwhile", followed, st.LeadsDropped, udp1-udp0)
		if followed > maxLearnedFrom || followed < 1 {
			t.Errorf("%d leads followed, want 1..%d", followed, maxLearnedFrom)
		}
		if sent := udp1 - udp0; sent > maxLearnedFrom+10 {
			t.Errorf("the node sent %d datagrams for the flood, want at most about %d", sent, maxLearnedFrom)
		}
		var names []string
		for _, p := range n.Peers() {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, []string{"bob", "mallory"}) {
			t.Errorf("the node lists %q, want only bob and mallory", names)
		}
		ids, err := n.Send("bob", "still fine")
		if err != nil {
			t.Fatal(err)
		}
		bob.wait("the message", func(e Event) bool { return e.Kind == EvMessage && e.Text == "still fine" })
		n.wait("delivered", func(e Event) bool { return e.Kind == EvDelivered && e.ID == ids[0] })
	})
}

// TestExchangeFromStrangerIgnored: a peers packet from a key the node does
// not know is not followed (it only gets a hello with a challenge).
func TestExchangeFromStrangerIgnored(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(3)
		n := startNode(t, mn, "alice")
		f := newFakePeer(t, n.Node, "10.0.0.99:7117")
		var key [32]byte
		key[0] = 9
		f.say(wire.Payload{Kind: wire.KindPeers, Peers: []wire.PeerEntry{{Key: key, Addr: netip.MustParseAddrPort("10.0.0.50:7117")}}})
		n.mu.Lock()
		_, hinted := n.hints.Get(key)
		n.mu.Unlock()
		if hinted {
			t.Error("a stranger's peers packet was followed")
		}
	})
}

// waitOnline waits until tn has the peer called name online.
func waitOnline(t *testing.T, tn *testNode, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tn.WaitPeer(ctx, name); err != nil {
		t.Fatalf("%s: %v", tn.Name(), err)
	}
}

func TestUsableLead(t *testing.T) {
	lan := netip.MustParseAddrPort("192.168.1.5:7117")
	lo := netip.MustParseAddrPort("127.0.0.1:7117")
	local := []netip.Prefix{
		netip.MustParsePrefix("192.168.1.5/24"), netip.MustParsePrefix("10.1.2.3/8"),
		netip.MustParsePrefix("172.16.0.0/31"), netip.MustParsePrefix("127.0.0.1/8"),
		netip.MustParsePrefix("2001:db8::5/64"),
	}
	for _, tt := range []struct {
		addr string
		from netip.AddrPort
		want bool
	}{
		{"192.168.1.9:7117", lan, true},
		{"10.8.0.2:7117", lan, true},
		{"100.101.102.103:41641", lan, true}, // a Tailscale address
		{"[fe80::1%eth0]:7117", lan, true},
		{"[2001:db8::1]:7117", lan, true},
		{"192.168.1.9:0", lan, false},
		{"0.0.0.0:7117", lan, false},
		{"224.0.0.251:5353", lan, false},
		{"255.255.255.255:7117", lan, false},
		{"127.0.0.1:7118", lan, false},
		{"127.0.0.1:7118", lo, true},
		// The broadcast and network addresses of our prefixes (finding 14).
		{"192.168.1.255:7117", lan, false},
		{"192.168.1.0:7117", lan, false},
		{"10.255.255.255:9", lan, false},
		{"10.0.0.0:7117", lan, false},
		{"10.8.0.255:7117", lan, true},    // inside 10.0.0.0/8: a host
		{"192.168.2.255:7117", lan, true}, // not a prefix of ours: maybe a host of a /23 elsewhere
		{"172.16.0.0:7117", lan, true},    // a /31's two addresses are hosts
		{"127.255.255.255:7117", lo, false},
	} {
		if got := usableLead(netip.MustParseAddrPort(tt.addr), tt.from, local); got != tt.want {
			t.Errorf("usableLead(%s from %v) = %v, want %v", tt.addr, tt.from, got, tt.want)
		}
	}
}

// TestExchangeResentAfterLoss: the first book alice sends the newcomer
// dave is lost; she sends it again, so dave still learns bob, whom only
// she knew. Every other book on the network is lost too, so that alice's
// books to dave are dave's only way to bob. (When the book was sent once,
// dave never learned bob.)
func TestExchangeResentAfterLoss(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(4)
		alice := startNode(t, mn, "alice")
		bob := startNode(t, mn, "bob")
		dave := startNode(t, mn, "dave")
		keys := map[netip.AddrPort]*testNode{alice.tr.Addr(): alice, bob.tr.Addr(): bob, dave.tr.Addr(): dave}
		var mu sync.Mutex
		toDave, others := 0, 0
		kinds := map[string]wire.Kind{} // data packets sealed, by their bytes
		for _, n := range keys {
			n.mu.Lock()
			n.sess.tap = func(pkt, plain []byte) {
				if len(plain) > 0 {
					mu.Lock()
					kinds[string(pkt)] = wire.Kind(plain[0])
					mu.Unlock()
				}
			}
			n.mu.Unlock()
		}
		mn.DropIf(func(from, to netip.AddrPort, b []byte, tcp bool) bool {
			src, dst := keys[from], keys[to]
			if src == nil || dst == nil {
				return false
			}
			mu.Lock()
			kind := kinds[string(b)]
			mu.Unlock()
			if kind != wire.KindPeers {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			if src != alice || dst != dave {
				others++
				return true
			}
			toDave++
			return toDave == 1 // the first is lost
		})
		bob.AddPeer(alice.tr.Addr())
		waitOnline(t, alice, "bob")
		dave.AddPeer(alice.tr.Addr())
		waitOnline(t, dave, "alice")
		ctx, cancel := context.WithTimeout(context.Background(), 3*shareDelay+10*time.Second)
		defer cancel()
		err := dave.WaitPeer(ctx, "bob")
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Fatalf("dave never learned bob (alice sent dave %d books, the first lost; %d other books lost): %v", toDave, others, err)
		}
		t.Logf("dave learned bob from alice's book number %d", toDave)
	})
}

// TestShareBookLinkLocal: an IPv6 link-local address is shared only with a
// peer reached by link-local on the same interface, and a link-local lead
// takes the zone of the peer that sent it (the wire carries none).
func TestShareBookLinkLocal(t *testing.T) {
	for _, tt := range []struct {
		lead, from, want string
	}{
		{"[fe80::2]:7117", "[fe80::1%eth0]:7117", "[fe80::2%eth0]:7117"},
		{"[fe80::2%wlan0]:7117", "[fe80::1%eth0]:7117", "[fe80::2%eth0]:7117"},
		{"[fe80::2]:7117", "192.168.1.5:7117", "[fe80::2]:7117"},
		{"[2001:db8::2]:7117", "[fe80::1%eth0]:7117", "[2001:db8::2]:7117"},
		{"10.0.0.2:7117", "[fe80::1%eth0]:7117", "10.0.0.2:7117"},
	} {
		lead, from := netip.MustParseAddrPort(tt.lead), netip.MustParseAddrPort(tt.from)
		got := zoned(lead, from)
		if got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("zoned(%s from %s) = %s, want %s", tt.lead, tt.from, got, tt.want)
		}
		if want := tt.want != "[fe80::2]:7117"; usableLead(got, from, nil) != want {
			t.Errorf("usableLead(%s from %s) = %v, want %v", got, tt.from, !want, want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"fe80::1%eth0", "fe80::2%eth0", true},
		{"fe80::1%eth0", "fe80::2%wlan0", false},
		{"fe80::1", "fe80::2", false},
		{"fe80::1%eth0", "10.0.0.1", false},
		{"2001:db8::1", "2001:db8::2", false},
	} {
		if got := sameLink(netip.MustParseAddr(tt.a), netip.MustParseAddr(tt.b)); got != tt.want {
			t.Errorf("sameLink(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
