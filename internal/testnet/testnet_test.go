package testnet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary re-executes itself inside a host namespace as a small
// network tool when this variable names a mode (see TestHelperProcess).
const helperEnv = "P2P_TESTNET_HELPER"

// helperEnviron is the environment of a helper process: ours, without
// the second a race-built process otherwise sleeps at exit.
func helperEnviron() []string {
	return append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// TestHelperProcess is not a test: it is the tool mode of the test binary.
//
//	mcast-recv GROUP:PORT            join the group on eth0, print "ready", then each datagram as "got <payload>"
//	mcast-send GROUP:PORT PAYLOAD    send PAYLOAD to the group out of eth0 every 50 ms until killed
//	udp-recv PORT                    print "ready", then each datagram as "got <payload>"
//	udp-send ADDR PAYLOAD...         send each payload once, in order, print "sent"
//	udp-echo PORT                    print "ready", echo every datagram back
//	icmp-ping IP                     one ICMP echo request; exit 0 when the reply comes (5 s at most)
//	udp-probe ADDR TIMEOUT           send a probe every 50 ms; exit 0 on the first echo, 1 at timeout
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper mode of the test binary; not a test")
	}
	args := flagArgs()
	if err := helper(mode, args); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// flagArgs returns the arguments after "--".
func flagArgs() []string {
	for i, a := range os.Args {
		if a == "--" {
			return os.Args[i+1:]
		}
	}
	return nil
}

func helper(mode string, args []string) error {
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, a ...any) {
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
	}
	switch mode {
	case "mcast-recv":
		ifi, err := net.InterfaceByName(Iface)
		if err != nil {
			return err
		}
		group, err := net.ResolveUDPAddr("udp4", args[0])
		if err != nil {
			return err
		}
		c, err := net.ListenMulticastUDP("udp4", ifi, group)
		if err != nil {
			return err
		}
		say("ready")
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return err
			}
			say("got %s", buf[:n])
		}
	case "mcast-send":
		group, err := net.ResolveUDPAddr("udp4", args[0])
		if err != nil {
			return err
		}
		c, err := net.DialUDP("udp4", nil, group)
		if err != nil {
			return err
		}
		for {
			if _, err := c.Write([]byte(args[1])); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond) // send rate, not synchronisation
		}
	case "udp-recv":
		port, _ := strconv.Atoi(args[0])
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			return err
		}
		say("ready")
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return err
			}
			say("got %s", buf[:n])
		}
	case "udp-send":
		c, err := net.Dial("udp4", args[0])
		if err != nil {
			return err
		}
		for _, p := range args[1:] {
			if _, err := c.Write([]byte(p)); err != nil {
				return err
			}
		}
		say("sent")
		return nil
	case "udp-echo":
		port, _ := strconv.Atoi(args[0])
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			return err
		}
		say("ready")
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return err
			}
			c.WriteToUDP(buf[:n], from)
		}
	case "tcp-sink":
		ln, err := net.Listen("tcp4", ":"+args[0])
		if err != nil {
			return err
		}
		say("ready")
		for {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			n, err := io.Copy(io.Discard, c)
			c.Close()
			say("got %d %v", n, err)
		}
	case "tcp-blast":
		n, _ := strconv.ParseInt(args[1], 10, 64)
		t0 := time.Now()
		c, err := net.Dial("tcp4", args[0])
		if err != nil {
			return err
		}
		if _, err := io.CopyN(c, zeros{}, n); err != nil {
			return err
		}
		// Done when the receiver has it all: it closes after EOF.
		c.(*net.TCPConn).CloseWrite()
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			return fmt.Errorf("after the data: %v", err)
		}
		say("took %d", time.Since(t0).Microseconds())
		return nil
	case "icmp-ping":
		return icmpPing(args[0], 5*time.Second)
	case "udp-probe":
		timeout, err := time.ParseDuration(args[1])
		if err != nil {
			return err
		}
		c, err := net.Dial("udp4", args[0])
		if err != nil {
			return fmt.Errorf("no echo: %v", err) // e.g. no route while the link is down
		}
		deadline := time.Now().Add(timeout)
		buf := make([]byte, 64)
		for time.Now().Before(deadline) {
			c.Write([]byte("probe")) // errors (network down) just mean no answer
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, err := c.Read(buf); err == nil && string(buf[:n]) == "probe" {
				say("echo")
				return nil
			}
		}
		return fmt.Errorf("no echo from %s within %v", args[0], timeout)
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// icmpPing sends ICMP echo requests to ip (a raw socket: needs root) until
// a matching reply arrives or timeout passes.
func icmpPing(ip string, timeout time.Duration) error {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return err
	}
	defer c.Close()
	dst, err := net.ResolveIPAddr("ip4", ip)
	if err != nil {
		return err
	}
	id := os.Getpid() & 0xffff
	req := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), 0, 1, 'p', '2', 'p'}
	sum := 0
	for i := 0; i < len(req); i += 2 {
		sum += int(req[i]) << 8
		if i+1 < len(req) {
			sum += int(req[i+1])
		}
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	req[2], req[3] = byte(^sum>>8), byte(^sum)
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		if _, err := c.WriteTo(req, dst); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			// Echo reply (type 0) from dst with our identifier.
			if n >= 8 && buf[0] == 0 && from.String() == dst.String() && int(buf[4])<<8|int(buf[5]) == id {
				fmt.Printf("reply from %s\n", from)
				return nil
			}
		}
	}
	return fmt.Errorf("no ICMP echo reply from %s within %v", ip, timeout)
}

