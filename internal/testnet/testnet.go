// Package testnet builds a throw-away simulated LAN out of Linux network
// namespaces, for tests that need several "laptops on one Wi-Fi".
//
// A Lab is one switch namespace holding a bridge (br0, multicast snooping
// off, so multicast such as mDNS is flooded to every port) plus one network
// namespace per Host. Each host namespace has lo up and an eth0 that is one
// end of a veth pair whose other end is enslaved to the bridge; eth0 carries
// 10.77.<k>.<i>/24, a default route and a 224.0.0.0/4 route, so multicast
// sockets work exactly as on a real LAN, and the IPv6 link-local address
// the kernel gives every interface (no duplicate address detection, so it
// is usable at once). NewStack builds IPv6-only labs (link-local fe80::
// alone, no IPv4 address) and dual-stack ones (fd77:<k>::<i>/64 too).
// Nothing is created in the caller's own network namespace: multicast sent
// by a host never leaves the lab.
//
// k is derived from the process id and namespace names embed the pid and a
// per-process lab counter ("p2p<pid>-<n>-sw", "p2p<pid>-<n>-h<i>"), so two
// test binaries can build labs at the same time. Programs started with
// Host.Command also get their own UTS namespace whose host name is
// Host.Hostname ("laptop<i>"), so peers on different hosts report different
// host names, as real laptops do.
//
// Building a lab needs root and the ip and nft commands (iproute2,
// nftables); New skips the test otherwise. Everything is removed in
// t.Cleanup. The functions take a T, a small interface that testing.TB
// satisfies.
package testnet

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// T is what testnet needs from its caller. *testing.T and *testing.B
// satisfy it; a program that builds labs outside "go test" (bench)
// implements it plainly: Fatalf and Skipf must not return.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(f func())
}

// Iface is the name of every host's network interface.
const Iface = "eth0"

// Net holds every address a lab gives its hosts (10.77.k.i): tools that
// send crafted traffic check their destinations against it.
var Net = netip.MustParsePrefix("10.77.0.0/16")

// Net6 holds the IPv6 addresses a dual-stack lab gives its hosts
// (fd77:k::i, a unique local prefix); IPv6-only hosts have link-local
// addresses alone (fe80::/10, which never leave a link).
var Net6 = netip.MustParsePrefix("fd77::/16")

// Stack is which addresses a lab's hosts get on their LAN interface.
type Stack int

const (
	// IPv4 is 10.77.k.i/24 (and the kernel's IPv6 link-local address, as
	// on any LAN today).
	IPv4 Stack = iota
	// IPv6Only is the IPv6 link-local address alone: no IPv4 address and
	// no IPv4 routes.
	IPv6Only
	// DualStack is 10.77.k.i/24, fd77:k::i/64 and link-local.
	DualStack
)

const nftTable = "p2ptest"

var labCounter atomic.Int64

// Lab is a simulated LAN: a bridge in its own namespace and the hosts
// plugged into it.
type Lab struct {
	Hosts  []*Host
	Switch string // name of the namespace holding the bridge
	Prefix string // common prefix of all namespace names of this lab

	subnet byte  // k in 10.77.k.0/24
	stack  Stack // the addresses AddHost gives
	nets   int   // networks added with AddNetwork
	mu     sync.Mutex
	closed bool
}

// Host is one simulated machine: a network namespace plugged into the lab's
// bridge.
type Host struct {
	Name     string     // network namespace name, usable with `ip netns exec`
	Hostname string     // host name programs started by Command see
	IP       netip.Addr // IPv4 address of eth0 (invalid on an IPv6-only host)
	IP6      netip.Addr // fd77:k::i on a dual-stack host (invalid otherwise); see LinkLocal
	Index    int        // 1-based position in the lab (last byte of IP)
	Lab      *Lab

	port string // name of the veth end in the switch namespace

	mu    sync.Mutex
	drops map[int]int // UDP port -> percent dropped
	plugs int         // interfaces added with Plug
}

// New builds a lab with n hosts, or skips the test if that is impossible
// here (not root, no ip or nft command, namespaces not permitted).
func New(t T, n int) *Lab {
	t.Helper()
	return NewStack(t, n, IPv4)
}

