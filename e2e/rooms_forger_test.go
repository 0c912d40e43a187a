package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// The room forger: this test binary, re-executed in a laptop's
// namespace, is "mallory", a member of #lunch built on the real node:
// it joins #lunch at alice (its binding and a signed join, as roomsnet
// sends them: application payloads 4 and 1), waits for alice's message,
// and relays it to carol twice (payload 2), once with another text and
// once with another author name on it.
const (
	forgerEnvHome  = "P2PCHAT_ROOM_FORGER_HOME"
	forgerEnvAlice = "P2PCHAT_ROOM_FORGER_ALICE"
	forgerEnvCarol = "P2PCHAT_ROOM_FORGER_CAROL"
)

// TestRoomForgerProcess is not a test: it is the forger's entry point when
// the binary is re-executed with forgerEnvHome set. Otherwise it returns.
func TestRoomForgerProcess(t *testing.T) {
	home := os.Getenv(forgerEnvHome)
	if home == "" {
		return
	}
	if err := forge(home, os.Getenv(forgerEnvAlice), os.Getenv(forgerEnvCarol)); err != nil {
		fmt.Printf("FORGER error=%v\n", err)
		os.Exit(3)
	}
}

func forge(home, aliceS, carolS string) error {
	alice, err := netip.ParseAddrPort(aliceS)
	if err != nil {
		return err
	}
	carol, err := netip.ParseAddrPort(carolS)
	if err != nil {
		return err
	}
	if !testnet.Net.Contains(alice.Addr()) || !testnet.Net.Contains(carol.Addr()) {
		return fmt.Errorf("not lab addresses: %s %s", alice, carol)
	}
	id, err := peer.LoadIdentity(home)
	if err != nil {
		return err
	}
	signer, err := roomsnet.LoadSigner(home, id.Public)
	if err != nil {
		return err
	}
	tr, err := peer.Listen(peer.NetConfig{Port: peer.DefaultPort})
	if err != nil {
		return err
	}
	n, err := peer.New(peer.Config{Name: "mallory", Identity: id, Home: home}, tr)
	if err != nil {
		return err
	}
	defer n.Close()
	n.AddPeer(alice)
	n.AddPeer(carol)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.WaitPeer(ctx, "alice"); err != nil {
		return err
	}
	ap, _ := n.Resolve("alice")
	aliceKey, _ := n.PeerKey(ap.ID)
	st := rooms.New(signer, "mallory")
	_, join, err := st.Join("#lunch", time.Now())
	if err != nil {
		return err
	}
	sig := signer.BindingSig()
	if _, err := n.SendApp(aliceKey, "alice", 4, append(append([]byte(nil), signer.Public[:]...), sig[:]...)); err != nil {
		return err
	}
	if _, err := n.SendApp(aliceKey, "alice", 1, join.AppendEncode(nil)); err != nil {
		return err
	}
	fmt.Println("FORGER joined")
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-n.Events():
			if e.Kind != peer.EvApp || e.App != 1 || e.PeerID != ap.ID {
				continue
			}
			m, err := rooms.DecodeMessage([]byte(e.Text))
			if err != nil || m.Kind != rooms.KindText {
				continue
			}
			altered, renamed := *m, *m
			altered.Text = "lunch cancelled"
			renamed.Nick = "bob"
			cp, err := n.Resolve("carol")
			if err != nil {
				return err
			}
			carolKey, _ := n.PeerKey(cp.ID)
			for _, f := range []*rooms.Message{&altered, &renamed} {
				if _, err := n.SendApp(carolKey, "carol", 2, f.AppendEncode(nil)); err != nil {
					return err
				}
			}
			fmt.Println("FORGER sent 2")
			if err := n.Flush(ctx); err != nil {
				return err
			}
			fmt.Println("FORGER delivered")
			<-ctx.Done()
			return nil
		}
	}
}

// TestRoomsForgedRelayDropped: mallory, a member of #lunch, relays
// alice's message to carol (who was away when alice said it) with its
// text changed, and again with another author's name: carol shows
// neither, and her log counts two messages whose signature failed
// (rooms: bad-signature).
func TestRoomsForgedRelayDropped(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	carolHome := t.TempDir()
	alice := StartNode(t, lab.Hosts[0], "alice")
	carol := startWithHome(t, lab.Hosts[1], "carol", carolHome)
	alice.WaitJoined(t, "carol")
	carol.WaitJoined(t, "alice")
	joinAll(t, "#lunch", alice, carol)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	forger := proctest.Start(t, proctest.Spec{
		Label: "forger on " + lab.Hosts[2].Name, Host: lab.Hosts[2], Path: self, Text: true,
		Args: []string{"-test.run=^TestRoomForgerProcess$", "-test.count=1"},
		Env: []string{forgerEnvHome + "=" + t.TempDir(), forgerEnvAlice + "=" + peerAddr(lab.Hosts[0]),
			forgerEnvCarol + "=" + peerAddr(lab.Hosts[1]), "P2PCHAT_BIN=" + binPath},
	})
	alice.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == "mallory" })
	carol.Kill()
	alice.Send("/to #lunch lunch at noon")
	if !forger.Stdout().WaitFor(0, msgTimeout, nil, func(b []byte) bool { return strings.Contains(string(b), "FORGER sent 2") }) {
		t.Fatalf("the forger did not relay:\n%s", forger.Stdout())
	}
	// carol comes back knowing only mallory (no mDNS): mallory's relays
	// reach her first.
	carol2 := startWithHome(t, lab.Hosts[1], "carol", carolHome, "-mdns=false", "-peer", peerAddr(lab.Hosts[2]))
	if !forger.Stdout().WaitFor(0, joinTimeout, nil, func(b []byte) bool { return strings.Contains(string(b), "FORGER delivered") }) {
		t.Fatalf("carol did not take the forged relays:\n%s", forger.Stdout())
	}
	if !carol2.Stderr().WaitFor(0, msgTimeout, nil, func(b []byte) bool { return strings.Count(string(b), "bad-signature") >= 2 }) {
		t.Errorf("carol's log does not show two forged relays dropped")
	}
	time.Sleep(500 * time.Millisecond)
	for _, e := range carol2.Events() {
		if e.Event == "message" && (e.Text == "lunch cancelled" || e.From == "bob") {
			t.Errorf("carol showed a forged relay: %s", e.Raw)
		}
	}
}
