package discovery

// Tests with real mDNS. They never run mDNS in the test's own network
// namespace: each one builds a small LAN out of network namespaces (a
// "switch" namespace holding a Linux bridge, and host namespaces whose veth
// is plugged into it) and runs the discovery code inside the host
// namespaces by re-executing the test binary with `ip netns exec`.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// Environment of the helper process (TestHelperProcess).
const (
	envHelper  = "P2PCHAT_DISCOVERY_HELPER"  // "1": be the helper
	envSelf    = "P2PCHAT_DISCOVERY_SELF"    // JSON Info to advertise
	envForeign = "P2PCHAT_DISCOVERY_FOREIGN" // "1": also run foreign mDNS services
	envUpdate  = "P2PCHAT_DISCOVERY_UPDATE"  // a new nickname: Update to it at once
	envRescan  = "P2PCHAT_DISCOVERY_RESCAN"  // Config.Rescan, a time.Duration
)

// lan is a simulated LAN of network namespaces.
type lan struct {
	prefix string // namespace name prefix, unique per process and lan
	subnet byte   // k in 10.77.k.0/24
	hosts  []string
	ifname []string // each host's interface on br0
}

var lanCount atomic.Int32

// newLAN creates a switch namespace with a bridge and n host namespaces,
// host i (from 1) at 10.77.k.i/24. The interface in each host namespace is
// called eth0, except in the third, where it is veth0 (to exercise the
// fall-back to virtual-looking names); it is also the default route.
// Everything is deleted in Cleanup.
// newLAN skips the test when it cannot build the namespaces.
func newLAN(t *testing.T, n int) *lan {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping real-mDNS test: needs root to create network namespaces (mDNS never runs in the default namespace)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping real-mDNS test: the ip command (iproute2) is missing:", err)
	}
	pid := os.Getpid()
	seq := lanCount.Add(1)
	l := &lan{
		prefix: fmt.Sprintf("p2pd%d-%d", pid, seq),
		subnet: byte((pid+int(seq))%250 + 1),
	}
	sw := l.prefix + "-sw"
	if out, err := exec.Command("ip", "netns", "add", sw).CombinedOutput(); err != nil {
		t.Skipf("skipping real-mDNS test: cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { l.del(t, sw) })
	run(t, "ip", "-n", sw, "link", "set", "lo", "up")
	run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ifname := "eth0"
		if i == 3 {
			ifname = "veth0"
		}
		l.addHost(t)
		l.plug(t, i, ifname, "br0", netip.PrefixFrom(l.addr(i), 24))
		// Like a laptop on a LAN with a router.
		run(t, "ip", "-n", l.hosts[i-1], "route", "add", "default", "dev", ifname)
	}
	return l
}

// addHost adds a host namespace with only lo, and returns its number.
func (l *lan) addHost(t *testing.T) int {
	t.Helper()
	i := len(l.hosts) + 1
	ns := fmt.Sprintf("%s-h%d", l.prefix, i)
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { l.del(t, ns) })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	// No duplicate address detection: IPv6 link-local is usable at once
	// (a tentative address cannot send, and appearing later it would make
	// discovery announce again).
	run(t, "ip", "netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad")
	l.hosts = append(l.hosts, ns)
	l.ifname = append(l.ifname, "")
	return i
}

// addBridge adds another bridge (another network) to the switch namespace.
func (l *lan) addBridge(t *testing.T, br string) {
	t.Helper()
	run(t, "ip", "-n", l.prefix+"-sw", "link", "add", br, "type", "bridge")
	run(t, "ip", "-n", l.prefix+"-sw", "link", "set", br, "up")
}

