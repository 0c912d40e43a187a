package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Reliability tests: real p2pchat processes in a testnet lab under loss,
// blocked UDP, vanishing and restarting peers, junk floods, many peers and
// signals. Each checks what a user (or a script reading -json) sees.
//
// Figures (durations, latencies, memory) are logged with t.Logf; run with -v
// to see them.

// relStartHome starts a node like StartNode, but with the identity, pins and
// history in home, so that a restarted node is the same peer as before.
func relStartHome(t testing.TB, h *testnet.Host, name, home string, extraArgs ...string) *Proc {
	t.Helper()
	// -home given twice: the flag package keeps the last value, this one.
	p := StartNode(t, h, name, append([]string{"-home", home}, extraArgs...)...)
	p.Home = home
	return p
}

// relPid is the process id of the p2pchat process itself (Host.Command execs
// every step, so cmd.Process is p2pchat).
func relPid(p *Proc) int { return p.cmd.Process.Pid }

// relRSS returns the resident set size of pid in KiB, from /proc.
func relRSS(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// relMessages returns the texts of the "message" events from from to to in
// evs, in order.
func relMessages(evs []Event, from, to string) []string {
	var got []string
	for _, e := range evs {
		if e.Event == "message" && e.From == from && e.To == to {
			got = append(got, e.Text)
		}
	}
	return got
}

// relSentIDs collects the ids of the "sent" events to to in evs.
func relSentIDs(evs []Event, to string) []Flex {
	var ids []Flex
	for _, e := range evs {
		if e.Event == "sent" && e.To == to {
			ids = append(ids, e.IDs...)
		}
	}
	return ids
}

// relCountIDs matches once "sent" events to to have given n ids in all
// (it counts the events it is shown, so use it with one WaitFrom only).
func relCountIDs(to string, n int) func(Event) bool {
	got := 0
	return func(e Event) bool {
		if e.Event == "sent" && e.To == to {
			got += len(e.IDs)
		}
		return got >= n
	}
}

// relWaitDelivered waits until every id has a "delivered" event (to anyone)
// at or after from; it fails the test at the deadline naming what is missing.
func relWaitDelivered(t testing.TB, p *Proc, from int, deadline time.Time, ids []Flex) {
	t.Helper()
	want := map[Flex]bool{}
	for _, id := range ids {
		want[id] = true
	}
	_, ok, why := p.waitFrom(from, time.Until(deadline), func(e Event) bool {
		if e.Event == "delivered" {
			delete(want, e.ID)
		}
		return len(want) == 0
	})
	if !ok {
		missing := slices.Sorted(func(yield func(Flex) bool) {
			for id := range want {
				if !yield(id) {
					return
				}
			}
		})
		t.Fatalf("%s: %d of %d messages never reported delivered (%s), e.g. ids %v\n%s",
			p, len(missing), len(ids), why, head(flexStrings(missing)), p.Report())
	}
}

func flexStrings(f []Flex) []string {
	s := make([]string, len(f))
	for i, x := range f {
		s[i] = string(x)
	}
	return s
}

// relNumbered returns prefix0001, prefix0002, ... prefixN.
func relNumbered(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return s
}

// relNoJunk fails if any stdout line of p was not a JSON object.
func relNoJunk(t testing.TB, p *Proc) {
	t.Helper()
	for _, e := range p.Events() {
		if e.Err != nil || e.Event == "" {
			t.Errorf("%s printed a line that is not a JSON event: %s", p, e)
		}
	}
}

// relLogDrops logs the nft counters (datagrams dropped) of hosts.
func relLogDrops(t testing.TB, hosts ...*testnet.Host) {
	t.Helper()
	for _, h := range hosts {
		for _, l := range strings.Split(h.NFTRules(t), "\n") {
			if strings.Contains(l, "counter") {
				t.Logf("%s: %s", h.Hostname, strings.TrimSpace(l))
			}
		}
	}
}

// relCountInfo counts info events containing sub.
func relCountInfo(evs []Event, sub string) int {
	n := 0
	for _, e := range evs {
		if e.Event == "info" && strings.Contains(e.Text, sub) {
			n++
		}
	}
	return n
}

// relRetransmitsExposed reports whether any event or /peers field would
// show a retransmission count (so that the test can log it if it ever does).
func relRetransmitsExposed(evs []Event) bool {
	for _, e := range evs {
		if strings.Contains(strings.ToLower(e.Raw), "retrans") {
			return true
		}
	}
	return false
}

// relCountTraffic (re)installs, in a table of its own on h, rules that count
// (without dropping) the UDP datagrams and TCP segments arriving at the chat
// port, ahead of DropUDP's rules; relTraffic reads them.
func relCountTraffic(t testing.TB, h *testnet.Host) {
	t.Helper()
	script := fmt.Sprintf("table inet p2prelcount\ndelete table inet p2prelcount\n"+
		"table inet p2prelcount {\n chain input {\n  type filter hook input priority -10; policy accept;\n"+
		"  udp dport %d counter\n  tcp dport %d counter\n }\n}\n", port, port)
	cmd := exec.Command("ip", "netns", "exec", h.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft on %s: %v: %s", h.Name, err, out)
	}
}

func relTraffic(t testing.TB, h *testnet.Host) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.Name, "nft", "list", "table", "inet", "p2prelcount").CombinedOutput()
	if err != nil {
		return "no counters: " + strings.TrimSpace(string(out))
	}
	var parts []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[len(f)-4] == "packets" {
			parts = append(parts, f[0]+" "+f[len(f)-3]+" packets")
		}
	}
	return strings.Join(parts, ", ")
}

