package e2e

import (
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// TestFiftyLaptops: fifty laptops on one LAN, started together, all list
// each other and an /all reaches all of them (issue 13: "50 and 100
// laptops started together all list each other"), on an IPv4 LAN and on an
// IPv6-only one. The lab raises the kernel's neighbour tables past 24
// hosts (they are shared by every namespace, and an overflow silently
// stops multicast). On the 2-core test machine each takes 5-7 s (2.6-4.7 s
// to start the 50 processes, all listing all 2.8-4.8 s after the first
// start, the machine shared with other tests);
// the limit bounds a failure, it does not pace anything.
func TestFiftyLaptops(t *testing.T) {
	sharedFirst(t)
	if testing.Short() {
		t.Skip("50 processes: not in -short")
	}
	for _, tt := range []struct {
		name  string
		stack testnet.Stack
	}{{"IPv4", testnet.IPv4}, {"IPv6 only", testnet.IPv6Only}} {
		t.Run(tt.name, func(t *testing.T) {
			allListAll(t, testnet.NewStack(t, 50, tt.stack), 90*time.Second)
		})
	}
}