// NewStack is New with hosts whose LAN interface has the addresses of
// stack.
func NewStack(t T, n int, stack Stack) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("testnet: needs root to create network namespaces (run the tests as root, e.g. sudo go test)")
	}
	for _, tool := range []string{"ip", "nft", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("testnet: %q command not found (install iproute2, nftables, util-linux): %v", tool, err)
		}
	}
	removeStale()
	pid := os.Getpid()
	l := &Lab{
		Prefix: fmt.Sprintf("p2p%d-%d-", pid, labCounter.Add(1)),
		subnet: byte(pid % 256),
		stack:  stack,
	}
	l.Switch = l.Prefix + "sw"
	t.Cleanup(l.Close)
	if out, err := ipCmd("netns", "add", l.Switch); err != nil {
		if isPermission(out) {
			t.Skipf("testnet: cannot create network namespaces here: %s", out)
		}
		t.Fatalf("testnet: ip netns add %s: %v: %s", l.Switch, err, out)
	}
	mustRun(t, "ip", "-n", l.Switch, "link", "set", "lo", "up")
	mustRun(t, "ip", "-n", l.Switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0", "forward_delay", "0")
	mustRun(t, "ip", "-n", l.Switch, "link", "set", "br0", "up")
	for i := 0; i < n; i++ {
		l.AddHost(t)
	}
	return l
}

// AddHost plugs a new host into the lab: a laptop joining the network later.
func (l *Lab) AddHost(t T) *Host {
	t.Helper()
	h := l.AddBareHost(t)
	// Create the pair inside the switch namespace with the host end moved
	// straight into the host namespace: nothing ever appears in ours.
	mustRun(t, "ip", "-n", l.Switch, "link", "add", h.port, "type", "veth", "peer", "name", Iface, "netns", h.Name)
	mustRun(t, "ip", "-n", l.Switch, "link", "set", h.port, "master", "br0", "up")
	switch l.stack {
	case IPv6Only:
		h.IP = netip.Addr{}
	case DualStack:
		mustRun(t, "ip", "-n", h.Name, "addr", "add", h.IP.String()+"/24", "dev", Iface)
		b := Net6.Addr().As16()
		b[3], b[15] = l.subnet, byte(h.Index)
		h.IP6 = netip.AddrFrom16(b)
		mustRun(t, "ip", "-n", h.Name, "addr", "add", h.IP6.String()+"/64", "dev", Iface, "nodad")
	default:
		mustRun(t, "ip", "-n", h.Name, "addr", "add", h.IP.String()+"/24", "dev", Iface)
	}
	mustRun(t, "ip", "-n", h.Name, "link", "set", Iface, "up")
	h.addRoutes(t)
	return h
}

// LinkLocal returns h's IPv6 link-local address on ifname, with ifname as
// its zone, once the kernel has made it and it is no longer tentative
// (duplicate address detection is off in the lab, so that is at once, but
// the address appears only when the link's carrier is up): it polls for
// up to 5 s.
func (h *Host) LinkLocal(t T, ifname string) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", "-n", h.Name, "-6", "-o", "addr", "show", "dev", ifname, "scope", "link").CombinedOutput()
		if err != nil {
			t.Fatalf("testnet: ip -6 addr on %s: %v: %s", h.Name, err, out)
		}
		if a, ok := parseLinkLocal(string(out)); ok {
			return a.WithZone(ifname)
		}
		if time.Now().After(deadline) {
			t.Fatalf("testnet: no usable IPv6 link-local address on %s %s after 5 s:\n%s", h.Name, ifname, out)
		}
		time.Sleep(20 * time.Millisecond) // polling the kernel for the address
	}
}

// parseLinkLocal finds, in `ip -6 -o addr show` output, a link-local
// address that is not tentative (nor failed duplicate detection).
func parseLinkLocal(out string) (netip.Addr, bool) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] != "inet6" {
				continue
			}
			p, err := netip.ParsePrefix(f[i+1])
			if err != nil || !p.Addr().IsLinkLocalUnicast() || strings.Contains(line, "tentative") || strings.Contains(line, "dadfailed") {
				continue
			}
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

// Other networks of a lab (AddNetwork) are 10.77.<k^128>.0/24 and up: still
// inside Net, on bridges of their own.

// AddNetwork adds another network to the lab (a bridge named name in the
// switch namespace, e.g. "br1"), unconnected to br0, and returns its
// subnet: 10.77.<k^128>.0/24 for the first, then <k^129>, ...
func (l *Lab) AddNetwork(t T, name string) netip.Prefix {
	t.Helper()
	l.mu.Lock()
	l.nets++
	k := l.subnet ^ (0x80 + byte(l.nets-1))
	l.mu.Unlock()
	mustRun(t, "ip", "-n", l.Switch, "link", "add", name, "type", "bridge", "mcast_snooping", "0", "stp_state", "0", "forward_delay", "0")
	mustRun(t, "ip", "-n", l.Switch, "link", "set", name, "up")
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{Net.Addr().As4()[0], Net.Addr().As4()[1], k, 0}), 24)
}

