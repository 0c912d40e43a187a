package discovery

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Which interfaces discovery runs on. The rule, as README.md states it:
//
//   - every interface that is up, multicast-capable, not loopback and has an
//     IP address (IPv4, or IPv6: a link-local fe80:: address is enough) is
//     used, all at once (as avahi and Bonjour do), with each family it has
//     an address of (mDNS on 224.0.0.251 and on ff02::fb);
//   - interfaces whose names look like container, VM or tunnel interfaces
//     (virtualPrefixes: docker0, br-*, veth*, virbr*, tun*, tap*, wg*, zt*,
//     tailscale*, ...) are left out, because they lead to containers and
//     VMs on this machine or to a VPN rather than to the people on the same
//     Wi-Fi, unless nothing else is usable (a network namespace or a
//     container holding just a veth) or they are named with -iface;
//     peers behind a VPN are reached through peer exchange or -peer instead;
//   - a non-empty restriction (-iface, repeatable) uses exactly the
//     interfaces named, virtual or not.
//
// The set is computed again every Config.Rescan, so interfaces that appear
// (a dock, a new Wi-Fi, a VPN) are joined and those that go away are left.

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

// candidate is what choosing interfaces needs to know about one; it keeps
// the choice a pure function that tests can feed without real interfaces.
type candidate struct {
	Name  string
	Index int
	Flags net.Flags
	Addrs []netip.Prefix // the interface's IP addresses and their subnets, IPv4 and IPv6 (no zones)
}

// IfaceProblem is why an interface cannot be used: the code of an
// IfaceError.
type IfaceProblem int

const (
	IfaceMissing     IfaceProblem = iota + 1 // no interface has the name
	IfaceDown                                // the interface is down
	IfaceLoopback                            // a loopback interface (mDNS never leaves the machine)
	IfaceNoMulticast                         // the interface does not support multicast
	IfaceNoAddress                           // the interface has no IP address
	BindNotFound                             // no usable interface holds Config.Bind
	BindNotIPv4                              // Config.Bind is not an IPv4 address
)

// IfaceError is why Start cannot use the interfaces of Config.Ifaces or the
// address of Config.Bind. Its fields are for the caller to word; Error
// gives an English sentence for logs.
type IfaceError struct {
	Problem IfaceProblem
	Name    string     // the interface named (all but BindNotFound and BindNotIPv4)
	Bind    netip.Addr // the address asked for (BindNotFound, BindNotIPv4)
	Have    []string   // the machine's interfaces, sorted (IfaceMissing, BindNotFound)
}

func (e *IfaceError) Error() string {
	have := "none"
	if len(e.Have) > 0 {
		have = strings.Join(e.Have, ", ")
	}
	switch e.Problem {
	case IfaceMissing:
		return fmt.Sprintf("discovery: no network interface %q (have: %s)", e.Name, have)
	case BindNotFound:
		return fmt.Sprintf("discovery: no usable network interface has address %v (have: %s)", e.Bind, have)
	case BindNotIPv4:
		return fmt.Sprintf("discovery: cannot bind to %v: only IPv4 addresses are supported", e.Bind)
	}
	why := map[IfaceProblem]string{
		IfaceDown:        "is down",
		IfaceLoopback:    "is a loopback interface",
		IfaceNoMulticast: "does not support multicast",
		IfaceNoAddress:   "has no IP address",
	}[e.Problem]
	return fmt.Sprintf("discovery: network interface %q %s", e.Name, why)
}

// unusable returns why c cannot carry mDNS, or 0 if it can.
func (c candidate) unusable() IfaceProblem {
	switch {
	case c.Flags&net.FlagUp == 0:
		return IfaceDown
	case c.Flags&net.FlagLoopback != 0:
		return IfaceLoopback
	case c.Flags&net.FlagMulticast == 0:
		return IfaceNoMulticast
	case len(c.Addrs) == 0:
		return IfaceNoAddress
	}
	return 0
}

// has reports whether c has an address of IPv6 (v6) or of IPv4.
func (c candidate) has(v6 bool) bool {
	return slices.ContainsFunc(c.Addrs, func(p netip.Prefix) bool { return p.Addr().Is6() == v6 })
}

// advertised returns the addresses worth advertising: the IPv4 addresses of
// c, without link-local 169.254/16 ones unless there is no other IPv4
// address, then its IPv6 addresses, link-local ones included (on an
// IPv6-only LAN they may be all there is; peers pick one, see pickAddr).
func (c candidate) advertised() []netip.Addr {
	var out, ll, v6 []netip.Addr
	for _, p := range c.Addrs {
		switch {
		case p.Addr().Is6():
			v6 = append(v6, p.Addr())
		case p.Addr().IsLinkLocalUnicast():
			ll = append(ll, p.Addr())
		default:
			out = append(out, p.Addr())
		}
	}
	if len(out) == 0 {
		out = ll
	}
	return append(out, v6...)
}

