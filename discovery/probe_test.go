package discovery

// A probe: a re-executed test binary that, inside a lab host, sends one
// crafted mDNS query (or only listens) and prints what comes back, for the
// tests of the responder's RFC 6762 behaviour on the wire.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

const envProbe = "P2PCHAT_DISCOVERY_PROBE" // JSON probeSpec: be the probe

// probeSpec says what the probe does.
type probeSpec struct {
	// Mode: "unicast" sends a legacy query to To:5353; "multicast" sends one
	// to the group from a random port, listing Known as known answers;
	// "listen" only listens on port 5353 (joined to the group).
	Mode  string
	To    netip.Addr
	Known []string // node ids whose PTR the query lists as known
	Wait  time.Duration
	// UntilEOF: the probe also stops when its stdin ends (runProbeUntil),
	// after reading for probeGrace more (datagrams already on their way).
	UntilEOF bool
}

// probeGrace is how long a probe told to stop (UntilEOF) goes on reading.
// It is told once the node it listens to has exited, so whatever that
// node sent is already in the probe's socket, or a few hops from it.
const probeGrace = 500 * time.Millisecond

// probeSeen is one instance in one response the probe received.
type probeSeen struct {
	From    netip.Addr
	ID      string
	Goodbye bool
	AtMs    int64 // since the probe started listening
}

// runProbe runs the probe in host i (from 1) and returns what it saw.
func (l *lan) runProbe(t *testing.T, i int, spec probeSpec) []probeSeen {
	t.Helper()
	return l.runProbeUntil(t, i, spec, nil)
}

// runProbeUntil is runProbe whose probe, if spec.UntilEOF, also stops
// (after probeGrace) once stop is closed.
func (l *lan) runProbeUntil(t *testing.T, i int, spec probeSpec, stop <-chan struct{}) []probeSeen {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	ctx, cancel := context.WithTimeout(context.Background(), spec.Wait+20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.hosts[i-1], exe, "-test.run=^TestProbeProcess$")
	cmd.Env = append(os.Environ(), envProbe+"="+string(b), "GORACE=atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if spec.UntilEOF {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		cmd.Stdin = pr
		go func() {
			select {
			case <-stop:
			case <-ctx.Done(): // runProbeUntil returned
			}
			pw.Close()
		}()
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe on host %d: %v\n%s\n%s", i, err, out, stderr.String())
	}
	var seen []probeSeen
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var s probeSeen
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("probe line %q: %v", line, err)
		}
		seen = append(seen, s)
	}
	return seen
}

// TestProbeProcess is the probe. Run directly, it does nothing.
func TestProbeProcess(t *testing.T) {
	raw := os.Getenv(envProbe)
	if raw == "" {
		return
	}
	var spec probeSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	cands, err := interfaces()
	if err != nil {
		t.Fatal(err)
	}
	used, _ := choose(cands, nil, netip.Addr{}, false)
	if len(used) == 0 {
		t.Fatal("probe: no interface")
	}
	ifi, err := net.InterfaceByIndex(used[0].Index)
	if err != nil {
		t.Fatal(err)
	}
	var c net.PacketConn
	if spec.Mode == "listen" {
		lc := net.ListenConfig{Control: reuse}
		c, err = lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:5353")
	} else {
		c, err = net.ListenPacket("udp4", "0.0.0.0:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	if err := pc.SetMulticastInterface(ifi); err != nil {
		t.Fatal(err)
	}
	switch spec.Mode {
	case "listen":
		if err := pc.JoinGroup(ifi, &net.UDPAddr{IP: mdnsGroup4.IP}); err != nil {
			t.Fatal(err)
		}
	case "unicast", "multicast":
		q := queryMsg(nil)
		for _, id := range spec.Known {
			q.Answer = append(q.Answer, &dns.PTR{
				Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120},
				Ptr: id + serviceSuffix,
			})
		}
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		to := mdnsGroup4
		if spec.Mode == "unicast" {
			to = &net.UDPAddr{IP: spec.To.AsSlice(), Port: mdnsPort}
		}
		if _, err := c.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("probe: mode %q", spec.Mode)
	}
	start := time.Now()
	c.SetReadDeadline(start.Add(spec.Wait))
	if spec.UntilEOF {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			if end := time.Now().Add(probeGrace); end.Before(start.Add(spec.Wait)) {
				c.SetReadDeadline(end)
			}
		}()
	}
	buf := make([]byte, 9000)
	enc := json.NewEncoder(os.Stdout)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return // the deadline
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) != nil {
			continue
		}
		src, _ := netip.AddrFromSlice(from.(*net.UDPAddr).IP)
		for _, e := range entries(&m) {
			id, _ := strings.CutSuffix(e.Name, serviceSuffix)
			enc.Encode(probeSeen{From: src.Unmap(), ID: id, Goodbye: e.Goodbye, AtMs: time.Since(start).Milliseconds()})
		}
	}
}

// idsFrom lists the ids seen from addr.
func idsFrom(seen []probeSeen, addr netip.Addr) []string {
	var out []string
	for _, s := range seen {
		if s.From == addr {
			out = append(out, s.ID)
		}
	}
	return out
}