// relTransports returns how p's /peers shows each of names: "udp", "tcp"
// or "" when it does not list it.
func relTransports(t testing.TB, p *Proc, names ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range names {
		m[n] = ""
	}
	for _, pe := range p.Peers(t) {
		if _, ok := m[pe.Name]; ok {
			m[pe.Name] = pe.Transport
		}
	}
	return m
}

// relWaitTransport polls p's /peers (bounded: up to timeout, waking on
// each new event or every half second) until every one of names is shown
// with transport tr; it reports how long that took and whether it happened.
func relWaitTransport(t testing.TB, p *Proc, tr string, timeout time.Duration, names ...string) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		all := true
		for _, got := range relTransports(t, p, names...) {
			all = all && got == tr
		}
		if all {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		p.waitFrom(p.Mark(), 500*time.Millisecond, func(Event) bool { return true })
	}
}

// relQuitStats ends p with /quit and logs the final "stats" event (counters
// such as retransmissions and drops) if p2pchat prints one.
func relQuitStats(t testing.TB, p *Proc) {
	t.Helper()
	m := p.Mark()
	p.Send("/quit")
	if e, ok, _ := p.waitFrom(m, exitTimeout, IsKind("stats")); ok {
		t.Logf("%s: final %s", p.Name, e.Raw)
	} else {
		t.Logf("%s: no \"stats\" event at exit: retransmissions are not reported", p.Name)
	}
	if code := p.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("%s exited with %d after /quit", p, code)
	}
}

func TestLoss1000(t *testing.T) {
	lab := testnet.New(t, 5)
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	procs := make([]*Proc, len(names))
	for i, n := range names {
		procs[i] = StartNode(t, lab.Hosts[i], n)
	}
	alice, bob := procs[0], procs[1]
	for i, p := range procs {
		p.WaitJoined(t, slices.Delete(slices.Clone(names), i, i+1)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range lab.Hosts {
				t.Logf("nft on %s:\n%s", h.Name, h.NFTRules(t))
			}
		}
	})

	t.Run("direct-1000", func(t *testing.T) {
		lab.Hosts[0].DropUDP(t, 25, port)
		lab.Hosts[1].DropUDP(t, 25, port)
		relCountTraffic(t, lab.Hosts[1])
		const count = 1000
		want := relNumbered("m", count)
		bm, am := bob.Mark(), alice.Mark()
		start := time.Now()
		for _, w := range want {
			alice.Send("/to bob " + w) // back to back
		}
		deadline := start.Add(90 * time.Second)
		bob.WaitFrom(t, bm, time.Until(deadline), IsMessage("alice", "bob", want[count-1]))
		arrived := time.Since(start)
		// Every id is acknowledged.
		alice.WaitFrom(t, am, time.Until(deadline), relCountIDs("bob", count))
		ids := relSentIDs(alice.Events()[am:], "bob")
		if len(ids) != count {
			t.Fatalf("alice: %d ids in sent events, want %d\n%s", len(ids), count, alice.Report())
		}
		relWaitDelivered(t, alice, am, deadline, ids)
		acked := time.Since(start)
		// A marker after all acknowledgements: a late duplicate would come
		// before it.
		alice.SendTo(t, "bob", "end")
		end := bob.WaitFrom(t, bm, msgTimeout*3, IsMessage("alice", "bob", "end"))
		got := relMessages(bob.Events()[bm:end.Seq], "alice", "bob")
		if !slices.Equal(got, want) {
			t.Fatalf("bob received %d messages, want %d exactly once in order; %s", len(got), count, seqDiff(got, want))
		}
		aev := alice.Events()[am:]
		for _, e := range aev {
			if e.Event == "error" || e.Event == "warning" {
				t.Errorf("alice: %s", e)
			}
		}
		t.Logf("%d messages alice->bob through 25%% loss on both hosts: all shown by bob after %v, all acknowledged after %v",
			count, arrived.Round(time.Millisecond), acked.Round(time.Millisecond))
		t.Logf("alice events meanwhile: %d 'failed' (still trying), %d switches to TCP, %d back to UDP",
			countKind(aev, "failed"), relCountInfo(aev, "using TCP"), relCountInfo(aev, "works again"))
		if relRetransmitsExposed(alice.Events()) {
			t.Logf("a retransmission count appears in alice's events during the run")
		} else {
			t.Logf("retransmission count: not in any event or /peers answer during the run (only in the final stats event, below)")
		}
		relLogDrops(t, lab.Hosts[0], lab.Hosts[1])
		t.Logf("arrived at bob's port %d (before the drop rules): %s; alice's /peers now: %v",
			port, relTraffic(t, lab.Hosts[1]), relTransports(t, alice, "bob"))
	})

	t.Run("all-200-to-4", func(t *testing.T) {
		for _, h := range lab.Hosts {
			h.DropUDP(t, 25, port)
		}
		// Under this loss one message unanswered three times moves a peer
		// to TCP until a heartbeat gets through over UDP: start with every
		// peer on UDP if that happens in reasonable time, so that the loss
		// is really exercised (the program's choice is not a failure).
		if d, ok := relWaitTransport(t, alice, "udp", 20*time.Second, names[1:]...); ok {
			t.Logf("alice: every peer on udp again %v after the first phase", d.Round(time.Millisecond))
		} else {
			t.Logf("alice: not every peer on udp after %v: %v", d.Round(time.Millisecond), relTransports(t, alice, names[1:]...))
		}
		for _, h := range lab.Hosts[1:] {
			relCountTraffic(t, h)
		}
		const count = 200
		want := relNumbered("a", count)
		marks := make([]int, len(procs))
		for i, p := range procs {
			marks[i] = p.Mark()
		}
		am := marks[0]
		start := time.Now()
		for _, w := range want {
			alice.Send("/all " + w)
		}
		deadline := start.Add(90 * time.Second)
		for i, p := range procs[1:] {
			p.WaitFrom(t, marks[i+1], time.Until(deadline), IsMessage("alice", "all", want[count-1]))
		}
		arrived := time.Since(start)
		alice.WaitFrom(t, am, time.Until(deadline), relCountIDs("all", count*4))
		ids := relSentIDs(alice.Events()[am:], "all")
		if len(ids) != count*4 {
			t.Fatalf("alice: %d ids in sent events for %d /all to 4 peers, want %d", len(ids), count, count*4)
		}
		relWaitDelivered(t, alice, am, deadline, ids)
		acked := time.Since(start)
		alice.Send("/all end")
		for i, p := range procs[1:] {
			end := p.WaitFrom(t, marks[i+1], msgTimeout*3, IsMessage("alice", "all", "end"))
			got := relMessages(p.Events()[marks[i+1]:end.Seq], "alice", "all")
			if !slices.Equal(got, want) {
				t.Errorf("%s received %d /all messages, want %d exactly once in order; %s", p, len(got), count, seqDiff(got, want))
			}
		}
		t.Logf("%d /all messages alice->4 peers through 25%% loss on every host: all shown after %v, all %d copies acknowledged after %v",
			count, arrived.Round(time.Millisecond), count*4, acked.Round(time.Millisecond))
		relLogDrops(t, lab.Hosts...)
		aev := alice.Events()[am:]
		t.Logf("alice events meanwhile: %d 'failed' (still trying), %d switches to TCP, %d back to UDP; /peers now %v",
			countKind(aev, "failed"), relCountInfo(aev, "using TCP"), relCountInfo(aev, "works again"), relTransports(t, alice, names[1:]...))
		for _, h := range lab.Hosts[1:] {
			t.Logf("arrived at %s's port %d: %s", h.Hostname, port, relTraffic(t, h))
		}
	})
	// The counters of the whole run (both phases), as p2pchat reports them
	// when it ends.
	relQuitStats(t, alice)
}