// helperProc is a running helper on a host, its stdout lines in a channel.
type helperProc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *strings.Builder
}

func startHelper(t *testing.T, h *Host, mode string, args ...string) *helperProc {
	t.Helper()
	exe, err := os.Executable() // not /proc/self/exe: `ip` would resolve that to itself
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := h.Command(ctx, exe, append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(helperEnviron(), helperEnv+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &helperProc{cmd: cmd, lines: make(chan string, 1000), stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return p
}

// expect waits for a stdout line satisfying ok; it fails the test if the
// helper ends or the timeout passes first.
func (p *helperProc) expect(t *testing.T, timeout time.Duration, what string, ok func(string) bool) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, open := <-p.lines:
			if !open {
				t.Fatalf("helper %v ended before %s; stderr: %s", p.cmd.Args, what, p.stderr)
			}
			if ok(l) {
				return l
			}
		case <-timer.C:
			t.Fatalf("no %s within %v", what, timeout)
		}
	}
}

// reachable reports whether a UDP echo server on to answers a probe from
// from within timeout.
func reachable(t *testing.T, from, to *Host, port int, timeout time.Duration) bool {
	t.Helper()
	exe, _ := os.Executable()
	cmd := from.Command(context.Background(), exe, "-test.run=^TestHelperProcess$", "--",
		netip.AddrPortFrom(to.IP, uint16(port)).String(), timeout.String())
	cmd.Env = append(helperEnviron(), helperEnv+"=udp-probe")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "no echo") {
		t.Fatalf("probe %s -> %s: %v: %s", from.Name, to.Name, err, out)
	}
	return err == nil
}

func TestLabLayout(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	l := New(t, 2)
	if len(l.Hosts) != 2 {
		t.Fatalf("got %d hosts", len(l.Hosts))
	}
	a, b := l.Hosts[0], l.Hosts[1]
	if a.IP == b.IP || !a.IP.Is4() {
		t.Fatalf("bad addresses %v %v", a.IP, b.IP)
	}
	out := a.Run(t, "ip", "-4", "addr", "show", "dev", Iface)
	if !strings.Contains(out, a.IP.String()+"/24") || !strings.Contains(out, "MULTICAST") {
		t.Fatalf("eth0 on %s: %s", a.Name, out)
	}
	if routes := a.Run(t, "ip", "route"); !strings.Contains(routes, "224.0.0.0/4 dev eth0") || !strings.Contains(routes, "default dev eth0") {
		t.Fatalf("routes on %s: %s", a.Name, routes)
	}
	// Nothing of the lab in our own namespace.
	if out, _ := exec.Command("ip", "link").CombinedOutput(); strings.Contains(string(out), "br0") {
		t.Fatalf("bridge visible in the default namespace:\n%s", out)
	}
	// Host name as seen by programs.
	cmd := a.Command(context.Background(), "cat", "/proc/sys/kernel/hostname")
	hn, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(hn)) != a.Hostname {
		t.Fatalf("hostname in %s: %q, %v; want %q", a.Name, hn, err, a.Hostname)
	}
	mine, _ := os.Hostname()
	if mine == a.Hostname {
		t.Fatalf("our own host name was changed to %q", mine)
	}
	// Cleanup removes the namespaces.
	names := []string{l.Switch, a.Name, b.Name}
	l.Close()
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("namespace %s still exists after Close", n)
		}
	}
}

