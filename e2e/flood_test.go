package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestFloodAndGarbage: a stranger floods alice's chat port with 50,000 junk
// datagrams a second for 10 s while bob sends her a message every 200 ms:
// each is shown within 1 s, alice's memory stays bounded and does not grow,
// her output is only JSON, with one incompatible-version warning per
// source address.
func TestFloodAndGarbage(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	lab := testnet.New(t, 3)
	ha, hb, hs := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	alice := StartNode(t, ha, "alice")
	bob := StartNode(t, hb, "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	ids := bob.SendTo(t, "alice", "before the flood")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "before the flood"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	aloneNow() // the set-up above next to the shared tests; the flood alone

	pid := alice.Pid()
	before, err := proctest.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}

	// The stranger floods alice's chat port.
	const rate, secs = 50000, 10
	fl := startFlooder(t, hs, netip.AddrPortFrom(ha.IP, port), rate, secs)
	floodStart := time.Now()

	// Memory, sampled every 250 ms while the flood lasts.
	sampler := proctest.SampleRSS(pid, 250*time.Millisecond)

	// bob -> alice, one message every 200 ms, each must be shown within 1 s.
	lat, late := relChatUntil(t, bob, alice, "during flood", 5*time.Second, fl.Done())
	floodTime := time.Since(floodStart)
	samples := sampler.Stop()
	floodErr, flOut := fl.ExitErr(), fl.Stdout().String()
	t.Logf("flooder: %v after %v: %s", floodErr, floodTime.Round(time.Millisecond), strings.TrimSpace(flOut))
	if floodErr != nil || !strings.Contains(flOut, "FLOOD sent=") {
		t.Fatalf("flooder failed: %v\n%s", floodErr, fl.Report())
	}

	// alice survived and still works.
	if alice.Exited() {
		t.Fatalf("alice died during the flood\n%s", alice.Report())
	}
	ids = bob.SendTo(t, "alice", "after the flood")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "after the flood"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
	after, err := proctest.RSS(pid)
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
	peak := proctest.PeakKB(before, samples)
	var during []string
	for _, s := range samples {
		during = append(during, fmt.Sprintf("%.1fs:%dMB", s.At.Seconds(), s.KB/1024))
	}
	t.Logf("alice RSS: before %d KiB, during %s, peak %d KiB, after %d KiB", before, strings.Join(during, " "), peak, after)
	const limitKB = 60 * 1024
	if peak > limitKB || after > limitKB {
		t.Errorf("alice RSS peak %d KiB / after %d KiB, want < %d KiB", peak, after, limitKB)
	}
	if n := len(samples); n >= 8 {
		// Compare the first and last third of the flood: junk must not
		// accumulate.
		first, last := proctest.PeakKB(0, samples[:n/3]), proctest.PeakKB(0, samples[n-n/3:])
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
		if e.Event == "version" || e.Event == "warning" && strings.Contains(e.Raw, "incompatible") {
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
	if n := len(alice.Stderr().String()); n > 0 {
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
