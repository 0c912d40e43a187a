package discovery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestToFound(t *testing.T) {
	peer := Info{ID: "0123456789abcdef", Name: "小明", Key: testKey(1), Host: "pc", Version: 1}
	const self = "ffffffffffffffff"
	eth := candidate{Name: "eth0", Index: 2, Flags: net.FlagUp | net.FlagMulticast, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.5/24")}}
	mk := func(mod func(e *entry)) entry {
		e := entry{
			Name:   peer.ID + "._p2pchat._udp.local.",
			Target: "p2pchat-" + peer.ID + ".local.",
			Addrs:  []netip.Addr{netip.MustParseAddr("192.168.1.20")},
			Port:   7000,
			TXT:    TXT(peer),
		}
		if mod != nil {
			mod(&e)
		}
		return e
	}

	got, err := toFound(mk(nil), self, eth)
	if err != nil {
		t.Fatalf("toFound: %v", err)
	}
	want := Found{Info: peer, Addr: netip.MustParseAddrPort("192.168.1.20:7000"), Iface: "eth0"}
	want.Port = 7000
	if got != want {
		t.Errorf("toFound =\n %+v\nwant\n %+v", got, want)
	}
	// Names are case-insensitive in DNS.
	if _, err := toFound(mk(func(e *entry) { e.Name = peer.ID + "._P2PCHAT._udp.LOCAL." }), self, eth); err != nil {
		t.Errorf("upper-case service name: %v", err)
	}
	// Of several addresses, one on the interface's subnet is preferred.
	f, err := toFound(mk(func(e *entry) {
		e.Addrs = []netip.Addr{netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("192.168.1.21"), netip.MustParseAddr("192.168.1.22")}
	}), self, eth)
	if err != nil || f.Addr != netip.MustParseAddrPort("192.168.1.21:7000") {
		t.Errorf("several addresses: %v, %v; want 192.168.1.21:7000", f.Addr, err)
	}

	tests := []struct {
		name    string
		mod     func(e *entry)
		wantErr string
	}{
		{"other service", func(e *entry) { e.Name = peer.ID + "._other._tcp.local." }, "not a _p2pchat._udp answer"},
		{"service as a suffix of a label", func(e *entry) { e.Name = peer.ID + ".x_p2pchat._udp.local." }, "not a"},
		{"other domain", func(e *entry) { e.Name = peer.ID + "._p2pchat._udp.example." }, "not a"},
		{"bad TXT", func(e *entry) { e.TXT = []string{"v=1"} }, "missing"},
		{"no TXT", func(e *entry) { e.TXT = nil }, "missing"},
		{"instance is not the id", func(e *entry) { e.Name = "alice._p2pchat._udp.local." }, "does not match"},
		{"ourselves", func(e *entry) {
			e.TXT = TXT(Info{ID: self, Name: "me", Key: testKey(2)})
			e.Name = self + "._p2pchat._udp.local."
		}, "our own"},
		{"IPv6 link-local on an IPv4-only interface", func(e *entry) { e.Addrs = []netip.Addr{netip.MustParseAddr("fe80::1")} }, "no usable address"},
		{"no address", func(e *entry) { e.Addrs = nil }, "no usable address"},
		{"IPv6 multicast", func(e *entry) { e.Addrs = []netip.Addr{netip.MustParseAddr("ff02::fb")} }, "no usable"},
		{"IPv6 loopback", func(e *entry) { e.Addrs = []netip.Addr{netip.IPv6Loopback()} }, "no usable"},
		{"unspecified address", func(e *entry) { e.Addrs = []netip.Addr{netip.IPv4Unspecified()} }, "no usable"},
		{"multicast address", func(e *entry) { e.Addrs = []netip.Addr{netip.MustParseAddr("224.0.0.251")} }, "no usable"},
		{"broadcast address", func(e *entry) { e.Addrs = []netip.Addr{netip.MustParseAddr("255.255.255.255")} }, "no usable"},
		{"loopback address", func(e *entry) { e.Addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")} }, "no usable"},
		{"goodbye", func(e *entry) { e.Goodbye = true }, "goodbye"},
		{"no port", func(e *entry) { e.Port = 0 }, "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := toFound(mk(tt.mod), self, eth)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("toFound = %+v, %v; want error containing %q", f, err, tt.wantErr)
			}
		})
	}
}

// TestStartRejectsBadSelf checks validation that happens before any socket
// is opened, so it is safe in the default network namespace.
func TestStartRejectsBadSelf(t *testing.T) {
	good := Info{ID: "0123456789abcdef", Name: "alice", Key: testKey(1), Port: 7000}
	tests := []struct {
		name    string
		mod     func(i *Info)
		bind    netip.Addr
		wantErr string
	}{
		{"no port", func(i *Info) { i.Port = 0 }, netip.Addr{}, "bad port"},
		{"port too big", func(i *Info) { i.Port = 70000 }, netip.Addr{}, "bad port"},
		{"bad id", func(i *Info) { i.ID = "alice" }, netip.Addr{}, "cannot advertise"},
		{"long name", func(i *Info) { i.Name = strings.Repeat("x", 33) }, netip.Addr{}, "cannot advertise"},
		{"zero key", func(i *Info) { i.Key = [32]byte{} }, netip.Addr{}, "cannot advertise"},
		{"IPv6 address", func(i *Info) {}, netip.MustParseAddr("fe80::1"), "only IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self := good
			tt.mod(&self)
			// Ifaces names a missing interface, so no socket is ever opened.
			d, err := Start(context.Background(), Config{Self: self, Bind: tt.bind, Ifaces: []string{"p2pchat-nope9"}})
			if err == nil {
				d.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Errorf("Start error %q, want it to contain %q", err, tt.wantErr)
			}
			var ie *IfaceError
			if tt.bind.IsValid() && (!errors.As(err, &ie) || ie.Problem != BindNotIPv4 || ie.Bind != tt.bind) {
				t.Errorf("Start error %#v, want an IfaceError BindNotIPv4 for %v", err, tt.bind)
			}
		})
	}
}

