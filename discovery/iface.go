package discovery

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// virtualPrefixes are name prefixes of interfaces that usually lead to
// containers, VMs or tunnels rather than to the LAN other laptops are on.
var virtualPrefixes = []string{
	"docker", "br-", "veth", "virbr", "tun", "tap", "wg", "zt",
	"vboxnet", "vmnet", "lxcbr", "lxdbr", "podman", "cni", "flannel", "cali", "tailscale",
}

// looksVirtual reports whether an interface name looks like a container,
// VM or VPN interface.
func looksVirtual(name string) bool {
	for _, p := range virtualPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// candidate is what choosing an interface needs to know about one; it keeps
// the choice a pure function that tests can feed without real interfaces.
type candidate struct {
	Name  string
	Flags net.Flags
	IPv4  []net.IP // the interface's IPv4 addresses
}

// unusable returns why c cannot carry mDNS, or "" if it can.
func (c candidate) unusable() string {
	switch {
	case c.Flags&net.FlagUp == 0:
		return "is down"
	case c.Flags&net.FlagLoopback != 0:
		return "is a loopback interface"
	case c.Flags&net.FlagMulticast == 0:
		return "does not support multicast"
	case len(c.IPv4) == 0:
		return "has no IPv4 address"
	}
	return ""
}

// advertised returns the addresses worth advertising: the IPv4 addresses of
// c, without link-local 169.254/16 ones unless there is nothing else.
func (c candidate) advertised() []net.IP {
	var out []net.IP
	for _, ip := range c.IPv4 {
		if !ip.IsLinkLocalUnicast() {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		return slices.Clone(c.IPv4)
	}
	return out
}

// rank orders usable candidates: lower is better. Real-looking names beat
// virtual-looking ones; a routable address beats only a link-local one.
func (c candidate) rank() int {
	r := 0
	if looksVirtual(c.Name) {
		r += 2
	}
	if len(c.advertised()) > 0 && c.advertised()[0].IsLinkLocalUnicast() {
		r++
	}
	return r
}

// choose returns the index in cands of the interface to use. With name set it
// is that interface, if usable; otherwise it is the first usable one of the
// best rank (see candidate.rank), so a virtual interface is chosen only if
// there is nothing else, as in a network namespace holding just a veth.
func choose(cands []candidate, name string) (int, error) {
	if name != "" {
		for i, c := range cands {
			if c.Name != name {
				continue
			}
			if why := c.unusable(); why != "" {
				return -1, fmt.Errorf("discovery: network interface %q %s", name, why)
			}
			return i, nil
		}
		return -1, fmt.Errorf("discovery: no network interface %q (have: %s)", name, names(cands))
	}
	best := -1
	for i, c := range cands {
		if c.unusable() != "" {
			continue
		}
		if best < 0 || c.rank() < cands[best].rank() {
			best = i
		}
	}
	if best < 0 {
		return -1, fmt.Errorf("discovery: no usable network interface: need one that is up, multicast-capable, not loopback, with an IPv4 address (have: %s)", names(cands))
	}
	return best, nil
}

// names lists the candidates' names, sorted, for error messages.
func names(cands []candidate) string {
	var ns []string
	for _, c := range cands {
		ns = append(ns, c.Name)
	}
	if len(ns) == 0 {
		return "none"
	}
	slices.Sort(ns)
	return strings.Join(ns, ", ")
}

// ChooseInterface picks the network interface to run mDNS on and returns it
// with the IPv4 addresses to advertise. With name "" it takes the first
// interface that is up, multicast-capable, not loopback and has an IPv4
// address, preferring names that do not look virtual (docker*, br-*, veth*,
// virbr*, tun*, tap*, wg*, zt*, ...). With a name it takes that interface or
// says why it cannot. The hashicorp/mdns library serves one interface only.
func ChooseInterface(name string) (*net.Interface, []net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: list network interfaces: %w", err)
	}
	cands := make([]candidate, len(ifaces))
	for i := range ifaces {
		ips, err := ipv4Addrs(&ifaces[i])
		if err != nil {
			return nil, nil, err
		}
		cands[i] = candidate{Name: ifaces[i].Name, Flags: ifaces[i].Flags, IPv4: ips}
	}
	i, err := choose(cands, name)
	if err != nil {
		return nil, nil, err
	}
	return &ifaces[i], cands[i].advertised(), nil
}

// ipv4Addrs returns the IPv4 addresses of ifi, each 4 bytes long.
func ipv4Addrs(ifi *net.Interface) ([]net.IP, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("discovery: addresses of %s: %w", ifi.Name, err)
	}
	var out []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil {
			out = append(out, ip4)
		}
	}
	return out, nil
}
