package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The junk flooder: this test binary, re-executed inside a stranger's lab
// namespace, sends random and malformed datagrams to a lab address at a
// bounded rate for a bounded time.

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
	if !testnet.Net.Contains(to.Addr()) {
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
	// The random bytes come from a pool made once, copied from a random
	// place in it: drawing each byte (in this -race test binary) cost
	// about 0.2 ms a datagram, so that the flooder sent at a fraction of
	// rate and its 10 s lasted 25 to 35.
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	pool := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8(seed).Read(pool)
	buf := make([]byte, 8192)
	junk := func(i int) []byte {
		fill := func(b []byte) {
			copy(b, pool[rng.IntN(len(pool)-len(b)+1):])
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

// startFlooder starts the flooder in h, sending to target (a lab address)
// at rate datagrams a second for secs seconds; it prints "FLOOD sent=N" as
// it ends (Proc.Stdout).
func startFlooder(t *testing.T, h *testnet.Host, target netip.AddrPort, rate, secs int) *Proc {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return proctest.Start(t, proctest.Spec{
		Label: "flooder on " + h.Name, Host: h, Path: self, Text: true,
		Args: []string{"-test.run=^TestRelFlooderProcess$", "-test.count=1"},
		Env: []string{
			floodEnvTarget + "=" + target.String(), floodEnvRate + "=" + strconv.Itoa(rate), floodEnvSecs + "=" + strconv.Itoa(secs),
			"P2PCHAT_BIN=" + binPath, // its TestMain must not build p2pchat again
		},
	})
}
