package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestTransferRestart: a 128 MiB transfer, alice to bob, at 800 Mbit/s (a
// token bucket on alice's link, so that the kill lands mid-transfer
// whatever the machine's speed). Once bob has a third of it, one side is
// killed with SIGKILL and started again with the same -home (and bob with
// the same -downloads): the transfer resumes from what bob has on disk,
// and the bytes that cross the link after the restart are the rest of the
// file, not the whole of it (counted on the interface); the file arrives
// verified.
func TestTransferRestart(t *testing.T) {
	shared(t)
	for _, who := range []string{"receiver", "sender"} {
		t.Run(who, func(t *testing.T) { testTransferRestart(t, who) })
	}
}

func testTransferRestart(t *testing.T, who string) {
	lab := testnet.New(t, 2)
	ha, hb := lab.Hosts[0], lab.Hosts[1]
	ha.Run(t, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "800mbit", "burst", "256kb", "latency", "50ms")
	homeA, homeB, dl := t.TempDir(), t.TempDir(), t.TempDir()
	bobArgs := []string{"-downloads", dl, "-accept-from", "alice"}
	alice := startWithHome(t, ha, "alice", homeA)
	bob := startWithHome(t, hb, "bob", homeB, bobArgs...)
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "restart.bin")
	const size = 128 << 20
	sum := randomFile(t, src, size)
	am, bm := alice.Mark(), bob.Mark()
	exchangeMessage(t, alice, "bob")
	alice.Send("/send bob " + src)
	at := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("progress", func(e tfEvent) bool { return e.Bytes >= size/3 })))

	// Kill one side; the other says the transfer paused.
	var other *Proc
	if who == "receiver" {
		bob.Kill()
		other = alice
	} else {
		alice.Kill()
		other = bob
	}
	if _, err := bob.Await(bm, 0, isTF("transfer-done", nil)); err == nil {
		t.Fatalf("the transfer was complete before the kill: the test proves nothing")
	}
	var om int
	if who == "receiver" {
		om = am
	} else {
		om = bm
	}
	p := decodeTF(t, other.WaitFrom(t, om, transferTimeout, isTF("transfer-failed", nil)))
	if !p.Resumable || p.Code != "link-lost" {
		t.Fatalf("%s after the kill: %+v, want a resumable link-lost", other, p)
	}

	// Start it again, counting what crosses the link from now on.
	counter, dev := "rx_bytes", hb
	if who == "sender" {
		counter, dev = "tx_bytes", ha
	}
	before := ifCounter(t, dev, counter)
	if who == "receiver" {
		bob = startWithHome(t, hb, "bob", homeB, bobArgs...)
		bm = 0
		st := decodeTF(t, bob.WaitFrom(t, bm, readyTimeout, isTF("transfer-failed", nil)))
		if st.Code != "stopped" || !st.Resumable {
			t.Errorf("restarted bob: %+v, want a resumable \"stopped\" transfer taken over from the last run", st)
		}
	} else {
		alice = startWithHome(t, ha, "alice", homeA)
		am = 0
		st := decodeTF(t, alice.WaitFrom(t, am, readyTimeout, isTF("transfer-failed", nil)))
		if st.Code != "stopped" || !st.Resumable {
			t.Errorf("restarted alice: %+v, want a resumable \"stopped\" transfer taken over from the last run", st)
		}
	}
	r := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("transfer-resumed")))
	ar := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, IsKind("transfer-resumed")))
	if r.Bytes < at.Bytes || ar.Bytes != r.Bytes {
		t.Errorf("resumed at %d bytes (bob) / %d (alice), but bob had %d before the kill: what arrived was sent again", r.Bytes, ar.Bytes, at.Bytes)
	}
	done := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
	alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
	wire := ifCounter(t, dev, counter) - before
	rest := int64(size) - r.Bytes
	t.Logf("%s killed at >= %d of %d bytes; resumed at %d; %d bytes crossed %s's link after the restart for the %d that were left (%.3fx)",
		who, at.Bytes, size, r.Bytes, wire, dev.Name, rest, float64(wire)/float64(rest))
	// Frame overhead (headers, GCM tags, acks) is a few percent; chat and
	// discovery a few kB. Sending the file again from 0 would be at least
	// rest + size/3.
	if limit := rest + rest/20 + 1<<20; wire > limit {
		t.Errorf("%d bytes crossed the link after the restart, more than %d: the transfer did not resume from what arrived", wire, limit)
	}
	if got := fileSHA(t, done.Path); got != sum || done.SHA256 != sum {
		t.Fatalf("after the restart the file has SHA-256 %s, want %s", got, sum)
	}
	if done.Path != filepath.Join(dl, "restart.bin") {
		t.Errorf("the file arrived as %s", done.Path)
	}
}

// ifCounter reads a statistics counter (rx_bytes, tx_bytes) of h's eth0.
func ifCounter(t *testing.T, h *testnet.Host, name string) int64 {
	t.Helper()
	out := h.Run(t, "cat", fmt.Sprintf("/sys/class/net/eth0/statistics/%s", name))
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("%s of %s: %q: %v", name, h.Name, out, err)
	}
	return n
}