func countKind(evs []Event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Event == kind {
			n++
		}
	}
	return n
}

func TestUDPBlockedSwitchesAndReturns(t *testing.T) {
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	lab.Hosts[1].DropUDP(t, 100, port)
	const perMessage = 2 * time.Second
	var lat []string
	var worst time.Duration
	for i := 1; i <= 20; i++ {
		text := fmt.Sprintf("blocked %02d", i)
		m := alice.Mark()
		start := time.Now()
		alice.Send("/to bob " + text)
		sent := alice.WaitFrom(t, m, msgTimeout, IsSent("bob"))
		d := alice.WaitFrom(t, m, perMessage, IsDelivered("bob", sent.IDs[0]))
		l := d.At.Sub(start)
		worst = max(worst, l)
		lat = append(lat, l.Round(100*time.Microsecond).String())
		if l > perMessage {
			t.Errorf("message %d delivered after %v, want within %v", i, l, perMessage)
		}
	}
	t.Logf("UDP to bob blocked: send->delivered per message: %s (worst %v)", strings.Join(lat, " "), worst.Round(time.Millisecond))
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprintf("blocked %02d", i+1)
	}
	// bob acknowledges as his node takes a message and prints it a moment
	// later: wait for the last line before looking at them all.
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", want[len(want)-1]))
	if got := relMessages(bob.Events(), "alice", "bob"); !slices.Equal(got, want) {
		t.Errorf("bob: %s", seqDiff(got, want))
	}
	if pe := findPeer(t, alice, "bob"); pe.Transport != "tcp" {
		t.Errorf("alice: /peers shows bob's transport %q with UDP to bob blocked, want tcp\n%s", pe.Transport, lab.Hosts[1].NFTRules(t))
	}

	// UDP works again: within about three heartbeats /peers says udp.
	lab.Hosts[1].DropUDP(t, 0, port)
	unblocked := time.Now()
	if _, ok := relWaitTransport(t, alice, "udp", 16*time.Second, "bob"); !ok {
		t.Fatalf("alice: /peers still does not show bob on udp %v after UDP was unblocked\n%s", time.Since(unblocked).Round(time.Millisecond), alice.Report())
	}
	back := time.Since(unblocked)
	t.Logf("UDP unblocked: /peers shows bob on udp again after %v", back.Round(time.Millisecond))
	for i := 1; i <= 3; i++ {
		text := fmt.Sprintf("udp again %d", i)
		start := time.Now()
		ids := alice.SendTo(t, "bob", text)
		d := alice.Wait(t, perMessage, IsDelivered("bob", ids[0]))
		bob.Wait(t, msgTimeout, IsMessage("alice", "bob", text))
		t.Logf("after UDP returned: message %d delivered in %v", i, d.At.Sub(start).Round(100*time.Microsecond))
	}
	if pe := findPeer(t, alice, "bob"); pe.Transport != "udp" {
		t.Errorf("alice: bob's transport is %q after messages over working UDP, want udp", pe.Transport)
	}
}