// plug gives host i (from 1) an interface ifname with address addr,
// plugged into bridge br ("br0": the lan everyone is on). The first
// interface plugged into br0 is the one reports from host i are checked
// against.
func (l *lan) plug(t *testing.T, i int, ifname, br string, addr netip.Prefix) {
	t.Helper()
	sw, ns := l.prefix+"-sw", l.hosts[i-1]
	port := fmt.Sprintf("h%d%s", i, ifname)
	run(t, "ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
	run(t, "ip", "-n", sw, "link", "set", port, "master", br)
	run(t, "ip", "-n", sw, "link", "set", port, "up")
	if addr.IsValid() { // none: IPv6 link-local alone
		run(t, "ip", "-n", ns, "addr", "add", addr.String(), "dev", ifname)
	}
	run(t, "ip", "-n", ns, "link", "set", ifname, "up")
	if br == "br0" && l.ifname[i-1] == "" {
		l.ifname[i-1] = ifname
	}
}

// addr returns the address of host i (from 1).
func (l *lan) addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 77, l.subnet, byte(i)}) }

// del deletes a namespace, which also deletes the veths in it.
func (l *lan) del(t *testing.T, ns string) {
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		t.Errorf("ip netns del %s: %v: %s", ns, err, out)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// report is one Found printed by a helper on host Host (from 1).
type report struct {
	Host  int
	Found Found
}

// lockedBuffer collects a helper's stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startHelper runs TestHelperProcess in host namespace i (from 1),
// advertising self, and sends what it finds to reports (dropping when
// full). It returns the helper's stderr (its debug log). The helper is
// stopped, and its exit status checked, in Cleanup.
func (l *lan) startHelper(t *testing.T, i int, self Info, reports chan<- report, env ...string) *lockedBuffer {
	t.Helper()
	log, _ := l.start(t, i, self, reports, env...)
	return log
}

func (l *lan) start(t *testing.T, i int, self Info, reports chan<- report, env ...string) (*lockedBuffer, func()) {
	t.Helper()
	exe, err := os.Executable() // not /proc/self/exe: ip would resolve that to itself
	if err != nil {
		t.Fatal(err)
	}
	selfJSON, err := json.Marshal(self)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.hosts[i-1], exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envHelper+"=1", envSelf+"="+string(selfJSON))
	// Under -race a process waits a second at exit (GORACE atexit_sleep_ms).
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.HasPrefix(line, []byte("{")) {
				continue // test framework output
			}
			var f Found
			if err := json.Unmarshal(line, &f); err != nil {
				fmt.Fprintf(stderr, "parent: bad line %q: %v\n", line, err)
				continue
			}
			select {
			case reports <- report{Host: i, Found: f}:
			default:
			}
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { stdin.Close() }) } // the helper closes its Discovery and exits on EOF
	t.Cleanup(func() {
		stop()
		exited := make(chan error, 1)
		go func() { <-readDone; exited <- cmd.Wait() }()
		select {
		case err = <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			err = fmt.Errorf("did not exit within 10s after stdin closed: %v", <-exited)
		}
		if err != nil {
			t.Errorf("helper on host %d: %v", i, err)
		}
		if err != nil || t.Failed() {
			t.Logf("helper on host %d stderr:\n%s", i, stderr)
		}
	})
	return stderr, stop
}

