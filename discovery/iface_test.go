package discovery

import (
	"net"
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
	ip := func(s string) []net.IP { return []net.IP{net.ParseIP(s).To4()} }
	lo := candidate{"lo", net.FlagUp | net.FlagLoopback, ip("127.0.0.1")}
	eth := candidate{"eth0", ok, ip("192.168.1.5")}
	wlan := candidate{"wlan0", ok, ip("192.168.1.6")}
	docker := candidate{"docker0", ok, ip("172.17.0.1")}
	veth := candidate{"veth0", ok, ip("10.77.1.1")}
	down := candidate{"eth1", ok &^ net.FlagUp, ip("10.0.0.1")}
	noMcast := candidate{"ppp0", net.FlagUp | net.FlagPointToPoint, ip("10.1.0.1")}
	noIPv4 := candidate{"eth2", ok, nil}
	linkLocal := candidate{"eth3", ok, ip("169.254.3.4")}

	tests := []struct {
		name    string
		cands   []candidate
		iface   string
		want    string // chosen name; "" = error
		wantErr string
	}{
		{"first usable", []candidate{lo, eth, wlan}, "", "eth0", ""},
		{"order decides among real", []candidate{lo, wlan, eth}, "", "wlan0", ""},
		{"real beats virtual listed first", []candidate{lo, docker, veth, wlan}, "", "wlan0", ""},
		{"virtual if nothing else (netns)", []candidate{lo, veth}, "", "veth0", ""},
		{"skip down, no multicast, no IPv4", []candidate{lo, down, noMcast, noIPv4, docker, eth}, "", "eth0", ""},
		{"routable beats link-local", []candidate{lo, linkLocal, eth}, "", "eth0", ""},
		{"link-local beats virtual", []candidate{lo, docker, linkLocal}, "", "eth3", ""},
		{"link-local if nothing else", []candidate{lo, linkLocal}, "", "eth3", ""},
		{"nothing usable", []candidate{lo, down, noIPv4}, "", "", "discovery: no usable network interface"},
		{"no interfaces", nil, "", "", "(have: none)"},

		{"named", []candidate{lo, eth, wlan}, "wlan0", "wlan0", ""},
		{"named virtual", []candidate{lo, eth, docker}, "docker0", "docker0", ""},
		{"named missing", []candidate{lo, eth}, "wlan9", "", `discovery: no network interface "wlan9" (have: eth0, lo)`},
		{"named no IPv4", []candidate{lo, noIPv4}, "eth2", "", `discovery: network interface "eth2" has no IPv4 address`},
		{"named down", []candidate{down}, "eth1", "", `discovery: network interface "eth1" is down`},
		{"named loopback", []candidate{lo}, "lo", "", `"lo" is a loopback interface`},
		{"named no multicast", []candidate{noMcast}, "ppp0", "", `"ppp0" does not support multicast`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := choose(tt.cands, tt.iface)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("choose() = %d, %v; want error containing %q", i, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("choose(): %v", err)
			}
			if got := tt.cands[i].Name; got != tt.want {
				t.Errorf("choose() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAdvertisedSkipsLinkLocal(t *testing.T) {
	c := candidate{"eth0", net.FlagUp | net.FlagMulticast, []net.IP{
		net.ParseIP("169.254.1.1").To4(), net.ParseIP("192.168.1.5").To4(),
	}}
	if got := c.advertised(); len(got) != 1 || !got[0].Equal(net.ParseIP("192.168.1.5")) {
		t.Errorf("advertised() = %v, want [192.168.1.5]", got)
	}
}

// TestChooseInterfaceMissing only lists this machine's interfaces; it opens
// no sockets and sends nothing.
func TestChooseInterfaceMissing(t *testing.T) {
	_, _, err := ChooseInterface("p2pchat-nope9")
	if err == nil {
		t.Fatal("ChooseInterface of a missing interface succeeded")
	}
	const prefix = `discovery: no network interface "p2pchat-nope9" (have: `
	if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), "lo") {
		t.Errorf("error %q, want %q... listing lo", err, prefix)
	}
}