// relBackBound is how soon after a vanished peer is known again the
// messages queued for it must reach it.
const relBackBound = 3 * time.Second

func TestVanishAndReturn(t *testing.T) {
	lab := testnet.New(t, 2)
	hb := lab.Hosts[1]
	bobHome := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := relStartHome(t, hb, "bob", bobHome)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	// They chat.
	ids := alice.SendTo(t, "bob", "hello bob")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "hello bob"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	ids = bob.SendTo(t, "alice", "hello alice")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "hello alice"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))

	// vanish cuts bob's link, has alice send queued to him, and checks that
	// alice is told each was not delivered and that bob left.
	vanish := func(t *testing.T, queued []string) []Flex {
		t.Helper()
		hb.SetLink(t, false)
		cut := time.Now()
		am := alice.Mark()
		var qids []Flex
		for _, q := range queued {
			qids = append(qids, alice.SendTo(t, "bob", q)...)
		}
		// alice is told each was not delivered, and that bob left.
		for _, id := range qids {
			e := alice.WaitFrom(t, am, 30*time.Second, func(e Event) bool { return e.Event == "failed" && e.ID == id })
			r := strings.ToLower(e.Reason)
			if !strings.Contains(r, "no answer") && !strings.Contains(r, "not delivered") && !strings.Contains(r, "left") {
				t.Errorf("alice: failed event for %s has reason %q, want it to say there was no answer", id, e.Reason)
			}
			t.Logf("alice: message %s reported failed after %v: %q", id, e.At.Sub(cut).Round(100*time.Millisecond), e.Reason)
		}
		left := alice.WaitFrom(t, am, 30*time.Second, func(e Event) bool { return e.Event == "left" && e.Name == "bob" })
		if left.Reason != "no answer" {
			t.Errorf("alice: bob left with reason %q, want \"no answer\"", left.Reason)
		}
		t.Logf("alice: bob reported gone %v after his link was cut", left.At.Sub(cut).Round(100*time.Millisecond))
		if pe := findPeer(t, alice, "bob"); pe.Online || pe.Pending != len(queued) {
			t.Errorf("alice: /peers shows bob online=%v pending=%d while gone, want offline with %d pending", pe.Online, pe.Pending, len(queued))
		}
		return qids
	}

	t.Run("link-cut-and-back-same-process", func(t *testing.T) {
		// bob's laptop loses the Wi-Fi for a while; p2pchat keeps running.
		queued := []string{"while offline 1", "while offline 2", "while offline 3"}
		bm := bob.Mark()
		qids := vanish(t, queued)
		am := alice.Mark()
		hb.SetLink(t, true)
		back := time.Now()
		// alice knocks (hello) on a peer she owes messages every few
		// seconds, so bob is found again without waiting for mDNS.
		j := alice.WaitFrom(t, am, 70*time.Second, IsJoined("bob"))
		last := bob.WaitFrom(t, bm, 70*time.Second, IsMessage("alice", "bob", queued[2]))
		relWaitDelivered(t, alice, am, time.Now().Add(msgTimeout), qids)
		t.Logf("link back: alice saw bob rejoin %v later; bob showed the queued messages %v later",
			j.At.Sub(back).Round(100*time.Millisecond), last.At.Sub(back).Round(100*time.Millisecond))
		alice.SendTo(t, "bob", "marker 0")
		end := bob.WaitFrom(t, bm, msgTimeout, IsMessage("alice", "bob", "marker 0"))
		if got := relMessages(bob.Events()[bm:end.Seq], "alice", "bob"); !slices.Equal(got, queued) {
			t.Errorf("bob: %s", seqDiff(got, queued))
		}
		am2 := alice.Mark()
		ids := bob.SendTo(t, "alice", "my wifi is back")
		alice.WaitFrom(t, am2, msgTimeout, IsMessage("bob", "alice", "my wifi is back"))
		bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	})

	t.Run("link-cut-then-new-process", func(t *testing.T) {
		queued := []string{"while away 1", "while away 2", "while away 3"}
		qids := vanish(t, queued)

		// bob's laptop reboots: old process gone, network back, p2pchat
		// started again with the same home (same identity).
		bob.Kill()
		hb.SetLink(t, true)
		am2 := alice.Mark()
		restart := time.Now()
		bob2 := relStartHome(t, hb, "bob", bobHome)
		if bob2.Ready().ID != bob.Ready().ID {
			t.Fatalf("restarted bob has id %s, want the same identity %s", bob2.Ready().ID, bob.Ready().ID)
		}
		j := alice.WaitFrom(t, am2, joinTimeout, IsJoined("bob"))
		last := bob2.Wait(t, joinTimeout, IsMessage("alice", "bob", queued[2]))
		relWaitDelivered(t, alice, am2, time.Now().Add(msgTimeout), qids)
		t.Logf("restarted bob: alice saw him rejoin %v after his start; he showed the 3 queued messages %v after his start (%v after alice saw him rejoin)",
			j.At.Sub(restart).Round(time.Millisecond), last.At.Sub(restart).Round(time.Millisecond), last.At.Sub(j.At).Round(time.Millisecond))
		// Once alice shows bob as back, what waited for him must follow
		// promptly (on a LAN, well within the 2 s a message normally takes
		// at worst), not after further heartbeats and back-off.
		if d := last.At.Sub(j.At); d > relBackBound {
			t.Errorf("queued messages reached the restarted bob %v after alice showed him joined again, want within %v (alice keeps TCP and a connection to bob's dead process, and retransmits at the 4 s ceiling: her RTT estimate took the whole absence as a round trip)", d.Round(time.Millisecond), relBackBound)
		}

		// Exactly once, in order (a marker flushes any late duplicate in).
		alice.SendTo(t, "bob", "marker 1")
		end := bob2.Wait(t, msgTimeout, IsMessage("alice", "bob", "marker 1"))
		if got := relMessages(bob2.Events()[:end.Seq], "alice", "bob"); !slices.Equal(got, queued) {
			t.Errorf("restarted bob: %s", seqDiff(got, queued))
		}

		// The new process talks to alice: not mistaken for replays or
		// duplicates of the old process's messages (its sequence numbers
		// start again at 1).
		am3 := alice.Mark()
		for i := 1; i <= 3; i++ {
			text := fmt.Sprintf("bob is back %d", i)
			ids := bob2.SendTo(t, "alice", text)
			alice.WaitFrom(t, am3, msgTimeout, IsMessage("bob", "alice", text))
			bob2.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
		}
		bob = bob2
	})

	t.Run("killed-and-restarted-before-expiry", func(t *testing.T) {
		// A crash and immediate restart: alice never notices bob leaving;
		// messages sent while he is down arrive once he is back.
		bob.Kill()
		am := alice.Mark()
		queued := []string{"during crash 1", "during crash 2", "during crash 3"}
		var qids []Flex
		for _, q := range queued {
			qids = append(qids, alice.SendTo(t, "bob", q)...)
		}
		restart := time.Now()
		bob3 := relStartHome(t, hb, "bob", bobHome)
		j := bob3.Wait(t, joinTimeout, IsJoined("alice"))
		last := bob3.Wait(t, 20*time.Second, IsMessage("alice", "bob", queued[2]))
		relWaitDelivered(t, alice, am, time.Now().Add(msgTimeout), qids)
		t.Logf("bob restarted at once: he saw alice %v after the restart and showed the queued messages %v after the restart",
			j.At.Sub(restart).Round(time.Millisecond), last.At.Sub(restart).Round(time.Millisecond))
		if d := last.At.Sub(j.At); d > relBackBound {
			t.Errorf("queued messages reached the restarted bob %v after he and alice knew each other again, want within %v (alone this takes ~0.2 s; after the earlier absences alice retransmits at the 4 s ceiling because her RTT estimate counted each absence as a round trip)", d.Round(time.Millisecond), relBackBound)
		}
		alice.SendTo(t, "bob", "marker 2")
		end := bob3.Wait(t, msgTimeout, IsMessage("alice", "bob", "marker 2"))
		if got := relMessages(bob3.Events()[:end.Seq], "alice", "bob"); !slices.Equal(got, queued) {
			t.Errorf("restarted bob: %s", seqDiff(got, queued))
		}
		am2 := alice.Mark()
		ids := bob3.SendTo(t, "alice", "back again")
		alice.WaitFrom(t, am2, msgTimeout, IsMessage("bob", "alice", "back again"))
		bob3.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	})
}

