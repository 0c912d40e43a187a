package discovery

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLooksVirtual(t *testing.T) {
	for name, want := range map[string]bool{
		"eth0": false, "enp3s0": false, "wlan0": false, "wlp2s0": false, "en0": false, "br0": false,
		"docker0": true, "br-1a2b3c": true, "veth12ab": true, "virbr0": true, "tun0": true,
		"tap1": true, "wg0": true, "zt5u4y": true, "vboxnet0": true, "tailscale0": true,
	} {
		if got := looksVirtual(name); got != want {
			t.Errorf("looksVirtual(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestChoose(t *testing.T) {
	const ok = net.FlagUp | net.FlagMulticast | net.FlagBroadcast
	cand := func(name string, flags net.Flags, addrs ...string) candidate {
		c := candidate{Name: name, Index: len(name), Flags: flags}
		for _, a := range addrs {
			c.Addrs = append(c.Addrs, netip.MustParsePrefix(a))
		}
		return c
	}
	lo := cand("lo", net.FlagUp|net.FlagLoopback, "127.0.0.1/8")
	eth := cand("eth0", ok, "192.168.1.5/24")
	wlan := cand("wlan0", ok, "10.0.0.6/24")
	docker := cand("docker0", ok, "172.17.0.1/16")
	veth := cand("veth0", ok, "10.77.1.1/24")
	down := cand("eth1", ok&^net.FlagUp, "10.0.0.1/24")
	noMcast := cand("ppp0", net.FlagUp|net.FlagPointToPoint, "10.1.0.1/32")
	noIPv4 := cand("eth2", ok)
	linkLocal := cand("eth3", ok, "169.254.3.4/16")
	twoAddrs := cand("eth4", ok, "192.168.7.1/24", "192.168.8.1/24")

	tests := []struct {
		name    string
		cands   []candidate
		names   []string
		bind    string
		strict  bool
		want    []string // names chosen, in order
		wantErr string
	}{
		{"every real interface", []candidate{lo, eth, wlan}, nil, "", true, []string{"eth0", "wlan0"}, ""},
		{"the two-network laptop", []candidate{lo, eth, docker, wlan}, nil, "", true, []string{"eth0", "wlan0"}, ""},
		{"virtual left out", []candidate{lo, docker, veth, wlan}, nil, "", true, []string{"wlan0"}, ""},
		{"virtual if nothing else (netns)", []candidate{lo, veth}, nil, "", true, []string{"veth0"}, ""},
		{"skip down, no multicast, no IPv4", []candidate{lo, down, noMcast, noIPv4, docker, eth}, nil, "", true, []string{"eth0"}, ""},
		{"link-local only is usable", []candidate{lo, linkLocal, eth}, nil, "", true, []string{"eth3", "eth0"}, ""},
		{"nothing usable is no error", []candidate{lo, down, noIPv4}, nil, "", true, nil, ""},
		{"no interfaces", nil, nil, "", true, nil, ""},

		{"named", []candidate{lo, eth, wlan}, []string{"wlan0"}, "", true, []string{"wlan0"}, ""},
		{"named twice", []candidate{lo, eth, wlan}, []string{"wlan0", "eth0", "wlan0"}, "", true, []string{"wlan0", "eth0"}, ""},
		{"named virtual", []candidate{lo, eth, docker}, []string{"docker0"}, "", true, []string{"docker0"}, ""},
		{"named missing", []candidate{lo, eth}, []string{"wlan9"}, "", true, nil, `discovery: no network interface "wlan9" (have: eth0, lo)`},
		{"named missing later", []candidate{lo, eth}, []string{"wlan9", "eth0"}, "", false, []string{"eth0"}, ""},
		{"named down later", []candidate{lo, down, eth}, []string{"eth1"}, "", false, nil, ""},
		{"named no address", []candidate{lo, noIPv4}, []string{"eth2"}, "", true, nil, `discovery: network interface "eth2" has no IP address`},
		{"named down", []candidate{down}, []string{"eth1"}, "", true, nil, `discovery: network interface "eth1" is down`},
		{"named loopback", []candidate{lo}, []string{"lo"}, "", true, nil, `"lo" is a loopback interface`},
		{"named no multicast", []candidate{noMcast}, []string{"ppp0"}, "", true, nil, `"ppp0" does not support multicast`},

		{"bind picks the interface", []candidate{lo, eth, wlan}, nil, "10.0.0.6", true, []string{"wlan0"}, ""},
		{"bind missing", []candidate{lo, eth}, nil, "10.0.0.99", true, nil, "no usable network interface has address 10.0.0.99"},
		{"bind missing later", []candidate{lo, eth}, nil, "10.0.0.99", false, nil, ""},
	}
	// The code and fields of each error, for the caller to word.
	codes := map[string]IfaceError{
		"named missing":      {Problem: IfaceMissing, Name: "wlan9", Have: []string{"eth0", "lo"}},
		"named no address":   {Problem: IfaceNoAddress, Name: "eth2"},
		"named down":         {Problem: IfaceDown, Name: "eth1"},
		"named loopback":     {Problem: IfaceLoopback, Name: "lo"},
		"named no multicast": {Problem: IfaceNoMulticast, Name: "ppp0"},
		"bind missing":       {Problem: BindNotFound, Bind: netip.MustParseAddr("10.0.0.99"), Have: []string{"eth0", "lo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bind netip.Addr
			if tt.bind != "" {
				bind = netip.MustParseAddr(tt.bind)
			}
			got, err := choose(tt.cands, tt.names, bind, tt.strict)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("choose() = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				var ie *IfaceError
				if !errors.As(err, &ie) {
					t.Fatalf("choose() error %T, want an *IfaceError", err)
				}
				if want, ok := codes[tt.name]; !ok || !reflect.DeepEqual(*ie, want) {
					t.Errorf("choose() error %+v, want %+v", *ie, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("choose(): %v", err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("choose() = %q, want %q", names, tt.want)
			}
		})
	}
	// With bind, only the bound address is advertised.
	got, _ := choose([]candidate{twoAddrs}, nil, netip.MustParseAddr("192.168.8.1"), true)
	if len(got) != 1 || !slices.Equal(got[0].advertised(), []netip.Addr{netip.MustParseAddr("192.168.8.1")}) {
		t.Errorf("bind to the second address: %v", got)
	}
}

func TestAdvertisedSkipsLinkLocal(t *testing.T) {
	c := candidate{Name: "eth0", Flags: net.FlagUp | net.FlagMulticast, Addrs: []netip.Prefix{
		netip.MustParsePrefix("169.254.1.1/16"), netip.MustParsePrefix("192.168.1.5/24"),
	}}
	if got := c.advertised(); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("192.168.1.5")}) {
		t.Errorf("advertised() = %v, want [192.168.1.5]", got)
	}
	c.Addrs = c.Addrs[:1]
	if got := c.advertised(); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("169.254.1.1")}) {
		t.Errorf("advertised() = %v, want [169.254.1.1] when there is nothing else", got)
	}
}

func TestOnLink(t *testing.T) {
	c := candidate{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.5/24"), netip.MustParsePrefix("10.0.0.1/8")}}
	for a, want := range map[string]bool{
		"192.168.1.200": true, "192.168.2.1": false, "10.200.0.1": true, "169.254.9.9": true,
		"8.8.8.8": false, "::ffff:192.168.1.7": true, "fe80::1": false,
	} {
		if got := c.onLink(netip.MustParseAddr(a)); got != want {
			t.Errorf("onLink(%s) = %v, want %v", a, got, want)
		}
	}
}

// TestChooseInterfacesMissing only lists this machine's interfaces; it
// opens no sockets and sends nothing.
func TestChooseInterfacesMissing(t *testing.T) {
	_, err := ChooseInterfaces([]string{"p2pchat-nope9"})
	if err == nil {
		t.Fatal("ChooseInterfaces of a missing interface succeeded")
	}
	const prefix = `discovery: no network interface "p2pchat-nope9" (have: `
	if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), "lo") {
		t.Errorf("error %q, want %q... listing lo", err, prefix)
	}
}