// TestPickAddr: the address a node is reached at, of those it advertised:
// one per node, IPv4 on the link first (an IPv4 LAN is unchanged), IPv6
// link-local with the interface as zone.
func TestPickAddr(t *testing.T) {
	v4 := candidate{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.5/24"), netip.MustParsePrefix("fe80::5/64")}}
	v4only := candidate{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.5/24")}}
	v6 := candidate{Name: "wlan0", Addrs: []netip.Prefix{netip.MustParsePrefix("fe80::5/64"), netip.MustParsePrefix("2001:db8:1::5/64")}}
	v6ll := candidate{Name: "wlan0", Addrs: []netip.Prefix{netip.MustParsePrefix("fe80::5/64")}}
	tests := []struct {
		name  string
		addrs string
		c     candidate
		want  string
	}{
		{"IPv4 only", "192.168.1.20", v4, "192.168.1.20"},
		{"dual-stack: IPv4 on the link wins", "fe80::20 2001:db8:1::20 192.168.1.20", v4, "192.168.1.20"},
		{"dual-stack, our link IPv6 only", "192.168.1.20 fe80::20", v6ll, "fe80::20%wlan0"},
		{"link-local gets the zone", "fe80::20", v6ll, "fe80::20%wlan0"},
		{"global IPv6 on our prefix beats link-local", "fe80::20 2001:db8:1::20", v6, "2001:db8:1::20"},
		{"link-local beats a global IPv6 elsewhere", "2001:db8:9::20 fe80::20", v6, "fe80::20%wlan0"},
		{"link-local beats IPv4 off the link", "10.9.9.9 fe80::20", v4, "fe80::20%eth0"},
		{"IPv4 off the link beats IPv6 elsewhere", "2001:db8:9::20 10.9.9.9", v4only, "10.9.9.9"},
		{"no link-local without IPv6 here", "fe80::20", v4only, ""},
		{"first of a rank", "192.168.1.21 192.168.1.22", v4, "192.168.1.21"},
		{"nothing usable", "127.0.0.1 ::1 ff02::fb 224.0.0.251 0.0.0.0 ::", v6, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addrs []netip.Addr
			for _, a := range strings.Fields(tt.addrs) {
				addrs = append(addrs, netip.MustParseAddr(a))
			}
			got := pickAddr(addrs, tt.c)
			if (tt.want == "" && got.IsValid()) || (tt.want != "" && got != netip.MustParseAddr(tt.want)) {
				t.Errorf("pickAddr(%s) on %v = %v, want %q", tt.addrs, tt.c.Addrs, got, tt.want)
			}
		})
	}
}
