package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// IPv6 (issue 13): a LAN with only link-local fe80:: addresses, a
// dual-stack LAN, and -peer and peer exchange over IPv6.

// v6Addr is the chat address of h at its link-local address, as a peer on
// the same LAN shows it: "[fe80::...%eth0]:7117".
func v6Addr(t *testing.T, h *testnet.Host) string {
	t.Helper()
	return netip.AddrPortFrom(h.LinkLocal(t, testnet.Iface), port).String()
}

// TestIPv6OnlyLAN: three laptops whose network has IPv6 link-local
// addresses alone (no IPv4 address, no IPv4 route) find each other by mDNS
// on ff02::fb, list each other at their link-local addresses with the
// interface as zone, and a /to message arrives and is acknowledged.
// (Before, with IPv4-only sockets, they found nobody.)
func TestIPv6OnlyLAN(t *testing.T) {
	shared(t)
	lab := testnet.NewStack(t, 3, testnet.IPv6Only)
	names := []string{"alice", "bob", "carol"}
	addrs := map[string]string{}
	procs := make([]*Proc, len(names))
	for i, h := range lab.Hosts {
		addrs[names[i]] = v6Addr(t, h)
		procs[i] = StartNode(t, h, names[i])
	}
	for i, p := range procs {
		for j, other := range names {
			if i == j {
				continue
			}
			if e := p.Wait(t, joinTimeout, IsJoined(other)); e.Addr != addrs[other] {
				t.Errorf("%s: %s joined from %s, want %s", p, other, e.Addr, addrs[other])
			}
		}
		if pe := p.Peers(t); len(pe) != 2 {
			t.Errorf("%s: /peers lists %d peers, want 2", p, len(pe))
		}
	}
	alice, carol := procs[0], procs[2]
	ids := alice.SendTo(t, "carol", "hello over IPv6")
	carol.Wait(t, msgTimeout, IsMessage("alice", "carol", "hello over IPv6"))
	alice.Wait(t, msgTimeout, IsDelivered("carol", ids[0]))
	ids = carol.SendTo(t, "alice", "and back")
	alice.Wait(t, msgTimeout, IsMessage("carol", "alice", "and back"))
	carol.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
}

// TestDualStackLAN: on a LAN with IPv4, a global (ULA) IPv6 prefix and
// link-local addresses, every node is reached once, at its IPv4 address,
// as on an IPv4 LAN: one joined event per peer, no "moved" notice, and an
// /all shown once by each.
func TestDualStackLAN(t *testing.T) {
	shared(t)
	lab := testnet.NewStack(t, 3, testnet.DualStack)
	names := []string{"alice", "bob", "carol"}
	procs := make([]*Proc, len(names))
	for i, h := range lab.Hosts {
		procs[i] = StartNode(t, h, names[i])
	}
	for i, p := range procs {
		for j, other := range names {
			if i == j {
				continue
			}
			if e := p.Wait(t, joinTimeout, IsJoined(other)); e.Addr != peerAddr(lab.Hosts[j]) {
				t.Errorf("%s: %s joined from %s, want %s", p, other, e.Addr, peerAddr(lab.Hosts[j]))
			}
		}
	}
	marks := make([]int, len(procs))
	for i, p := range procs {
		marks[i] = p.Mark()
	}
	procs[0].Send("/all hello both stacks")
	sent := procs[0].WaitFrom(t, marks[0], msgTimeout, IsSent("all")).IDs
	for i, p := range procs[1:] {
		p.WaitFrom(t, marks[i+1], msgTimeout, IsMessage("alice", "all", "hello both stacks"))
	}
	relWaitDelivered(t, procs[0], marks[0], time.Now().Add(msgTimeout), sent)
	procs[0].Send("/all marker")
	for i, p := range procs[1:] {
		end := p.WaitFrom(t, marks[i+1], msgTimeout, IsMessage("alice", "all", "marker"))
		if got := relMessages(p.Events()[marks[i+1]:end.Seq], "alice", "all"); len(got) != 1 {
			t.Errorf("%s: got %q before the marker, want the message once", p, got)
		}
	}
	for _, p := range procs {
		if pe := p.Peers(t); len(pe) != 2 {
			t.Errorf("%s: /peers lists %d peers, want 2", p, len(pe))
		}
		if j := countKind(p.Events(), "joined"); j != 2 {
			t.Errorf("%s: %d joined events, want 2 (one per peer)", p, j)
		}
		if n := countEvents(p, func(e Event) bool { return e.Event == "info" && strings.Contains(e.Text, " moved from ") }); n != 0 {
			t.Errorf("%s: %d 'moved' notices: a peer was reached at two addresses", p, n)
		}
	}
}

// TestIPv6PeerFlagAndExchange: on an IPv6-only LAN with multicast dropped,
// bob and carol are told `-peer [fe80::...%eth0]:7117` (alice's link-local
// address); carol learns bob from alice's peer exchange (the entry carries
// a 16-byte address, and carol gives it her own interface as zone), and
// they chat.
func TestIPv6PeerFlagAndExchange(t *testing.T) {
	shared(t)
	lab := testnet.NewStack(t, 3, testnet.IPv6Only)
	for _, h := range lab.Hosts {
		h.DropUDP(t, 100, 5353)
	}
	aliceAddr := v6Addr(t, lab.Hosts[0])
	if !strings.HasPrefix(aliceAddr, "[fe80::") || !strings.HasSuffix(aliceAddr, "%eth0]:7117") {
		t.Fatalf("alice's address %s", aliceAddr)
	}
	alice := StartNode(t, lab.Hosts[0], "alice", "-mdns=false")
	bob := StartNode(t, lab.Hosts[1], "bob", "-mdns=false", "-peer", aliceAddr)
	alice.WaitJoined(t, "bob")
	carol := StartNode(t, lab.Hosts[2], "carol", "-mdns=false", "-peer", aliceAddr)
	carol.WaitJoined(t, "alice", "bob")
	bob.WaitJoined(t, "carol")
	for _, pe := range carol.Peers(t) {
		want := "exchange or traffic"
		ok := pe.Via == "exchange" || pe.Via == "traffic"
		if pe.Name == "alice" {
			want, ok = "peer-flag", pe.Via == "peer-flag"
		}
		if !ok {
			t.Errorf("carol: %s learned via %q, want %s", pe.Name, pe.Via, want)
		}
	}
	if e := carol.Wait(t, 0, IsJoined("bob")); e.Addr != v6Addr(t, lab.Hosts[1]) {
		t.Errorf("carol: bob joined from %s, want %s", e.Addr, v6Addr(t, lab.Hosts[1]))
	}
	ids := carol.SendTo(t, "bob", fmt.Sprintf("found you through %s", "alice"))
	bob.Wait(t, msgTimeout, IsMessage("carol", "bob", "found you through alice"))
	carol.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
}