// The junk flooder runs as the test binary itself, re-executed inside the
// stranger's namespace; these variables configure it.
const (
	floodEnvTarget = "P2PCHAT_REL_FLOOD_TARGET"
	floodEnvRate   = "P2PCHAT_REL_FLOOD_RATE"
	floodEnvSecs   = "P2PCHAT_REL_FLOOD_SECONDS"
)

// TestRelFlooderProcess is not a test: it is the flooder's entry point when
// the binary is re-executed with floodEnvTarget set. Otherwise it returns.
func TestRelFlooderProcess(t *testing.T) {
	target := os.Getenv(floodEnvTarget)
	if target == "" {
		return
	}
	n, err := relFlood(target, os.Getenv(floodEnvRate), os.Getenv(floodEnvSecs))
	fmt.Printf("FLOOD sent=%d\n", n)
	if err != nil {
		fmt.Printf("FLOOD error=%v\n", err)
		os.Exit(3)
	}
}

// relFlood sends junk datagrams to target (which must be a lab address,
// 10.77.x.y) at rate per second for secs seconds, at most rate*secs of them.
func relFlood(target, rateS, secsS string) (int, error) {
	to, err := netip.ParseAddrPort(target)
	if err != nil {
		return 0, err
	}
	if !netip.MustParsePrefix("10.77.0.0/16").Contains(to.Addr()) {
		return 0, fmt.Errorf("refusing to flood %s: not a lab address", to)
	}
	rate, err := strconv.Atoi(rateS)
	if err != nil || rate <= 0 || rate > 200000 {
		return 0, fmt.Errorf("bad rate %q", rateS)
	}
	secs, err := strconv.ParseFloat(secsS, 64)
	if err != nil || secs <= 0 || secs > 30 {
		return 0, fmt.Errorf("bad duration %q", secsS)
	}
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetWriteBuffer(4 << 20)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	buf := make([]byte, 8192)
	junk := func(i int) []byte {
		fill := func(b []byte) {
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		}
		switch i % 10 {
		case 0, 1, 2, 3: // random bytes
			b := buf[:1+rng.IntN(1400)]
			fill(b)
			return b
		case 4, 5, 6: // looks like p2pchat v1 sealed, random key, truncated or garbage box
			b := buf[:6+32+rng.IntN(120)]
			copy(b, "p2pc\x01\x02")
			fill(b[6:])
			return b
		case 7, 8: // another protocol version
			b := buf[:6+32+rng.IntN(200)]
			copy(b, "p2pc\x02\x02")
			fill(b[6:])
			return b
		default: // oversized
			b := buf[:8192]
			copy(b, "p2pc\x01\x02")
			fill(b[6:])
			return b
		}
	}
	limit := int(float64(rate) * secs)
	start := time.Now()
	end := start.Add(time.Duration(secs * float64(time.Second)))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sent := 0
	for sent < limit && time.Now().Before(end) {
		due := min(limit, int(time.Since(start).Seconds()*float64(rate)))
		for ; sent < due; sent++ {
			_, _ = conn.Write(junk(sent)) // ECONNREFUSED etc. do not stop a flood
		}
		<-tick.C // rate limiting, not synchronisation
	}
	return sent, nil
}