// TestHelperProcess is the discovery node that the real-mDNS tests run
// inside a network namespace. Run directly, it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		return
	}
	var self Info
	if err := json.Unmarshal([]byte(os.Getenv(envSelf)), &self); err != nil {
		t.Fatalf("%s: %v", envSelf, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if os.Getenv(envForeign) == "1" {
		startForeign(t, logger)
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	rescan, _ := time.ParseDuration(os.Getenv(envRescan))
	d, err := Start(context.Background(), Config{
		Self:   self,
		Logger: logger,
		Rescan: rescan,
		OnChange: func(ifaces []string) {
			logger.Debug("helper: interfaces", "now", ifaces)
		},
		OnFound: func(f Found) {
			mu.Lock()
			defer mu.Unlock()
			if err := enc.Encode(f); err != nil {
				logger.Error("helper: write", "err", err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if name := os.Getenv(envUpdate); name != "" {
		self.Name = name
		if err := d.Update(self); err != nil {
			t.Fatal(err)
		}
	}
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	logger.Debug("helper: stdin closed")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if left := discoveryGoroutines(); len(left) > 0 { // Close joins them all, on real sockets too
		logger.Error("helper: goroutines left after Close", "stacks", strings.Join(left, "\n\n"))
		t.Fatalf("%d discovery goroutines left after Close", len(left))
	}
	if err := d.Update(self); err != ErrClosed {
		t.Fatalf("Update after Close = %v, want ErrClosed", err)
	}
	logger.Debug("helper: done")
}

// discoveryGoroutines returns the stacks of the goroutines running a method
// of Discovery (the readers and the schedule loop), other goroutines (the
// runtime's, which come and go) aside. Close returns once each has called
// its deferred wg.Done, which a goroutine may not have returned from yet:
// one still there after a second did not end.
func discoveryGoroutines() []string {
	deadline := time.Now().Add(time.Second)
	for {
		buf := make([]byte, 1<<20)
		var left []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "discovery.(*Discovery).") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond) // polling for goroutines on their way out
	}
}

// foreignInfo is advertised by the foreign services. Its TXT is a valid
// p2pchat TXT and its instance name a valid id: only the service type tells
// it apart.
var foreignInfo = Info{ID: "ffffffffffffffff", Name: "foreign", Key: testKey(99), Version: 1}

// chattyZone answers every question with its service's records, like a
// misbehaving device; the mdns library passes such answers on.
type chattyZone struct{ svc *mdns.MDNSService }

func (z chattyZone) Records(q dns.Question) []dns.RR {
	return z.svc.Records(dns.Question{Name: "_other._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})
}

// startForeign starts two mDNS responders for "_other._tcp" on the chosen
// interface: an ordinary one and a chatty one.
func startForeign(t *testing.T, logger *slog.Logger) {
	cands, err := interfaces()
	if err != nil {
		t.Fatal(err)
	}
	used, err := choose(cands, nil, netip.Addr{}, true)
	if err != nil || len(used) == 0 {
		t.Fatalf("no interface for the foreign services: %v", err)
	}
	iface, err := net.InterfaceByIndex(used[0].Index)
	if err != nil {
		t.Fatal(err)
	}
	var ips []net.IP
	for _, a := range used[0].advertised() {
		ips = append(ips, a.AsSlice())
	}
	svc, err := mdns.NewMDNSService(foreignInfo.ID, "_other._tcp", "local.", "foreign.local.", 4242, ips, TXT(foreignInfo))
	if err != nil {
		t.Fatal(err)
	}
	libLog := slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	for _, zone := range []mdns.Zone{svc, chattyZone{svc}} {
		srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Iface: iface, Logger: libLog})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Shutdown() })
	}
}

// node returns the Info of test node i.
func node(i int, name string) Info {
	return Info{
		ID:      fmt.Sprintf("%016x", 0xa0+i),
		Name:    name,
		Key:     testKey(byte(10 * i)),
		Port:    7000 + i,
		Host:    fmt.Sprintf("laptop%d", i),
		Version: Version,
	}
}

// TestDiscoveryNetns runs three nodes on a simulated LAN and waits until each
// has found the other two, checking every report.
func TestDiscoveryNetns(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the helpers
	l := newLAN(t, 3)
	nodes := []Info{node(1, "alice"), node(2, "小明"), node(3, "bob")}
	reports := make(chan report, 1024)
	begin := time.Now()
	for i, n := range nodes {
		l.startHelper(t, i+1, n, reports)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found := map[[2]int]bool{} // {finder, found}, from 1
	for len(found) < len(nodes)*(len(nodes)-1) {
		select {
		case <-ctx.Done():
			t.Fatalf("after %v only found %v (finder, found)", time.Since(begin), keys(found))
		case r := <-reports:
			j := checkReport(t, l, nodes, r)
			if j > 0 {
				found[[2]int{r.Host, j}] = true
			}
		}
	}
	t.Logf("all %d nodes found each other in %v", len(nodes), time.Since(begin))
}

// checkReport checks that r is about another node of nodes, exactly as it
// advertised, and returns that node's number (from 1), or 0.
func checkReport(t *testing.T, l *lan, nodes []Info, r report) int {
	t.Helper()
	f := r.Found
	if f.ID == nodes[r.Host-1].ID {
		t.Errorf("host %d reports itself: %+v", r.Host, f)
		return 0
	}
	for j, n := range nodes {
		if f.ID != n.ID {
			continue
		}
		want := Found{Info: n, Addr: netip.AddrPortFrom(l.addr(j+1), uint16(n.Port)), Iface: l.ifname[r.Host-1]}
		if f != want {
			t.Errorf("host %d found\n %+v\nwant\n %+v", r.Host, f, want)
		}
		return j + 1
	}
	t.Errorf("host %d found an unknown node %+v", r.Host, f)
	return 0
}

func keys(m map[[2]int]bool) [][2]int {
	var out [][2]int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDiscoveryNetnsForeignService runs two nodes, the first sharing its
// namespace with foreign mDNS services (_other._tcp, one of them answering
// every question), and checks over the first query rounds that only the
// p2pchat nodes are reported. The second node also renames itself with
// Update, which the first must see.
func TestDiscoveryNetnsForeignService(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the helpers
	l := newLAN(t, 2)
	a, b := node(1, "alice"), node(2, "bob")
	reports := make(chan report, 1024)
	begin := time.Now()
	l.startHelper(t, 1, a, reports, envForeign+"=1")
	log2 := l.startHelper(t, 2, b, reports, envUpdate+"=小明")
	nodes := []Info{a, b}
	nodes[1].Name = "小明"

	// The first query round reports the other node (later rounds are
	// quiet: each node's queries list the other's answer as known, RFC
	// 6762 section 7.1), and Update's announcement the new name.
	const rounds = 1
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	seen := map[int]int{}
	renamed := false
	// The foreign answers must reach host 2's querier (in its debug log),
	// so that it is the filter that keeps them out.
	const dropped = `msg="discovery: ignoring answer" name=ffffffffffffffff._other._tcp.local.`
	poll := time.NewTicker(20 * time.Millisecond) // polling host 2's log
	defer poll.Stop()
	for seen[2] < rounds || !renamed || !strings.Contains(log2.String(), dropped) {
		select {
		case <-poll.C:
		case <-ctx.Done():
			t.Fatalf("after %v reports per host: %v, want %d each, renamed %v, foreign answer in host 2's log %v", time.Since(begin), seen, rounds, renamed, strings.Contains(log2.String(), dropped))
		case r := <-reports:
			if r.Found.ID == foreignInfo.ID || r.Found.Name == foreignInfo.Name {
				t.Fatalf("host %d reports the foreign service: %+v", r.Host, r.Found)
			}
			if r.Found.ID == b.ID && r.Found.Name == b.Name {
				seen[r.Host]++ // a query that came between Start and Update
				continue
			}
			if checkReport(t, l, nodes, r) == 2 {
				renamed = true
			}
			seen[r.Host]++
		}
	}
	if !renamed {
		t.Errorf("host 1 never saw host 2's new name %q", nodes[1].Name)
	}
	t.Logf("%d query rounds each without foreign answers in %v", rounds, time.Since(begin))
}

// TestDiscoveryNetnsNoRoute: a host with no route covering 224.0.0.251 (no
// default route) browses and is found all the same: queries go out on the
// interface named, not on the routed one (the hashicorp/mdns querier, used
// before, joined the group on the routed interface and failed there).
func TestDiscoveryNetnsNoRoute(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the helpers
	l := newLAN(t, 2)
	run(t, "ip", "-n", l.hosts[1], "route", "del", "default")
	nodes := []Info{node(1, "alice"), node(2, "小明")}
	reports := make(chan report, 1024)
	l.startHelper(t, 1, nodes[0], reports)
	l.startHelper(t, 2, nodes[1], reports)
	waitAll(t, l, nodes, reports, map[int][]int{1: {2}, 2: {1}}, 10*time.Second)
}

// waitAll waits until every host h in want has found every node in
// want[h] (numbers from 1), checking every report.
func waitAll(t *testing.T, l *lan, nodes []Info, reports <-chan report, want map[int][]int, timeout time.Duration) {
	t.Helper()
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	found := map[[2]int]bool{}
	missing := func() [][2]int {
		var out [][2]int
		for h, js := range want {
			for _, j := range js {
				if !found[[2]int{h, j}] {
					out = append(out, [2]int{h, j})
				}
			}
		}
		return out
	}
	for len(missing()) > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("after %v still missing (finder, found): %v", time.Since(begin), missing())
		case r := <-reports:
			if j := checkReport(t, l, nodes, r); j > 0 {
				found[[2]int{r.Host, j}] = true
			}
		}
	}
	t.Logf("all found in %v", time.Since(begin))
}

// TestDiscoveryNetnsTwoNetworks: the laptop of issue 13: eth0 (created
// first, so first in interface order) on another network with a node of
// its own, wlan0 on the LAN where the others are. It finds everyone on both
// networks and everyone finds it, each through the interface they share.
func TestDiscoveryNetnsTwoNetworks(t *testing.T) {
	t.Parallel()      // its own namespaces; mostly waiting on the helpers
	l := newLAN(t, 2) // hosts 1, 2 on br0
	l.addBridge(t, "br1")
	laptop := l.addHost(t) // 3
	other := l.addHost(t)  // 4: alone on the other network
	otherNet := netip.AddrFrom4([4]byte{10, 78, l.subnet, 0})
	l.plug(t, laptop, "eth0", "br1", netip.PrefixFrom(otherNet.Next(), 24))
	l.plug(t, other, "eth0", "br1", netip.PrefixFrom(otherNet.Next().Next(), 24))
	l.plug(t, laptop, "wlan0", "br0", netip.PrefixFrom(l.addr(laptop), 24))
	// The default route goes to the wired network, as it would.
	run(t, "ip", "-n", l.hosts[laptop-1], "route", "add", "default", "dev", "eth0")

	nodes := []Info{node(1, "alice"), node(2, "bob"), node(3, "laptop"), node(4, "wired")}
	reports := make(chan report, 1024)
	for i, n := range nodes {
		l.startHelper(t, i+1, n, reports)
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := map[[2]int]string{ // {finder, found} -> the interface the finder saw it on
		{1, 2}: "eth0", {1, 3}: "eth0", {2, 1}: "eth0", {2, 3}: "eth0",
		{3, 1}: "wlan0", {3, 2}: "wlan0", {3, 4}: "eth0", {4, 3}: "eth0",
	}
	addrOf := map[int]netip.Addr{1: l.addr(1), 2: l.addr(2), 3: l.addr(3), 4: otherNet.Next().Next()}
	found := map[[2]int]bool{}
	for len(found) < len(want) {
		select {
		case <-ctx.Done():
			var missing [][2]int
			for k := range want {
				if !found[k] {
					missing = append(missing, k)
				}
			}
			t.Fatalf("after %v still missing (finder, found): %v", time.Since(begin), missing)
		case r := <-reports:
			j := 0
			for k, n := range nodes {
				if n.ID == r.Found.ID {
					j = k + 1
				}
			}
			iface, ok := want[[2]int{r.Host, j}]
			if !ok {
				t.Errorf("host %d found node %d (%+v): they share no network", r.Host, j, r.Found)
				continue
			}
			wantAddr := addrOf[j]
			if r.Host == 4 && j == 3 {
				wantAddr = otherNet.Next() // the laptop as seen on the wired network
			}
			if r.Found.Iface != iface || r.Found.Addr.Addr() != wantAddr || r.Found.Name != nodes[j-1].Name {
				t.Errorf("host %d found node %d as %+v; want it on %s at %v", r.Host, j, r.Found, iface, wantAddr)
			}
			found[[2]int{r.Host, j}] = true
		}
	}
	t.Logf("every pair that shares a network found each other in %v", time.Since(begin))
}

// TestDiscoveryNetnsIfaceAdded: a node started with no usable interface at
// all joins one plugged in while it runs, finds the node there and is
// found, without a restart.
func TestDiscoveryNetnsIfaceAdded(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the helpers
	l := newLAN(t, 1)
	late := l.addHost(t) // only lo so far
	nodes := []Info{node(1, "alice"), node(2, "late")}
	reports := make(chan report, 1024)
	l.startHelper(t, 1, nodes[0], reports)
	log2 := l.startHelper(t, late, nodes[1], reports, envRescan+"=300ms")
	// Nothing can be found yet; wait until the helper is up before plugging.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log2.String(), "discovery: started") {
		if time.Now().After(deadline) {
			t.Fatalf("helper on host %d did not start:\n%s", late, log2)
		}
		time.Sleep(20 * time.Millisecond) // polling the helper's log
	}
	plugged := time.Now()
	l.plug(t, late, "wlan0", "br0", netip.PrefixFrom(l.addr(late), 24))
	waitAll(t, l, nodes, reports, map[int][]int{1: {2}, 2: {1}}, 10*time.Second)
	t.Logf("found each other %v after wlan0 was plugged in", time.Since(plugged))
	if !strings.Contains(log2.String(), "now=[wlan0]") {
		t.Errorf("host %d never reported the interface change:\n%s", late, log2)
	}
}

// TestDiscoveryNetnsIPv6Only: three hosts whose interface has only its
// IPv6 link-local address find each other on ff02::fb, each reported at a
// link-local address with the interface as zone, and at the advertised
// port (with IPv4 sockets alone they found nothing).
func TestDiscoveryNetnsIPv6Only(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the helpers
	l := newLAN(t, 0)
	nodes := []Info{node(1, "alice"), node(2, "小明"), node(3, "carol")}
	reports := make(chan report, 1024)
	for range nodes {
		h := l.addHost(t)
		l.plug(t, h, "eth0", "br0", netip.Prefix{})
	}
	for i, n := range nodes {
		l.startHelper(t, i+1, n, reports)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	found := map[[2]int]netip.AddrPort{}
	for len(found) < 6 {
		select {
		case <-ctx.Done():
			t.Fatalf("found (finder, found): %v; want every pair", found)
		case r := <-reports:
			f := r.Found
			j := slices.IndexFunc(nodes, func(n Info) bool { return n.ID == f.ID })
			if j < 0 || j == r.Host-1 {
				t.Fatalf("host %d reports %+v", r.Host, f)
			}
			a := f.Addr.Addr()
			if !a.Is6() || !a.IsLinkLocalUnicast() || a.Zone() != "eth0" || int(f.Addr.Port()) != nodes[j].Port || f.Iface != "eth0" || f.Name != nodes[j].Name {
				t.Errorf("host %d found %s at %v on %s, want a link-local address with zone eth0 and port %d", r.Host, f.Name, f.Addr, f.Iface, nodes[j].Port)
			}
			if prev, ok := found[[2]int{r.Host, j + 1}]; ok && prev != f.Addr {
				t.Errorf("host %d found %s at %v, then at %v", r.Host, f.Name, prev, f.Addr)
			}
			found[[2]int{r.Host, j + 1}] = f.Addr
		}
	}
	// Each node is reported at one address, the same to everyone.
	for j := 1; j <= 3; j++ {
		var addrs []netip.AddrPort
		for k, a := range found {
			if k[1] == j {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) != 2 || addrs[0] != addrs[1] {
			t.Errorf("node %d reported at %v", j, addrs)
		}
	}
}