func TestPing(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	l := New(t, 2)
	a, b := l.Hosts[0], l.Hosts[1]
	for _, pair := range [][2]*Host{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		echo := startHelper(t, to, "udp-echo", "9000")
		echo.expect(t, 10*time.Second, "echo server ready", func(s string) bool { return s == "ready" })
		if !reachable(t, from, to, 9000, 10*time.Second) {
			t.Fatalf("%s cannot reach %s", from.Name, to.Name)
		}
	}
	// And a real ICMP ping, both ways.
	exe, _ := os.Executable()
	for _, pair := range [][2]*Host{{a, b}, {b, a}} {
		cmd := pair[0].Command(context.Background(), exe, "-test.run=^TestHelperProcess$", "--", pair[1].IP.String())
		cmd.Env = append(helperEnviron(), helperEnv+"=icmp-ping")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ping %s -> %s: %v: %s", pair[0].Name, pair[1].Name, err, out)
		}
	}
}

func TestMulticastAcrossHosts(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	l := New(t, 3)
	const group = "224.0.0.251:5353"
	r1 := startHelper(t, l.Hosts[1], "mcast-recv", group)
	r2 := startHelper(t, l.Hosts[2], "mcast-recv", group)
	r1.expect(t, 10*time.Second, "receiver ready", func(s string) bool { return s == "ready" })
	r2.expect(t, 10*time.Second, "receiver ready", func(s string) bool { return s == "ready" })
	payload := fmt.Sprintf("hello-from-%s", l.Hosts[0].Hostname)
	startHelper(t, l.Hosts[0], "mcast-send", group, payload)
	r1.expect(t, 10*time.Second, "multicast datagram", func(s string) bool { return s == "got "+payload })
	r2.expect(t, 10*time.Second, "multicast datagram", func(s string) bool { return s == "got "+payload })
}

func TestLateHost(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	l := New(t, 1)
	c := l.AddHost(t)
	if c.Index != 2 || len(l.Hosts) != 2 {
		t.Fatalf("AddHost: index %d, %d hosts", c.Index, len(l.Hosts))
	}
	echo := startHelper(t, l.Hosts[0], "udp-echo", "9000")
	echo.expect(t, 10*time.Second, "echo server ready", func(s string) bool { return s == "ready" })
	if !reachable(t, c, l.Hosts[0], 9000, 10*time.Second) {
		t.Fatal("late host cannot reach the first")
	}
}