func TestFloodAndGarbage(t *testing.T) {
	lab := testnet.New(t, 3)
	ha, hb, hs := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	alice := StartNode(t, ha, "alice")
	bob := StartNode(t, hb, "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	ids := bob.SendTo(t, "alice", "before the flood")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "before the flood"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))

	pid := relPid(alice)
	before, err := relRSS(pid)
	if err != nil {
		t.Fatal(err)
	}

	// The stranger floods alice's chat port.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const rate, secs = 50000, 10
	target := netip.AddrPortFrom(ha.IP, port).String()
	fl := exec.Command("ip", "netns", "exec", hs.Name, self, "-test.run=^TestRelFlooderProcess$", "-test.count=1")
	fl.Env = append(os.Environ(),
		floodEnvTarget+"="+target, floodEnvRate+"="+strconv.Itoa(rate), floodEnvSecs+"="+strconv.Itoa(secs),
		"P2PCHAT_BIN="+binPath) // its TestMain must not build p2pchat again
	var flOut strings.Builder
	fl.Stdout, fl.Stderr = &flOut, &flOut
	if err := fl.Start(); err != nil {
		t.Fatal(err)
	}
	floodStart := time.Now()
	flDone := make(chan error, 1)
	go func() { flDone <- fl.Wait() }()
	t.Cleanup(func() {
		select {
		case <-flDone:
		default:
			fl.Process.Kill()
			<-flDone
		}
	})

	// Memory, sampled every 250 ms while the flood lasts.
	type sample struct {
		at  time.Duration
		rss int
	}
	var (
		smu     sync.Mutex
		samples []sample
	)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tk.C:
				if r, err := relRSS(pid); err == nil {
					smu.Lock()
					samples = append(samples, sample{time.Since(floodStart), r})
					smu.Unlock()
				}
			}
		}
	}()

	// bob -> alice, one message every 200 ms, each must be shown within 1 s.
	var lat []time.Duration
	var late []string
	tk := time.NewTicker(200 * time.Millisecond)
	floodErr := error(nil)
	flooding := true
	i := 0
	for flooding {
		select {
		case floodErr = <-flDone:
			flooding = false
			flDone <- floodErr // for the cleanup
			continue
		case <-tk.C:
		}
		i++
		text := fmt.Sprintf("during flood %03d", i)
		start := time.Now()
		bob.Send("/to alice " + text)
		e, ok, why := alice.waitFrom(0, 5*time.Second, IsMessage("bob", "alice", text))
		if !ok {
			t.Fatalf("alice did not show %q: %s\n%s", text, why, alice.Report())
		}
		l := e.At.Sub(start)
		lat = append(lat, l)
		if l > time.Second {
			late = append(late, fmt.Sprintf("%s after %v", text, l.Round(time.Millisecond)))
		}
	}
	tk.Stop()
	floodTime := time.Since(floodStart)
	close(stopSampling)
	<-sampled
	t.Logf("flooder: %v after %v: %s", floodErr, floodTime.Round(time.Millisecond), strings.TrimSpace(flOut.String()))
	if floodErr != nil || !strings.Contains(flOut.String(), "FLOOD sent=") {
		t.Fatalf("flooder failed: %v\n%s", floodErr, flOut.String())
	}

	// alice survived and still works.
	if alice.exited() {
		t.Fatalf("alice died during the flood\n%s", alice.Report())
	}
	ids = bob.SendTo(t, "alice", "after the flood")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "after the flood"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	after, err := relRSS(pid)
	if err != nil {
		t.Fatal(err)
	}

	// Latencies.
	slices.Sort(lat)
	if len(lat) > 0 {
		t.Logf("bob->alice during the flood: %d messages, latency min %v median %v max %v",
			len(lat), lat[0].Round(100*time.Microsecond), lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
	}
	if len(lat) < 20 {
		t.Errorf("only %d messages were sent during the flood", len(lat))
	}
	if len(late) > 0 {
		t.Errorf("%d messages took more than 1 s during the flood: %v", len(late), head(late))
	}

	// Memory: bounded and not growing steadily.
	peak := before
	var during []string
	for _, s := range samples {
		peak = max(peak, s.rss)
		during = append(during, fmt.Sprintf("%.1fs:%dMB", s.at.Seconds(), s.rss/1024))
	}
	t.Logf("alice RSS: before %d KiB, during %s, peak %d KiB, after %d KiB", before, strings.Join(during, " "), peak, after)
	const limitKB = 60 * 1024
	if peak > limitKB || after > limitKB {
		t.Errorf("alice RSS peak %d KiB / after %d KiB, want < %d KiB", peak, after, limitKB)
	}
	if n := len(samples); n >= 8 {
		// Compare the first and last third of the flood: junk must not
		// accumulate.
		maxOf := func(ss []sample) int {
			m := 0
			for _, s := range ss {
				m = max(m, s.rss)
			}
			return m
		}
		first, last := maxOf(samples[:n/3]), maxOf(samples[n-n/3:])
		if last-first > 10*1024 {
			t.Errorf("alice RSS grows during the flood: %d KiB in the first third, %d KiB in the last", first, last)
		}
	} else {
		t.Errorf("only %d RSS samples during the flood", len(samples))
	}

	// Output: only JSON, no junk; one warning per address about the
	// incompatible version.
	relNoJunk(t, alice)
	perAddr := map[string]int{}
	for _, e := range alice.Events() {
		if e.Event == "warning" && strings.Contains(e.Raw, "incompatible") {
			perAddr[relAddrIn(e.Raw, lab)]++
		}
		if e.Event == "message" && e.From != "bob" {
			t.Errorf("alice shows a message not from bob: %s", e)
		}
		if e.Event == "joined" && e.Name != "bob" {
			t.Errorf("alice shows a peer that is not bob: %s", e)
		}
	}
	t.Logf("incompatible-version warnings per source address: %v", perAddr)
	for a, n := range perAddr {
		if n > 1 {
			t.Errorf("alice gave %d incompatible-version warnings for %s, want at most one", n, a)
		}
	}
	if perAddr[hs.IP.String()] != 1 {
		t.Errorf("alice gave %d incompatible-version warnings for the stranger %s, want one", perAddr[hs.IP.String()], hs.IP)
	}
	if n := len(alice.stderr.String()); n > 0 {
		t.Logf("alice's stderr (-v) during the test: %d bytes", n)
	}
	relQuitStats(t, alice)
}

