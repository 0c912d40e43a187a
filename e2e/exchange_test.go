package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/hostile"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// Peer exchange (issue 13): with multicast blocked, knowing one peer is
// enough; a hostile peer's made-up entries list nothing.

// TestExchangeWithoutMulticast: mDNS off and multicast dropped on every
// host; bob and carol know only alice; dave, told only where alice is,
// lists all three, and bob and carol list dave.
func TestExchangeWithoutMulticast(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 4)
	for _, h := range lab.Hosts {
		h.DropUDP(t, 100, 5353)
	}
	alice := StartNode(t, lab.Hosts[0], "alice", "-mdns=false")
	bob := StartNode(t, lab.Hosts[1], "bob", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	carol := StartNode(t, lab.Hosts[2], "carol", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	alice.WaitJoined(t, "bob", "carol")
	start := time.Now()
	dave := StartNode(t, lab.Hosts[3], "dave", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	dave.WaitJoined(t, "alice", "bob", "carol")
	bob.WaitJoined(t, "dave")
	carol.WaitJoined(t, "dave")
	t.Logf("dave listed by all and listing all %v after it started", time.Since(start).Round(time.Millisecond))
	// Multicast is dropped: dave followed alice's lead ("exchange"), or bob
	// or carol, told about dave by alice, said hello first ("traffic").
	for _, pe := range dave.Peers(t) {
		ok := pe.Via == "exchange" || pe.Via == "traffic"
		if pe.Name == "alice" {
			ok = pe.Via == "peer-flag"
		}
		if !ok {
			t.Errorf("dave: %s learned via %q", pe.Name, pe.Via)
		}
	}
	ids := dave.SendTo(t, "carol", "found you through alice")
	carol.Wait(t, msgTimeout, IsMessage("dave", "carol", "found you through alice"))
	dave.Wait(t, msgTimeout, IsDelivered("carol", ids[0]))
}

const (
	poisonEnvTarget = "P2PCHAT_POISON_TARGET" // the node to poison
	poisonEnvFake   = "P2PCHAT_POISON_FAKE"   // the /24 the made-up addresses are in
	poisonEntries   = 5000
)

// TestExchangePoison: a hostile peer joins alice and feeds her 5,000
// made-up entries (random keys at lab addresses where nobody is). alice
// lists none of them, stays responsive, and still learns the real peers.
func TestExchangePoison(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 4)
	for _, h := range lab.Hosts {
		h.DropUDP(t, 100, 5353)
	}
	alice := StartNode(t, lab.Hosts[0], "alice", "-mdns=false")
	bob := StartNode(t, lab.Hosts[1], "bob", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	alice.WaitJoined(t, "bob")

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fake := netip.PrefixFrom(netip.AddrFrom4([4]byte{lab.Hosts[0].IP.As4()[0], lab.Hosts[0].IP.As4()[1], lab.Hosts[0].IP.As4()[2], 0}), 24)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", lab.Hosts[3].Name, exe, "-test.run=^TestPoisonerProcess$")
	cmd.Env = append(os.Environ(), poisonEnvTarget+"="+peerAddr(lab.Hosts[0]), poisonEnvFake+"="+fake.String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "POISON sent=") {
		t.Fatalf("poisoner: %v\n%s", err, out)
	}
	t.Logf("poisoner: %s in %v", strings.TrimSpace(grepLine(string(out), "POISON")), time.Since(start).Round(time.Millisecond))
	alice.WaitJoined(t, "mallory")

	// A real peer still comes in by exchange while the flood is fresh.
	carol := StartNode(t, lab.Hosts[2], "carol", "-mdns=false", "-peer", peerAddr(lab.Hosts[0]))
	carol.WaitJoined(t, "alice", "bob")
	for _, pe := range alice.Peers(t) {
		if pe.Name != "bob" && pe.Name != "carol" && pe.Name != "mallory" {
			t.Errorf("alice lists %q (%s), learned via %s: a made-up entry", pe.Name, pe.Addr, pe.Via)
		}
	}
	ids := alice.SendTo(t, "bob", "still here")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "still here"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
}

func grepLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestPoisonerProcess is the hostile peer of TestExchangePoison, run in a
// lab host. Run directly, it does nothing.
func TestPoisonerProcess(t *testing.T) {
	target := os.Getenv(poisonEnvTarget)
	if target == "" {
		return
	}
	to := netip.MustParseAddrPort(target)
	fake := netip.MustParsePrefix(os.Getenv(poisonEnvFake))
	if !testnet.Net.Contains(to.Addr()) || !testnet.Net.Contains(fake.Addr()) {
		t.Fatalf("refusing: %v or %v is not a lab address", to, fake)
	}
	conn, err := hostile.DialUDP(to)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p, err := hostile.New(to, conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Join("mallory", "evil", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for sent < poisonEntries {
		pl := wire.Payload{Kind: wire.KindPeers}
		for range wire.MaxPeerEntries {
			var key [32]byte
			rand.Read(key[:])
			key[31] &= 0x7f
			// .200 to .249: addresses of the lab's subnet nobody has.
			a := fake.Addr().As4()
			a[3] = byte(200 + sent%50)
			pl.Peers = append(pl.Peers, wire.PeerEntry{Key: key, Addr: netip.AddrPortFrom(netip.AddrFrom4(a), 7117)})
			sent++
		}
		if err := p.Say(pl); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("POISON sent=%d entries\n", sent)
}
