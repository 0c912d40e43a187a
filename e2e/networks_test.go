package e2e

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Real networks (issue 13): a laptop on two networks, an interface that
// appears while p2pchat runs.

// TestTwoNetworkLaptop: a laptop whose wired eth0 (created first, with the
// default route) is on another network and whose wlan0 is on the Wi-Fi
// where alice and bob are. It finds everyone on both networks, is found by
// everyone, names both interfaces in its ready event, and chats with each
// peer through the interface it was found on. (Before issue 13 it ran mDNS
// on eth0 only and found only the wired peer.)
func TestTwoNetworkLaptop(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2) // alice, bob on br0
	wired := lab.AddNetwork(t, "br1")
	laptop := lab.AddBareHost(t)
	desk := lab.AddBareHost(t)
	laptopWired := netip.PrefixFrom(wired.Addr().Next(), 24)
	deskWired := netip.PrefixFrom(laptopWired.Addr().Next(), 24)
	laptop.Plug(t, "eth0", "br1", laptopWired)
	desk.Plug(t, "eth0", "br1", deskWired)
	laptop.PlugLAN(t, "wlan0")
	laptop.Run(t, "ip", "route", "add", "default", "dev", "eth0")
	desk.Run(t, "ip", "route", "add", "default", "dev", "eth0")

	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	me := StartNode(t, laptop, "laptop")
	dk := StartNode(t, desk, "desk")
	if got := me.Ready().Ifaces; !slices.Equal(got, []string{"eth0", "wlan0"}) {
		t.Errorf("laptop's ready event names interfaces %q, want [eth0 wlan0]", got)
	}

	me.WaitJoined(t, "alice", "bob", "desk")
	alice.WaitJoined(t, "bob", "laptop")
	bob.WaitJoined(t, "alice", "laptop")
	dk.WaitJoined(t, "laptop")
	for name, want := range map[string]string{
		"alice": peerAddr(lab.Hosts[0]), "bob": peerAddr(lab.Hosts[1]),
		"desk": netip.AddrPortFrom(deskWired.Addr(), port).String(),
	} {
		if e := me.Wait(t, 0, IsJoined(name)); e.Addr != want {
			t.Errorf("laptop: %s joined from %s, want %s", name, e.Addr, want)
		}
	}
	// Messages go both ways on both networks.
	for _, p := range []*Proc{alice, dk} {
		ids := me.SendTo(t, p.Name, "hi "+p.Name)
		p.Wait(t, msgTimeout, IsMessage("laptop", p.Name, "hi "+p.Name))
		me.Wait(t, msgTimeout, IsDelivered(p.Name, ids[0]))
		ids = p.SendTo(t, "laptop", "hi laptop from "+p.Name)
		me.Wait(t, msgTimeout, IsMessage(p.Name, "laptop", "hi laptop from "+p.Name))
		p.Wait(t, msgTimeout, IsDelivered("laptop", ids[0]))
	}
	// Nobody on one network was told about the other network's peer by
	// mDNS (the networks are apart; only peer exchange may bridge them).
	for _, e := range alice.Events() {
		if e.Event == "joined" && e.Name == "desk" && !strings.HasPrefix(e.Addr, deskWired.Addr().String()) {
			t.Errorf("alice: desk joined from %s", e.Addr)
		}
	}
}

// TestIfaceAddedAtRuntime: a laptop started with no network at all (only
// lo) gets its Wi-Fi while p2pchat runs: it joins the new interface
// without a restart, says so, finds alice and is found.
func TestIfaceAddedAtRuntime(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 1)
	late := lab.AddBareHost(t)
	alice := StartNode(t, lab.Hosts[0], "alice")
	me := StartNode(t, late, "late")
	if got := me.Ready().Ifaces; len(got) != 0 {
		t.Errorf("ready names interfaces %q on a host with only lo", got)
	}
	late.PlugLAN(t, "wlan0")
	me.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "info" && strings.Contains(e.Text, "discovery now on wlan0") })
	me.WaitJoined(t, "alice")
	alice.WaitJoined(t, "late")
	ids := alice.SendTo(t, "late", "welcome")
	me.Wait(t, msgTimeout, IsMessage("alice", "late", "welcome"))
	alice.Wait(t, msgTimeout, IsDelivered("late", ids[0]))
}
