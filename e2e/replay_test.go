package e2e

import (
	"bytes"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"net/netip"
	"testing"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// countReplayed counts the frames of a capture that carry one of payloads
// to one of dsts.
func countReplayed(t *testing.T, pcap []byte, payloads [][]byte, dsts ...netip.AddrPort) int {
	t.Helper()
	frames, err := parsePcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, p := range payloads {
		set[string(p)] = true
	}
	n := 0
	for _, f := range frames {
		if f.Proto == 17 && set[string(f.Payload)] {
			for _, d := range dsts {
				if f.Dst == d {
					n++
				}
			}
		}
	}
	return n
}

// TestReplayAcrossTheLAN records what alice sends bob over UDP while she
// sends "replay-me", then replays every one of those datagrams from a
// fourth machine to bob and to carol: from the attacker's own address, and
// forged as coming from alice's. bob must show the message once, carol
// never, and neither may take the attacker's address for alice's. Then bob
// restarts (same identity) and the same datagrams are replayed to him.
func TestReplayAcrossTheLAN(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 4)
	ha, hb, hc, hx := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2], lab.Hosts[3]
	bobHome := t.TempDir()
	aliceAt, bobAt, carolAt := netip.MustParseAddrPort(peerAddr(ha)), netip.MustParseAddrPort(peerAddr(hb)), netip.MustParseAddrPort(peerAddr(hc))

	cp := startCapture(t, lab, "udp", "and", "dst", "port", fmt.Sprint(port))
	alice := StartNode(t, ha, "alice")
	bob := startWithHome(t, hb, "bob", bobHome)
	carol := StartNode(t, hc, "carol")
	alice.WaitJoined(t, "bob", "carol")
	bob.WaitJoined(t, "alice", "carol")
	carol.WaitJoined(t, "alice", "bob")
	sendAndConfirm(t, alice, "bob", "replay-me", bob)
	pcap := cp.stop(t)

	frames, err := parsePcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	var recorded [][]byte
	for _, f := range frames {
		if f.Proto == 17 && f.Src.Addr() == ha.IP && f.Dst == bobAt && bytes.HasPrefix(f.Payload, []byte(wire.Magic)) {
			recorded = append(recorded, bytes.Clone(f.Payload))
		}
	}
	t.Logf("capture: %d bytes, %d frames to port %d; %d datagrams from alice to bob (the message and whatever else she sent him: hello, acks)", len(pcap), len(frames), port, len(recorded))
	if len(recorded) == 0 {
		t.Fatalf("no datagram from alice to bob captured")
	}

	checkAddr := func(t *testing.T, p *Proc, name string, want netip.AddrPort) {
		t.Helper()
		if pe := findPeer(t, p, name); pe.Addr != want.String() {
			t.Errorf("%s: after the replay %s's address is %q, want %q: the attacker's datagrams moved it", p, name, pe.Addr, want)
		}
	}

	t.Run("live-receiver", func(t *testing.T) {
		for i, from := range []netip.AddrPort{{}, aliceAt} {
			rc := startCapture(t, lab, "udp", "and", "dst", "port", fmt.Sprint(port))
			runReplay(t, hx, recorded, from, bobAt, carolAt)
			n := countReplayed(t, rc.stop(t), recorded, bobAt, carolAt)
			t.Logf("the bridge carried %d replayed datagrams to bob and carol", n)
			if n < 2*len(recorded) {
				t.Errorf("only %d of %d replayed datagrams seen on the bridge", n, 2*len(recorded))
			}
			// alice's next messages come after the replayed datagrams in
			// bob's and carol's sockets: once they are shown, so would a
			// replay have been.
			sendAndConfirm(t, alice, "bob", fmt.Sprintf("marker after replay %d", i+1), bob)
			sendAndConfirm(t, alice, "carol", fmt.Sprintf("marker after replay %d", i+1), carol)
			if n := countText(bob, "replay-me"); n != 1 {
				t.Errorf("bob shows \"replay-me\" %d times, want once", n)
			}
			if n := countText(carol, "replay-me"); n != 0 {
				t.Errorf("carol shows \"replay-me\" %d times; it was never sent to her", n)
			}
			checkAddr(t, bob, "alice", aliceAt)
			checkAddr(t, carol, "alice", aliceAt)
			sendAndConfirm(t, bob, "alice", fmt.Sprintf("bob still reaches alice %d", i+1), alice)
		}
		for _, p := range []*Proc{bob, carol} {
			noEvent(t, p, p.Events(), "warning or stray message after the replay", func(e Event) bool {
				return e.Event == "warning" || e.Event == "message" && e.From != "alice"
			})
		}
	})

	// bob restarts with the same key. His new process has no memory of
	// what alice sent the old one: the replay window starts empty, and the
	// recorded datagrams are sealed to the same key with alice's current
	// (boot, counter), so nothing in them says they are old.
	t.Run("restarted-receiver", func(t *testing.T) {
		am := alice.Mark()
		bob.Send("/quit")
		bob.ExitCode(t, exitTimeout)
		bob2 := startWithHome(t, hb, "bob", bobHome)
		bob2.WaitJoined(t, "alice")
		alice.WaitFrom(t, am, joinTimeout, IsJoined("bob"))

		// Replayed before alice sends the new bob anything: he has no
		// stream state for alice yet. (Once a newer message of alice's has
		// arrived, the replayed one is below it and dropped as a duplicate.)
		runReplay(t, hx, recorded, aliceAt, bobAt)
		sendAndConfirm(t, alice, "bob", "marker after the replay to the new bob", bob2)
		if n := countText(bob2, "replay-me"); n != 0 {
			t.Errorf("restarted bob shows \"replay-me\" %d times: datagrams alice sent to bob's previous process, replayed by another machine, were accepted and the old message shown again (README: \"replayed packets are dropped\", \"shown once each\")", n)
		}
		checkAddr(t, bob2, "alice", aliceAt)
	})
}