// TestResponderOnLinkOnly: RFC 6762 section 11 on the wire. A unicast
// query to port 5353 from a host on the link is answered; the same query
// from a host plugged into the same bridge but on another subnet (off the
// link as IP sees it, and routed to) gets no answer.
func TestResponderOnLinkOnly(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the probe
	l := newLAN(t, 2)
	nodes := []Info{node(1, "alice")}
	reports := make(chan report, 16)
	l.startHelper(t, 1, nodes[0], reports)
	off := l.addHost(t)
	offAddr := netip.AddrFrom4([4]byte{10, 77, l.subnet ^ 0x40, 50})
	l.plug(t, off, "eth0", "br0", netip.PrefixFrom(offAddr, 24))
	run(t, "ip", "-n", l.hosts[off-1], "route", "add", fmt.Sprintf("10.77.%d.0/24", l.subnet), "dev", "eth0")
	// The node can route its answer back: its default route is the link.
	waitListening(t, l, 2, nodes[0].ID)

	on := l.runProbe(t, 2, probeSpec{Mode: "unicast", To: l.addr(1), Wait: time.Second})
	if ids := idsFrom(on, l.addr(1)); len(ids) != 1 || ids[0] != nodes[0].ID {
		t.Fatalf("on-link unicast query: answers %+v, want one for %s", on, nodes[0].ID)
	}
	offSeen := l.runProbe(t, off, probeSpec{Mode: "unicast", To: l.addr(1), Wait: time.Second})
	if len(offSeen) != 0 {
		t.Errorf("off-link unicast query from %v answered: %+v", offAddr, offSeen)
	}
}

// TestResponderKnownAnswer: RFC 6762 section 7.1 on the wire. A query that
// lists a node's PTR as a known answer gets nothing from that node, while
// another node, not listed, answers it.
func TestResponderKnownAnswer(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the probe
	l := newLAN(t, 3)
	nodes := []Info{node(1, "alice"), node(2, "bob")}
	reports := make(chan report, 64)
	l.startHelper(t, 1, nodes[0], reports)
	l.startHelper(t, 2, nodes[1], reports)
	waitListening(t, l, 3, nodes[0].ID, nodes[1].ID)

	seen := l.runProbe(t, 3, probeSpec{Mode: "multicast", Known: []string{nodes[0].ID}, Wait: time.Second})
	if ids := idsFrom(seen, l.addr(1)); len(ids) != 0 {
		t.Errorf("alice answered a query that knew her: %+v", seen)
	}
	if ids := idsFrom(seen, l.addr(2)); len(ids) != 1 || ids[0] != nodes[1].ID {
		t.Errorf("bob, not known, answers %+v; want one answer", seen)
	}
}

// TestAnnounceAndGoodbye: a passive listener (it never queries) hears a
// node announce itself at start twice, about a second apart, and say
// goodbye (TTL 0) when it closes.
func TestAnnounceAndGoodbye(t *testing.T) {
	t.Parallel() // its own namespaces; mostly waiting on the probe
	l := newLAN(t, 2)
	self := node(1, "alice")
	done := make(chan []probeSeen, 1)
	// The probe listens until the node has exited (and probeGrace more):
	// all it will ever send, from its start to its goodbye.
	exited := make(chan struct{})
	go func() {
		done <- l.runProbeUntil(t, 2, probeSpec{Mode: "listen", Wait: 30 * time.Second, UntilEOF: true}, exited)
	}()
	// The probe must be listening before the node starts: wait until its
	// socket is bound in host 2.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", l.hosts[1], "ss", "-lunH", "sport", "= :5353").Output()
		if len(bytes.TrimSpace(out)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("probe did not bind port 5353")
		}
		time.Sleep(20 * time.Millisecond) // polling for the socket
	}
	reports := make(chan report, 16)
	stderr, stop := l.start(t, 1, self, reports)
	// Close the node after its two announcements (at its start and a
	// second later): timed from when it says it started, since a
	// race-built process in a namespace may take seconds to get there on
	// a loaded machine (a fixed 2.5 s from the exec once stopped it
	// before its second announcement).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "discovery: started"); {
		if time.Now().After(deadline) {
			t.Fatalf("the node did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the helper's log
	}
	time.AfterFunc(1600*time.Millisecond, stop)
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(stderr.String(), "helper: done"); {
		if time.Now().After(deadline) {
			t.Errorf("the node did not finish within 15 s of its start: %s", stderr.String())
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the helper's log
	}
	close(exited)
	seen := <-done
	var hellos, goodbyes []int64
	for _, s := range seen {
		if s.From != l.addr(1) || s.ID != self.ID {
			continue
		}
		if s.Goodbye {
			goodbyes = append(goodbyes, s.AtMs)
		} else {
			hellos = append(hellos, s.AtMs)
		}
	}
	if len(hellos) != 2 || hellos[1]-hellos[0] < 900 || hellos[1]-hellos[0] > 1500 {
		t.Errorf("announcements at %v ms, want two about 1000 ms apart (all: %+v)", hellos, seen)
	}
	if len(goodbyes) != 1 || len(hellos) > 0 && goodbyes[0] < hellos[len(hellos)-1] {
		t.Errorf("goodbyes at %v ms, want one after the announcements (all: %+v)", goodbyes, seen)
	}
}

// waitListening waits until a unicast query from host from finds every id
// (the nodes' responders are up).
func waitListening(t *testing.T, l *lan, from int, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := l.runProbe(t, from, probeSpec{Mode: "multicast", Wait: 300 * time.Millisecond})
		got := map[string]bool{}
		for _, s := range seen {
			got[s.ID] = true
		}
		all := true
		for _, id := range ids {
			all = all && got[id]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes %q not answering; last %+v", ids, seen)
		}
	}
}