func TestDropUDP(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	l := New(t, 2)
	a, b := l.Hosts[0], l.Hosts[1]
	dst := netip.AddrPortFrom(b.IP, 7117).String()
	send := func(payloads ...string) {
		t.Helper()
		exe, _ := os.Executable()
		cmd := a.Command(context.Background(), exe, append([]string{"-test.run=^TestHelperProcess$", "--", dst}, payloads...)...)
		cmd.Env = append(helperEnviron(), helperEnv+"=udp-send")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("udp-send: %v: %s", err, out)
		}
	}
	// Collects everything the receiver gets, in order.
	recv := startHelper(t, b, "udp-recv", "7117")
	recv.expect(t, 10*time.Second, "receiver ready", func(s string) bool { return s == "ready" })
	got := func(until string) []string {
		t.Helper()
		var seen []string
		recv.expect(t, 10*time.Second, "datagram "+until, func(s string) bool {
			seen = append(seen, strings.TrimPrefix(s, "got "))
			return s == "got "+until
		})
		return seen
	}

	send("before")
	if seen := got("before"); len(seen) != 1 {
		t.Fatalf("before any rule: %q", seen)
	}

	// Another port's rule must not affect 7117.
	b.DropUDP(t, 100, 9999)
	b.DropUDP(t, 100, 7117)
	send("blocked-1", "blocked-2")
	rules := b.NFTRules(t)
	if !strings.Contains(rules, "udp dport 7117 counter packets 2 ") {
		t.Fatalf("drop rule did not count 2 packets:\n%s", rules)
	}
	b.DropUDP(t, 0, 7117)
	if rules := b.NFTRules(t); strings.Contains(rules, "7117") || !strings.Contains(rules, "9999") {
		t.Fatalf("after DropUDP(0, 7117):\n%s", rules)
	}
	b.DropUDP(t, 0, 9999)
	if rules := b.NFTRules(t); rules != "" {
		t.Fatalf("rules left after removing all:\n%s", rules)
	}
	// Datagrams on one path arrive in order: had the blocked ones got
	// through, they would show up before this one.
	send("after")
	if seen := got("after"); len(seen) != 1 {
		t.Fatalf("blocked datagrams got through: %q", seen)
	}

	// Partial loss: roughly half of 200 datagrams get through.
	b.DropUDP(t, 50, 7117)
	var batch []string
	for i := 0; i < 200; i++ {
		batch = append(batch, fmt.Sprintf("lossy-%03d", i))
	}
	send(batch...)
	b.DropUDP(t, 0, 7117)
	send("end")
	seen := got("end")
	n := len(seen) - 1
	t.Logf("DropUDP(50): %d of 200 datagrams arrived", n)
	if n < 50 || n > 150 {
		t.Fatalf("DropUDP(50) let %d of 200 through", n)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLimitRate: a TCP copy from a host limited to 80 Mbit/s takes at
// least the time the rate allows (10 MB: 1 s, less one bucket), and runs
// far faster once the limit is removed.
func TestLimitRate(t *testing.T) {
	// Not parallel: it compares two throughputs, which other tests' CPU
	// use would skew.
	l := New(t, 2)
	a, b := l.Hosts[0], l.Hosts[1]
	sink := startHelper(t, b, "tcp-sink", "7200")
	sink.expect(t, 10*time.Second, "sink ready", func(s string) bool { return s == "ready" })
	const size = 10_000_000
	blast := func() time.Duration {
		t.Helper()
		exe, _ := os.Executable()
		cmd := a.Command(context.Background(), exe, "-test.run=^TestHelperProcess$", "--", netip.AddrPortFrom(b.IP, 7200).String(), strconv.Itoa(size))
		cmd.Env = append(helperEnviron(), helperEnv+"=tcp-blast")
		out, err := cmd.CombinedOutput()
		var us int64
		if _, serr := fmt.Sscanf(string(out), "took %d", &us); err != nil || serr != nil {
			t.Fatalf("tcp-blast: %v: %s", err, out)
		}
		sink.expect(t, 10*time.Second, "the sink's count", func(s string) bool { return s == fmt.Sprintf("got %d <nil>", size) })
		return time.Duration(us) * time.Microsecond
	}
	probe := a.Command(context.Background(), "tc", "qdisc", "replace", "dev", Iface, "root", "tbf", "rate", "1gbit", "burst", "65536", "latency", "20ms")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("tc tbf is not available here (tc from iproute2, the kernel's sch_tbf): %v: %s", err, strings.TrimSpace(string(out)))
	}
	a.LimitRate(t, 80_000_000)
	limited := blast()
	a.LimitRate(t, 0)
	free := blast()
	t.Logf("10 MB: %v at 80 Mbit/s, %v without the limit", limited, free)
	if want := time.Duration(float64(size-64<<10) * 8 / 80e6 * float64(time.Second)); limited < want {
		t.Errorf("at 80 Mbit/s 10 MB took %v, less than the %v the rate allows", limited, want)
	}
	if free > limited/2 {
		t.Errorf("without the limit 10 MB took %v, against %v with it", free, limited)
	}
}