// onLink reports whether a is on one of c's subnets (169.254/16 always is,
// RFC 3927, and so is fe80::/10 on an interface with IPv6, RFC 4291: that
// it came in on c is the caller's to know).
func (c candidate) onLink(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a.IsLinkLocalUnicast() && (a.Is4() || c.has(true)) {
		return true
	}
	for _, p := range c.Addrs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// same reports whether c and o would be advertised alike (same interface,
// same addresses).
func (c candidate) same(o candidate) bool {
	return c.Name == o.Name && c.Index == o.Index && slices.Equal(c.Addrs, o.Addrs)
}

// choose returns the interfaces to use among cands (see the rule at the top
// of this file). With names set it is those interfaces: when strict (at
// start) each must exist and be usable, otherwise the missing and unusable
// ones are skipped. With bind valid only interfaces holding that address
// are used, advertising it alone.
func choose(cands []candidate, names []string, bind netip.Addr, strict bool) ([]candidate, error) {
	var out []candidate
	if len(names) > 0 {
		for _, name := range names {
			i := slices.IndexFunc(cands, func(c candidate) bool { return c.Name == name })
			switch {
			case i < 0 && strict:
				return nil, &IfaceError{Problem: IfaceMissing, Name: name, Have: listNames(cands)}
			case i < 0:
				continue
			}
			if why := cands[i].unusable(); why != 0 {
				if strict {
					return nil, &IfaceError{Problem: why, Name: name}
				}
				continue
			}
			if !slices.ContainsFunc(out, func(c candidate) bool { return c.Name == name }) {
				out = append(out, cands[i])
			}
		}
	} else {
		var virtual []candidate
		for _, c := range cands {
			switch {
			case c.unusable() != 0:
			case looksVirtual(c.Name):
				virtual = append(virtual, c)
			default:
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			out = virtual
		}
	}
	if bind.IsValid() {
		var kept []candidate
		for _, c := range out {
			for _, p := range c.Addrs {
				if p.Addr() == bind {
					c.Addrs = []netip.Prefix{p}
					kept = append(kept, c)
					break
				}
			}
		}
		if len(kept) == 0 && strict {
			return nil, &IfaceError{Problem: BindNotFound, Bind: bind, Have: listNames(cands)}
		}
		out = kept
	}
	return out, nil
}

// listNames lists the candidates' names, sorted.
func listNames(cands []candidate) []string {
	var ns []string
	for _, c := range cands {
		ns = append(ns, c.Name)
	}
	slices.Sort(ns)
	return ns
}

// interfaces lists this machine's interfaces as candidates.
func interfaces() ([]candidate, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("discovery: list network interfaces: %w", err)
	}
	cands := make([]candidate, 0, len(ifaces))
	bad := unusableAddrs()
	for i := range ifaces {
		addrs, err := ipPrefixes(&ifaces[i])
		if err != nil {
			return nil, err
		}
		addrs = slices.DeleteFunc(addrs, func(p netip.Prefix) bool { return slices.Contains(bad[ifaces[i].Index], p.Addr()) })
		cands = append(cands, candidate{Name: ifaces[i].Name, Index: ifaces[i].Index, Flags: ifaces[i].Flags, Addrs: addrs})
	}
	return cands, nil
}

// ChooseInterfaces returns the names of the interfaces discovery would use
// now with the given restriction (see choose), or why it cannot: for
// checking -iface before starting anything. It only lists interfaces.
func ChooseInterfaces(names []string) ([]string, error) {
	cands, err := interfaces()
	if err != nil {
		return nil, err
	}
	used, err := choose(cands, names, netip.Addr{}, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range used {
		out = append(out, c.Name)
	}
	return out, nil
}

// ipPrefixes returns the IP addresses of ifi with their subnets, IPv4 ones
// first.
func ipPrefixes(ifi *net.Interface) ([]netip.Prefix, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("discovery: addresses of %s: %w", ifi.Name, err)
	}
	var out, v6 []netip.Prefix
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil {
			ones, bits := ipn.Mask.Size()
			if bits != 32 {
				ones = 32
			}
			addr, _ := netip.AddrFromSlice(ip4)
			out = append(out, netip.PrefixFrom(addr, ones))
			continue
		}
		addr, ok := netip.AddrFromSlice(ipn.IP)
		if !ok || addr.IsLoopback() || addr.IsMulticast() {
			continue
		}
		ones, bits := ipn.Mask.Size()
		if bits != 128 {
			ones = 128
		}
		v6 = append(v6, netip.PrefixFrom(addr, ones))
	}
	return append(out, v6...), nil
}