// AddBareHost adds a host with only lo, plugged into nothing: give it
// interfaces with Plug (its IP, Hostname and Index are set as AddHost
// sets them, but no interface carries IP until PlugLAN).
func (l *Lab) AddBareHost(t T) *Host {
	t.Helper()
	l.mu.Lock()
	i := len(l.Hosts) + 1
	if i > 253 {
		l.mu.Unlock()
		t.Fatalf("testnet: too many hosts")
	}
	h := &Host{
		Name:     fmt.Sprintf("%sh%d", l.Prefix, i),
		Hostname: fmt.Sprintf("laptop%d", i),
		IP:       netip.AddrFrom4([4]byte{Net.Addr().As4()[0], Net.Addr().As4()[1], l.subnet, byte(i)}),
		Index:    i,
		Lab:      l,
		port:     fmt.Sprintf("v%d", i),
		drops:    map[int]int{},
	}
	l.Hosts = append(l.Hosts, h)
	l.mu.Unlock()
	if i > bigLAN {
		raiseNeighbourTables(t)
	}

	mustRun(t, "ip", "netns", "add", h.Name)
	mustRun(t, "ip", "-n", h.Name, "link", "set", "lo", "up")
	// No duplicate address detection: IPv6 link-local is usable at once.
	mustRun(t, "ip", "netns", "exec", h.Name, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad")
	return h
}

// Plug gives h an interface named ifname on bridge (br0 is the lab's LAN;
// others come from AddNetwork) with address addr (none if invalid), up.
// Plugged while a program runs, it is an interface appearing: a dock, a
// new Wi-Fi. No route is added.
func (h *Host) Plug(t T, ifname, bridge string, addr netip.Prefix) {
	t.Helper()
	h.mu.Lock()
	h.plugs++
	port := fmt.Sprintf("%sx%d", h.port, h.plugs)
	h.mu.Unlock()
	mustRun(t, "ip", "-n", h.Lab.Switch, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", h.Name)
	mustRun(t, "ip", "-n", h.Lab.Switch, "link", "set", port, "master", bridge, "up")
	if addr.IsValid() {
		mustRun(t, "ip", "-n", h.Name, "addr", "add", addr.String(), "dev", ifname)
	}
	mustRun(t, "ip", "-n", h.Name, "link", "set", ifname, "up")
}

// PlugLAN gives h an interface named ifname on the lab's LAN (br0)
// carrying h.IP/24.
func (h *Host) PlugLAN(t T, ifname string) {
	t.Helper()
	h.Plug(t, ifname, "br0", netip.PrefixFrom(h.IP, 24))
}

// bigLAN is the number of hosts past which the kernel's neighbour tables
// are raised.
const bigLAN = 24

// The kernel's ARP table is shared by every network namespace, and with
// the default gc_thresh3 (1024) a lab of more than about 30 hosts, each
// with an entry for every other, overflows it: multicast then silently
// stops. raiseNeighbourTables raises the thresholds (never lowers them)
// once per process.
var raiseOnce sync.Once

func raiseNeighbourTables(t T) {
	raiseOnce.Do(func() {
		for name, want := range map[string]int{"gc_thresh1": 8192, "gc_thresh2": 32768, "gc_thresh3": 65536} {
			for _, fam := range []string{"ipv4", "ipv6"} {
				p := "/proc/sys/net/" + fam + "/neigh/default/" + name
				b, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				if cur, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && cur >= want {
					continue
				}
				if err := os.WriteFile(p, []byte(strconv.Itoa(want)), 0o644); err != nil {
					t.Fatalf("testnet: raise %s: %v", p, err)
				}
			}
		}
	})
}

func (h *Host) addRoutes(t T) {
	t.Helper()
	if h.Lab.stack == IPv6Only {
		return // link-local and ff02:: need no route
	}
	mustRun(t, "ip", "-n", h.Name, "route", "replace", "224.0.0.0/4", "dev", Iface)
	mustRun(t, "ip", "-n", h.Name, "route", "replace", "default", "dev", Iface)
}

// Close removes the lab: kills whatever still runs in its namespaces and
// deletes them. New registers it with t.Cleanup; calling it again is a no-op.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	hosts := append([]*Host(nil), l.Hosts...)
	l.mu.Unlock()
	names := []string{}
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	names = append(names, l.Switch)
	for _, ns := range names {
		killNamespace(ns)
	}
	for _, ns := range names {
		ipCmd("netns", "del", ns)
	}
}

// killNamespace SIGKILLs the processes left in ns (all started by this
// lab's tests) and waits briefly for them to go.
func killNamespace(ns string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			return
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond) // polling for the processes to be gone
	}
}