func TestSetLink(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	l := New(t, 2)
	a, b := l.Hosts[0], l.Hosts[1]
	echo := startHelper(t, b, "udp-echo", "9000")
	echo.expect(t, 10*time.Second, "echo server ready", func(s string) bool { return s == "ready" })
	if !reachable(t, a, b, 9000, 10*time.Second) {
		t.Fatal("not reachable before the cut")
	}
	a.SetLink(t, false)
	if reachable(t, a, b, 9000, 2*time.Second) {
		t.Fatal("still reachable with the link down")
	}
	a.SetLink(t, true)
	if !reachable(t, a, b, 9000, 10*time.Second) {
		t.Fatal("not reachable after restoring the link")
	}
	// Multicast works again after the restore (the route is back).
	r := startHelper(t, b, "mcast-recv", "224.0.0.251:5353")
	r.expect(t, 10*time.Second, "receiver ready", func(s string) bool { return s == "ready" })
	startHelper(t, a, "mcast-send", "224.0.0.251:5353", "after-restore")
	r.expect(t, 10*time.Second, "multicast after restore", func(s string) bool { return s == "got after-restore" })
}

// TestStacks: an IPv6-only lab's hosts have a link-local address and no
// IPv4 address or route; a dual-stack lab's have IPv4, fd77:k::i/64 and
// link-local; hosts reach each other over IPv6.
func TestStacks(t *testing.T) {
	t.Parallel() // its own lab (namespaces named by a counter); mostly waiting on them
	for _, tt := range []struct {
		name  string
		stack Stack
	}{{"IPv6 only", IPv6Only}, {"dual stack", DualStack}} {
		t.Run(tt.name, func(t *testing.T) {
			l := NewStack(t, 2, tt.stack)
			a, b := l.Hosts[0], l.Hosts[1]
			llA, llB := a.LinkLocal(t, Iface), b.LinkLocal(t, Iface)
			if !llA.IsLinkLocalUnicast() || llA.Zone() != Iface || llA == llB {
				t.Fatalf("link-local addresses %v, %v", llA, llB)
			}
			v4 := a.Run(t, "ip", "-4", "addr", "show", "dev", Iface)
			v6 := a.Run(t, "ip", "-6", "addr", "show", "dev", Iface)
			switch tt.stack {
			case IPv6Only:
				if a.IP.IsValid() || strings.Contains(v4, "inet ") {
					t.Errorf("IPv6-only host has IPv4: IP %v, %s", a.IP, v4)
				}
				if routes := a.Run(t, "ip", "-4", "route"); strings.TrimSpace(routes) != "" {
					t.Errorf("IPv6-only host has IPv4 routes: %s", routes)
				}
			case DualStack:
				if !strings.Contains(v4, a.IP.String()+"/24") || !Net6.Contains(a.IP6) || !strings.Contains(v6, a.IP6.String()+"/64") || a.IP6 == b.IP6 {
					t.Errorf("dual-stack host: IP %v IP6 %v\n%s\n%s", a.IP, a.IP6, v4, v6)
				}
			}
			if strings.Contains(v6, "tentative") {
				t.Errorf("tentative address after LinkLocal: %s", v6)
			}
			if _, err := exec.LookPath("ping"); err == nil {
				targets := []string{llB.String()}
				if b.IP6.IsValid() {
					targets = append(targets, b.IP6.String())
				}
				for _, to := range targets {
					a.Run(t, "ping", "-6", "-c", "1", "-W", "5", to)
				}
			}
		})
	}
}

func TestParseLinkLocal(t *testing.T) {
	for _, tt := range []struct {
		out  string
		want string
	}{
		{"2: eth0    inet6 fe80::1c2b:3cff:fe4d:5e6f/64 scope link \\       valid_lft forever preferred_lft forever", "fe80::1c2b:3cff:fe4d:5e6f"},
		{"2: eth0    inet6 fe80::1/64 scope link tentative \\       valid_lft forever", ""},
		{"2: eth0    inet6 fe80::1/64 scope link dadfailed tentative", ""},
		{"2: eth0    inet6 fd77::1/64 scope global \\ valid_lft forever\n2: eth0    inet6 fe80::2/64 scope link", "fe80::2"},
		{"", ""},
	} {
		a, ok := parseLinkLocal(tt.out)
		if (tt.want == "" && ok) || (tt.want != "" && a != netip.MustParseAddr(tt.want)) {
			t.Errorf("parseLinkLocal(%q) = %v, %v; want %q", tt.out, a, ok, tt.want)
		}
	}
}