// relAddrIn returns the first lab address mentioned in s, or "?".
func relAddrIn(s string, lab *testnet.Lab) string {
	for _, h := range lab.Hosts {
		if strings.Contains(s, h.IP.String()) {
			return h.IP.String()
		}
	}
	return "?"
}

func TestTwentyPeers(t *testing.T) {
	const n = 20
	lab := testnet.New(t, n)
	names := make([]string, n)
	procs := make([]*Proc, n)
	start := time.Now()
	for i := range procs {
		names[i] = fmt.Sprintf("node%02d", i+1)
		procs[i] = StartNode(t, lab.Hosts[i], names[i])
	}
	allStarted := time.Since(start)
	var lastJoin time.Time
	for i, p := range procs {
		for j, other := range names {
			if i == j {
				continue
			}
			e := p.Wait(t, time.Until(start.Add(60*time.Second)), IsJoined(other))
			if e.At.After(lastJoin) {
				lastJoin = e.At
			}
		}
	}
	t.Logf("%d nodes started (each ready) in %v; every node saw all %d others %v after the first start",
		n, allStarted.Round(time.Millisecond), n-1, lastJoin.Sub(start).Round(time.Millisecond))
	for i, p := range procs {
		if pe := p.Peers(t); len(pe) != n-1 {
			t.Errorf("%s: /peers lists %d peers, want %d", p, len(pe), n-1)
		}
		if j := countKind(p.Events(), "joined"); j != n-1 {
			t.Errorf("%s: %d joined events, want %d (one per peer)", procs[i], j, n-1)
		}
	}

	// /all from one reaches the 19 others once each.
	sender := procs[7]
	marks := make([]int, n)
	for i, p := range procs {
		marks[i] = p.Mark()
	}
	sendAt := time.Now()
	sender.Send("/all hello twenty")
	sent := sender.WaitFrom(t, marks[7], msgTimeout, IsSent("all"))
	if len(sent.IDs) != n-1 {
		t.Errorf("%s: /all gave %d ids, want %d", sender, len(sent.IDs), n-1)
	}
	var lastMsg time.Time
	var per []string
	for i, p := range procs {
		if p == sender {
			continue
		}
		e := p.WaitFrom(t, marks[i], msgTimeout, IsMessage(names[7], "all", "hello twenty"))
		if e.At.After(lastMsg) {
			lastMsg = e.At
		}
		per = append(per, fmt.Sprintf("%s:%v", names[i], e.At.Sub(sendAt).Round(100*time.Microsecond)))
	}
	t.Logf("/all shown by each after: %s", strings.Join(per, " "))
	relWaitDelivered(t, sender, marks[7], time.Now().Add(msgTimeout), sent.IDs)
	t.Logf("/all reached all %d others %v after it was sent; all acknowledged after %v",
		n-1, lastMsg.Sub(sendAt).Round(time.Millisecond), time.Since(sendAt).Round(time.Millisecond))
	sender.Send("/all marker")
	for i, p := range procs {
		if p == sender {
			if c := countEvents(p, func(e Event) bool { return e.Event == "message" }); c != 0 {
				t.Errorf("%s showed %d messages, want none (its own /all is not shown back)", p, c)
			}
			continue
		}
		end := p.WaitFrom(t, marks[i], msgTimeout, IsMessage(names[7], "all", "marker"))
		if got := relMessages(p.Events()[marks[i]:end.Seq], names[7], "all"); !slices.Equal(got, []string{"hello twenty"}) {
			t.Errorf("%s: got %q before the marker, want the message exactly once", p, got)
		}
	}
}

