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
	"net/netip"
	"os"
	"os/exec"
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
)

// lan is a simulated LAN of network namespaces.
type lan struct {
	prefix string // namespace name prefix, unique per process and lan
	subnet byte   // k in 10.77.k.0/24
	hosts  []string
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
		ns := fmt.Sprintf("%s-h%d", l.prefix, i)
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { l.del(t, ns) })
		ifname := "eth0"
		if i == 3 {
			ifname = "veth0"
		}
		port := fmt.Sprintf("h%d", i)
		run(t, "ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
		run(t, "ip", "-n", sw, "link", "set", port, "master", "br0")
		run(t, "ip", "-n", sw, "link", "set", port, "up")
		run(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("%s/24", l.addr(i)), "dev", ifname)
		run(t, "ip", "-n", ns, "link", "set", ifname, "up")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		// Like a laptop on a LAN with a router. Without any route covering
		// 224.0.0.251 the mdns client cannot join the group (ENODEV), as it
		// joins on the default interface whatever QueryParam.Interface says.
		run(t, "ip", "-n", ns, "route", "add", "default", "dev", ifname)
		l.hosts = append(l.hosts, ns)
	}
	return l
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
	t.Cleanup(func() {
		stdin.Close() // the helper closes its Discovery and exits on EOF
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
	return stderr
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
	d, err := Start(context.Background(), Config{
		Self:   self,
		Logger: logger,
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
	if err := d.Update(self); err != ErrClosed {
		t.Fatalf("Update after Close = %v, want ErrClosed", err)
	}
	logger.Debug("helper: done")
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
	iface, ips, err := ChooseInterface("")
	if err != nil {
		t.Fatal(err)
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
		want := Found{Info: n, Addr: netip.AddrPortFrom(l.addr(j+1), uint16(n.Port))}
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
// every question), and checks over several query rounds that only the
// p2pchat nodes are reported. The second node also renames itself with
// Update, which the first must see.
func TestDiscoveryNetnsForeignService(t *testing.T) {
	l := newLAN(t, 2)
	a, b := node(1, "alice"), node(2, "bob")
	reports := make(chan report, 1024)
	begin := time.Now()
	l.startHelper(t, 1, a, reports, envForeign+"=1")
	log2 := l.startHelper(t, 2, b, reports, envUpdate+"=小明")
	nodes := []Info{a, b}
	nodes[1].Name = "小明"

	// Each query round reports the other node once.
	const rounds = 2
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	seen := map[int]int{}
	renamed := false
	for seen[1] < rounds || seen[2] < rounds {
		select {
		case <-ctx.Done():
			t.Fatalf("after %v reports per host: %v, want %d each", time.Since(begin), seen, rounds)
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
	// The foreign answers did reach host 2's querier (in its debug log), so
	// it was the filter that kept them out.
	const dropped = `msg="discovery: ignoring answer" name=ffffffffffffffff._other._tcp.local.`
	if !strings.Contains(log2.String(), dropped) {
		t.Errorf("host 2 never received a foreign answer; its log does not contain %s", dropped)
	}
	t.Logf("%d query rounds each without foreign answers in %v", rounds, time.Since(begin))
}

// TestDiscoveryNetnsNoRoute documents a limit of the mdns library: on a host
// with no route covering 224.0.0.251 (no default route) browsing fails, as
// the library joins the group on the routed interface whatever
// QueryParam.Interface says. Advertising still works, so a node that can
// browse finds it, and the failing node logs a hint.
func TestDiscoveryNetnsNoRoute(t *testing.T) {
	l := newLAN(t, 2)
	run(t, "ip", "-n", l.hosts[1], "route", "del", "default")
	a, b := node(1, "alice"), node(2, "小明")
	reports := make(chan report, 1024)
	l.startHelper(t, 1, a, reports)
	log2 := l.startHelper(t, 2, b, reports)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for found := false; !found; {
		select {
		case <-ctx.Done():
			t.Fatal("host 1 did not find host 2, which has no default route")
		case r := <-reports:
			if r.Host == 2 {
				t.Fatalf("host 2 browsed without a route for 224.0.0.251: %+v; is the library fixed?", r.Found)
			}
			found = checkReport(t, l, []Info{a, b}, r) == 2
		}
	}
	const want = "no route covers multicast 224.0.0.251"
	if !strings.Contains(log2.String(), want) {
		t.Errorf("host 2's log lacks the hint %q:\n%s", want, log2)
	}
}
