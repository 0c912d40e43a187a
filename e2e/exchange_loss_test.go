package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// TestExchangeSurvivesLoss: with multicast off, dave knows only alice, and
// the first peer-exchange datagram that reaches him (alice's book: bob and
// carol) is dropped by nftables. alice sends her book again, so dave still
// learns bob and carol and they learn him. (With the book sent once, dave
// knew alice alone for good.)
//
// The rule drops the first UDP datagram to the chat port of exactly the
// length of a sealed peers payload with two IPv4 entries (no other packet
// of this exchange has that length: hellos, pings and acks are shorter),
// once: an nft quota of one such packet.
func TestExchangeSurvivesLoss(t *testing.T) {
	alone(t)
	lab := testnet.New(t, 4)
	alice := StartNode(t, lab.Hosts[0], "alice", "-mdns=false")
	bob := StartNode(t, lab.Hosts[1], "bob", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	carol := StartNode(t, lab.Hosts[2], "carol", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	alice.WaitJoined(t, "bob", "carol")
	// bob and carol know each other from alice's books (so those went out
	// before dave came).
	bob.WaitJoined(t, "carol")
	carol.WaitJoined(t, "bob")

	dh := lab.Hosts[3]
	udpLen := 8 + wire.DataHdr + wire.BoxOverhead + wire.InnerHdr + 1 + 2*(32+1+4+2)
	ipLen := 20 + udpLen
	dh.NFT(t, fmt.Sprintf("table inet p2pexchloss\ndelete table inet p2pexchloss\n"+
		"table inet p2pexchloss {\n chain input {\n  type filter hook input priority -5; policy accept;\n"+
		"  udp dport %d udp length %d quota until %d bytes counter drop\n }\n}\n", port, udpLen, ipLen+ipLen/2))
	dave := StartNode(t, dh, "dave", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	dave.WaitJoined(t, "alice", "bob", "carol")
	bob.WaitJoined(t, "dave")
	carol.WaitJoined(t, "dave")
	if got := dropped(t, dh); got != "1" {
		t.Errorf("the rule dropped %s datagrams, want the first book only", got)
	}
	ids := dave.SendTo(t, "bob", "found you after all")
	bob.Wait(t, msgTimeout, IsMessage("dave", "bob", "found you after all"))
	dave.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
}

// TestExchangeUnderLoss: the same LAN without multicast, dave's host
// dropping 30% of the UDP datagrams to the chat port at random: dave still
// learns everyone alice knows, and they learn him. A robustness test: the
// binary that sent its book once passed it too (6 runs of 6: the first
// book mostly gets through); TestExchangeSurvivesLoss is the one that
// fails without the resends.
func TestExchangeUnderLoss(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 5)
	alice := StartNode(t, lab.Hosts[0], "alice", "-mdns=false")
	others := []string{"bob", "carol", "erin"}
	var procs []*Proc
	for i, name := range others {
		procs = append(procs, StartNode(t, lab.Hosts[i+1], name, "-mdns=false", "-peer", peerAddr(lab.Hosts[0])))
	}
	alice.WaitJoined(t, others...)
	dh := lab.Hosts[4]
	dh.DropUDP(t, 30, port)
	dave := StartNode(t, dh, "dave", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	dave.WaitJoined(t, append([]string{"alice"}, others...)...)
	for _, p := range procs {
		p.WaitJoined(t, "dave")
	}
	relLogDrops(t, dh)
}

// dropped is the packet counter of the p2pexchloss rule on h.
func dropped(t *testing.T, h *testnet.Host) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.Name, "nft", "list", "table", "inet", "p2pexchloss").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		for i := range f {
			if f[i] == "packets" && i+1 < len(f) && strings.Contains(l, "drop") {
				return f[i+1]
			}
		}
	}
	return "? (" + strings.TrimSpace(string(out)) + ")"
}
