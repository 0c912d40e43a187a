package discovery

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/hashicorp/mdns"
)

func TestToFound(t *testing.T) {
	peer := Info{ID: "0123456789abcdef", Name: "小明", Key: testKey(1), Host: "pc", Version: 1}
	const self = "ffffffffffffffff"
	entry := func(mod func(e *mdns.ServiceEntry)) *mdns.ServiceEntry {
		e := &mdns.ServiceEntry{
			Name:       peer.ID + "._p2pchat._udp.local.",
			Host:       "p2pchat-" + peer.ID + ".local.",
			AddrV4:     net.IPv4(192, 168, 1, 20),
			Port:       7000,
			InfoFields: TXT(peer),
		}
		if mod != nil {
			mod(e)
		}
		return e
	}

	got, err := toFound(entry(nil), self)
	if err != nil {
		t.Fatalf("toFound: %v", err)
	}
	want := Found{Info: peer, Addr: netip.MustParseAddrPort("192.168.1.20:7000")}
	want.Port = 7000
	if got != want {
		t.Errorf("toFound =\n %+v\nwant\n %+v", got, want)
	}
	// Names are case-insensitive in DNS.
	if _, err := toFound(entry(func(e *mdns.ServiceEntry) { e.Name = peer.ID + "._P2PCHAT._udp.LOCAL." }), self); err != nil {
		t.Errorf("upper-case service name: %v", err)
	}

	tests := []struct {
		name    string
		mod     func(e *mdns.ServiceEntry)
		wantErr string
	}{
		{"other service", func(e *mdns.ServiceEntry) { e.Name = peer.ID + "._other._tcp.local." }, "not a _p2pchat._udp answer"},
		{"service as a suffix of a label", func(e *mdns.ServiceEntry) { e.Name = peer.ID + ".x_p2pchat._udp.local." }, "not a"},
		{"other domain", func(e *mdns.ServiceEntry) { e.Name = peer.ID + "._p2pchat._udp.example." }, "not a"},
		{"bad TXT", func(e *mdns.ServiceEntry) { e.InfoFields = []string{"v=1"} }, "missing"},
		{"no TXT", func(e *mdns.ServiceEntry) { e.InfoFields = nil }, "missing"},
		{"instance is not the id", func(e *mdns.ServiceEntry) { e.Name = "alice._p2pchat._udp.local." }, "does not match"},
		{"ourselves", func(e *mdns.ServiceEntry) {
			e.InfoFields = TXT(Info{ID: self, Name: "me", Key: testKey(2)})
			e.Name = self + "._p2pchat._udp.local."
		}, "our own"},
		{"IPv6 only", func(e *mdns.ServiceEntry) { e.AddrV4 = nil; e.AddrV6 = net.ParseIP("fe80::1") }, "no IPv4"},
		{"unspecified address", func(e *mdns.ServiceEntry) { e.AddrV4 = net.IPv4zero }, "unusable"},
		{"multicast address", func(e *mdns.ServiceEntry) { e.AddrV4 = net.IPv4(224, 0, 0, 251) }, "unusable"},
		{"broadcast address", func(e *mdns.ServiceEntry) { e.AddrV4 = net.IPv4bcast }, "unusable"},
		{"loopback address", func(e *mdns.ServiceEntry) { e.AddrV4 = net.IPv4(127, 0, 0, 1) }, "unusable"},
		{"no port", func(e *mdns.ServiceEntry) { e.Port = 0 }, "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := toFound(entry(tt.mod), self)
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
	lo := &net.Interface{Index: 1, Name: "lo"} // never reached
	tests := []struct {
		name    string
		mod     func(i *Info)
		ips     []net.IP
		wantErr string
	}{
		{"no port", func(i *Info) { i.Port = 0 }, nil, "bad port"},
		{"port too big", func(i *Info) { i.Port = 70000 }, nil, "bad port"},
		{"bad id", func(i *Info) { i.ID = "alice" }, nil, "cannot advertise"},
		{"long name", func(i *Info) { i.Name = strings.Repeat("x", 33) }, nil, "cannot advertise"},
		{"zero key", func(i *Info) { i.Key = [32]byte{} }, nil, "cannot advertise"},
		{"IPv6 address", func(i *Info) {}, []net.IP{net.ParseIP("fe80::1")}, "only IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self := good
			tt.mod(&self)
			d, err := Start(context.Background(), Config{Self: self, Iface: lo, IPs: tt.ips})
			if err == nil {
				d.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Errorf("Start error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