var staleRE = regexp.MustCompile(`^p2p(\d+)-\d+-(sw|h\d+)$`)

// removeStale deletes namespaces left behind by test binaries that died
// without cleaning up (their pid no longer exists).
func removeStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		m := staleRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			killNamespace(e.Name())
			ipCmd("netns", "del", e.Name())
		}
	}
}

// Command returns a command that runs name inside h's network namespace
// (via `ip netns exec`) and in a fresh UTS namespace whose host name is
// h.Hostname. Every step execs the next, so cmd.Process is the program
// itself: signals sent to it reach the program.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	all := []string{"netns", "exec", h.Name,
		"unshare", "--uts", "--",
		"sh", "-c", `echo "$0" > /proc/sys/kernel/hostname && exec "$@"`, h.Hostname,
		name}
	all = append(all, args...)
	return exec.CommandContext(ctx, "ip", all...)
}

// Run runs a command inside h's namespace and returns its combined output,
// failing the test if it fails.
func (h *Host) Run(t T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: on %s: %s %s: %v\n%s", h.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// DropUDP makes h drop percent% (chosen at random per datagram) of the
// incoming UDP datagrams to port: 100 drops them all, 0 removes the rule.
// Rules for different ports are independent. It uses nftables inside h's
// namespace; a counter on each rule shows in NFTRules.
func (h *Host) DropUDP(t T, percent int, port int) {
	t.Helper()
	if percent < 0 || percent > 100 {
		t.Fatalf("testnet: DropUDP percent %d out of 0..100", percent)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if percent == 0 {
		delete(h.drops, port)
	} else {
		h.drops[port] = percent
	}
	ports := make([]int, 0, len(h.drops))
	for p := range h.drops {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	var b strings.Builder
	// Declaring then deleting makes the script work whether or not the
	// table exists; nft applies the whole script atomically.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", nftTable, nftTable)
	if len(ports) > 0 {
		fmt.Fprintf(&b, "table inet %s {\n chain input {\n  type filter hook input priority 0; policy accept;\n", nftTable)
		for _, p := range ports {
			if pc := h.drops[p]; pc >= 100 {
				fmt.Fprintf(&b, "  udp dport %d counter drop\n", p)
			} else {
				fmt.Fprintf(&b, "  udp dport %d numgen random mod 100 < %d counter drop\n", p, pc)
			}
		}
		b.WriteString(" }\n}\n")
	}
	h.NFT(t, b.String())
}

// NFT applies an nftables script inside h's namespace (nft -f -, atomic),
// failing the test if nft refuses it. Tests and programs that count or
// drop packets on a host use a table of their own, so that DropUDP, which
// rewrites its table, leaves theirs alone.
func (h *Host) NFT(t T, script string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testnet: nft on %s: %v: %s\nscript:\n%s", h.Name, err, out, script)
	}
}

// NFTRules returns the lab's nftables rules on h (with their counters), for
// diagnostics; "" if there are none.
func (h *Host) NFTRules(t T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.Name, "nft", "list", "table", "inet", nftTable).CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

// SetLink cuts (up=false) or restores (up=true) h's network by taking its
// eth0 down or up, as a laptop losing and regaining Wi-Fi. The address is
// kept; the routes are put back on restore.
func (h *Host) SetLink(t T, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	mustRun(t, "ip", "-n", h.Name, "link", "set", Iface, state)
	if up {
		h.addRoutes(t)
	}
}

// LimitRate shapes what h sends to bitsPerSec (a token bucket, tc tbf,
// on its eth0), as a wired or wireless link of that speed would; 0 removes
// the limit. The bucket holds 1 ms of the rate (at least 64 KiB), and
// packets wait at most 20 ms in it.
func (h *Host) LimitRate(t T, bitsPerSec int64) {
	t.Helper()
	if bitsPerSec <= 0 {
		mustRun(t, "ip", "netns", "exec", h.Name, "tc", "qdisc", "del", "dev", Iface, "root")
		return
	}
	burst := max(bitsPerSec/8/1000, 64<<10)
	mustRun(t, "ip", "netns", "exec", h.Name, "tc", "qdisc", "replace", "dev", Iface, "root", "tbf",
		"rate", strconv.FormatInt(bitsPerSec, 10)+"bit", "burst", strconv.FormatInt(burst, 10), "latency", "20ms")
}

func ipCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	return string(bytes.TrimSpace(out)), err
}

func mustRun(t T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

func isPermission(out string) bool {
	return strings.Contains(out, "Operation not permitted") || strings.Contains(out, "Permission denied")
}