// relBlockTCP drops incoming TCP to port on h, in a table of its own (so
// that DropUDP, which rewrites its own table, leaves it alone).
func relBlockTCP(t testing.TB, h *testnet.Host, block bool) {
	t.Helper()
	script := "table inet p2prel\ndelete table inet p2prel\n"
	if block {
		script += fmt.Sprintf("table inet p2prel {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport %d counter drop\n }\n}\n", port)
	}
	cmd := exec.Command("ip", "netns", "exec", h.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft on %s: %v: %s", h.Name, err, out)
	}
}

func TestSIGTERMInFlight(t *testing.T) {
	t.Run("pending-messages-fail", func(t *testing.T) {
		lab := testnet.New(t, 2)
		alice := StartNode(t, lab.Hosts[0], "alice")
		bob := StartNode(t, lab.Hosts[1], "bob")
		alice.WaitJoined(t, "bob")
		bob.WaitJoined(t, "alice")
		// bob's laptop stops answering: UDP and TCP to it are dropped.
		lab.Hosts[1].DropUDP(t, 100, port)
		relBlockTCP(t, lab.Hosts[1], true)
		var ids []Flex
		for i := 1; i <= 3; i++ {
			ids = append(ids, alice.SendTo(t, "bob", fmt.Sprintf("in flight %d", i))...)
		}
		// Wait until alice gives up on UDP: a TCP connection attempt to the
		// unreachable bob is then under way when the signal comes.
		alice.Wait(t, 5*time.Second, func(e Event) bool { return e.Event == "info" && strings.Contains(e.Text, "TCP") })
		m := alice.Mark()
		start := time.Now()
		alice.cmd.Process.Signal(syscall.SIGTERM)
		code := alice.ExitCode(t, 10*time.Second)
		took := time.Since(start)
		t.Logf("alice exited with %d %v after SIGTERM", code, took.Round(time.Millisecond))
		if code != 0 {
			t.Errorf("alice exited with %d after SIGTERM, want 0", code)
		}
		if took > 3*time.Second {
			t.Errorf("alice took %v to exit after SIGTERM, want < 3 s", took)
		}
		after := alice.Events()[m:]
		for _, id := range ids {
			i := slices.IndexFunc(after, func(e Event) bool { return e.Event == "failed" && e.To == "bob" && e.ID == id })
			if i < 0 {
				t.Errorf("alice: no \"failed\" event for pending message %s after SIGTERM\n%s", id, alice.Report())
			} else {
				t.Logf("alice: %s", after[i].Raw)
			}
		}
		for _, e := range alice.Events() {
			if e.Event == "delivered" && slices.Contains(ids, e.ID) {
				t.Errorf("alice: message to an unreachable bob reported delivered: %s", e)
			}
		}
		relNoJunk(t, alice)
		if got := relMessages(bob.Events(), "alice", "bob"); len(got) != 0 {
			t.Errorf("bob, unreachable, shows messages %q", got)
		}
	})

	t.Run("healthy-peer-sees-quit", func(t *testing.T) {
		lab := testnet.New(t, 2)
		alice := StartNode(t, lab.Hosts[0], "alice")
		bob := StartNode(t, lab.Hosts[1], "bob")
		alice.WaitJoined(t, "bob")
		bob.WaitJoined(t, "alice")
		ids := alice.SendTo(t, "bob", "bye soon")
		bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "bye soon"))
		alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
		start := time.Now()
		alice.cmd.Process.Signal(syscall.SIGTERM)
		left := bob.Wait(t, 5*time.Second, func(e Event) bool { return e.Event == "left" && e.Name == "alice" })
		if left.Reason != "quit" {
			t.Errorf("bob: alice left with reason %q after her SIGTERM, want \"quit\"", left.Reason)
		}
		code := alice.ExitCode(t, 10*time.Second)
		t.Logf("bob saw alice leave (%s) %v after SIGTERM; alice exited with %d after %v",
			left.Reason, left.At.Sub(start).Round(time.Millisecond), code, time.Since(start).Round(time.Millisecond))
		if code != 0 {
			t.Errorf("alice exited with %d after SIGTERM, want 0", code)
		}
		for _, e := range alice.Events() {
			if e.Event == "failed" {
				t.Errorf("alice: %s (everything was delivered)", e)
			}
		}
	})
}
