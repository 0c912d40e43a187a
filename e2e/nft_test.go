package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// nftables rules on lab hosts beyond testnet's DropUDP: counting what
// arrives, blocking TCP, showing the drop counters. Each uses a table of
// its own, so that DropUDP, which rewrites its table, leaves them alone.

// relCountTraffic (re)installs, in a table of its own on h, rules that count
// (without dropping) the UDP datagrams and TCP segments arriving at the chat
// port, ahead of DropUDP's rules; relTraffic reads them.
func relCountTraffic(t testing.TB, h *testnet.Host) {
	t.Helper()
	script := fmt.Sprintf("table inet p2prelcount\ndelete table inet p2prelcount\n"+
		"table inet p2prelcount {\n chain input {\n  type filter hook input priority -10; policy accept;\n"+
		"  udp dport %d counter\n  tcp dport %d counter\n }\n}\n", port, port)
	h.NFT(t, script)
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

// relBlockTCP drops incoming TCP to port on h, in a table of its own (so
// that DropUDP, which rewrites its own table, leaves it alone).
func relBlockTCP(t testing.TB, h *testnet.Host, block bool) {
	t.Helper()
	script := "table inet p2prel\ndelete table inet p2prel\n"
	if block {
		script += fmt.Sprintf("table inet p2prel {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport %d counter drop\n }\n}\n", port)
	}
	h.NFT(t, script)
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
