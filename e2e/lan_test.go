package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Multi-host tests: every node in its own namespace of a testnet lab.

// lossyCount is how many messages TestLossyLink sends (raise to 1000 for a
// longer soak).
const lossyCount = 300

func TestDiscoveryAndChat(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	zw := StartNode(t, lab.Hosts[2], "张伟")

	// Discovery by mDNS only.
	alice.WaitJoined(t, "bob", "张伟")
	bob.WaitJoined(t, "alice", "张伟")
	zw.WaitJoined(t, "alice", "bob")
	if e := alice.Wait(t, 0, IsJoined("bob")); e.Addr != peerAddr(lab.Hosts[1]) {
		t.Errorf("alice: bob joined from %q, want %q", e.Addr, peerAddr(lab.Hosts[1]))
	}

	// A private message reaches bob only.
	ids := alice.SendTo(t, "bob", "hi bob")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "hi bob"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	// Had 张伟 got the private message, it would come before this marker
	// (alice's messages are delivered in order).
	alice.SendTo(t, "张伟", "marker after the private message")
	mk := zw.Wait(t, msgTimeout, IsMessage("alice", "张伟", "marker after the private message"))
	noEvent(t, zw, zw.Events()[:mk.Seq], "private message for bob", func(e Event) bool {
		return e.Event == "message" && strings.Contains(e.Text, "hi bob")
	})

	// /all reaches both, and alice learns both got it.
	m := alice.Mark()
	alice.Send("/all hello everyone")
	sent := alice.WaitFrom(t, m, msgTimeout, IsKind("sent"))
	bob.Wait(t, msgTimeout, IsMessage("alice", "all", "hello everyone"))
	zw.Wait(t, msgTimeout, IsMessage("alice", "all", "hello everyone"))
	for _, who := range []string{"bob", "张伟"} {
		alice.WaitFrom(t, m, msgTimeout, func(e Event) bool {
			return e.Event == "delivered" && e.To == who && slices.Contains(sent.IDs, e.ID)
		})
	}

	// A long message, ASCII and Chinese, arrives whole.
	long := strings.Repeat("abc中文", 1000) // 5,000 characters, 9,000 bytes
	bob.SendTo(t, "alice", long)
	got := alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "message" && e.From == "bob" && e.To == "alice" })
	if got.Text != long {
		t.Fatalf("long message altered: got %d bytes (%d runes), want %d bytes; first difference at byte %d",
			len(got.Text), len([]rune(got.Text)), len(long), firstDiff(got.Text, long))
	}

	// Chinese text, and a Chinese sender name.
	zw.SendTo(t, "alice", "你好，世界")
	alice.Wait(t, msgTimeout, IsMessage("张伟", "alice", "你好，世界"))
	zw.SendTo(t, "bob", "你好，世界")
	bob.Wait(t, msgTimeout, IsMessage("张伟", "bob", "你好，世界"))

	// bob quits: the others are told.
	bob.Send("/quit")
	alice.Wait(t, msgTimeout, IsLeft("bob", "quit"))
	zw.Wait(t, msgTimeout, IsLeft("bob", "quit"))
	if code := bob.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("bob exited with %d after /quit", code)
	}

	// In the end, 张伟 never saw the private message at all.
	noEvent(t, zw, zw.Events(), "private message for bob", func(e Event) bool {
		return e.Event == "message" && strings.Contains(e.Text, "hi bob")
	})
}

func TestVanishedPeer(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	carol := StartNode(t, lab.Hosts[2], "carol")
	alice.WaitJoined(t, "bob", "carol")
	bob.WaitJoined(t, "alice", "carol")
	carol.WaitJoined(t, "alice", "bob")

	start := time.Now()
	carol.Kill()
	const bound = 25 * time.Second // "about 20 s" plus slack
	for _, p := range []*Proc{alice, bob} {
		e := p.Wait(t, bound-time.Since(start), func(e Event) bool { return e.Event == "left" && e.Name == "carol" })
		if e.Reason != "no answer" {
			t.Errorf("%s: carol left with reason %q, want \"no answer\"", p, e.Reason)
		}
		t.Logf("%s: carol reported gone after %v", p, e.At.Sub(start).Round(100*time.Millisecond))
	}
	// alice and bob still talk to each other.
	ids := alice.SendTo(t, "bob", "still here")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "still here"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
}

func TestPeerFlagWithoutMulticast(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	ha, hb := lab.Hosts[0], lab.Hosts[1]
	// Belt and braces: even if discovery ran, it could not work.
	ha.DropUDP(t, 100, 5353)
	hb.DropUDP(t, 100, 5353)
	// Only alice is told where bob is; bob learns alice from her traffic.
	bob := StartNode(t, hb, "bob", "-mdns=false")
	alice := StartNode(t, ha, "alice", "-mdns=false", "-peer", peerAddr(hb))
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	ids := alice.SendTo(t, "bob", "found you by address")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "found you by address"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	ids = bob.SendTo(t, "alice", "and back")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "and back"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))

	for _, pe := range alice.Peers(t) {
		if pe.Name == "bob" && pe.Via != "peer-flag" {
			t.Errorf("alice: bob learned via %q, want peer-flag", pe.Via)
		}
	}
}

func TestTCPFallback(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	t.Run("udp-blocked", func(t *testing.T) {
		lab.Hosts[1].DropUDP(t, 100, port)
		const perMessage = 2 * time.Second
		for i := 1; i <= 5; i++ {
			text := fmt.Sprintf("through tcp %d", i)
			start := time.Now()
			ids := alice.SendTo(t, "bob", text)
			d := alice.Wait(t, perMessage, IsDelivered("bob", ids[0]))
			bob.Wait(t, msgTimeout, IsMessage("alice", "bob", text))
			t.Logf("message %d delivered in %v", i, d.At.Sub(start).Round(time.Millisecond))
		}
		if pe := findPeer(t, alice, "bob"); pe.Transport != "tcp" {
			t.Errorf("alice: bob's transport is %q with UDP to bob blocked, want tcp\n%s",
				pe.Transport, lab.Hosts[1].NFTRules(t))
		}
		// bob -> alice still works too.
		ids := bob.SendTo(t, "alice", "reply while my UDP is blocked")
		alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "reply while my UDP is blocked"))
		bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
		// Each message arrived once.
		for i := 1; i <= 5; i++ {
			text := fmt.Sprintf("through tcp %d", i)
			if n := countEvents(bob, IsMessage("alice", "bob", text)); n != 1 {
				t.Errorf("bob got %q %d times", text, n)
			}
		}
	})

	t.Run("tcp-mode-node", func(t *testing.T) {
		carol := StartNode(t, lab.Hosts[2], "carol", "-tcp")
		carol.WaitJoined(t, "alice")
		alice.WaitJoined(t, "carol")
		ids := carol.SendTo(t, "alice", "hello from a tcp-only node")
		alice.Wait(t, msgTimeout, IsMessage("carol", "alice", "hello from a tcp-only node"))
		carol.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))
		ids = alice.SendTo(t, "carol", "hello tcp node")
		carol.Wait(t, msgTimeout, IsMessage("alice", "carol", "hello tcp node"))
		alice.Wait(t, msgTimeout, IsDelivered("carol", ids[0]))
		if pe := findPeer(t, carol, "alice"); pe.Transport != "tcp" {
			t.Errorf("carol (-tcp): alice's transport is %q, want tcp", pe.Transport)
		}
	})
}

func TestLossyLink(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	lab.Hosts[0].DropUDP(t, 25, port)
	lab.Hosts[1].DropUDP(t, 25, port)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nft on %s:\n%s\nnft on %s:\n%s", lab.Hosts[0].Name, lab.Hosts[0].NFTRules(t), lab.Hosts[1].Name, lab.Hosts[1].NFTRules(t))
		}
	})

	bm := bob.Mark()
	am := alice.Mark()
	want := make([]string, lossyCount)
	for i := range want {
		want[i] = fmt.Sprintf("m%04d", i+1)
		alice.Send("/to bob " + want[i]) // back to back, no waiting
	}
	budget := 60*time.Second + lossyCount*200*time.Millisecond
	start := time.Now()
	bob.WaitFrom(t, bm, budget, IsMessage("alice", "bob", want[len(want)-1]))
	t.Logf("%d messages through 25%% loss each way in %v", lossyCount, time.Since(start).Round(time.Millisecond))

	// alice hears every one acknowledged (no error, no failure).
	var ids []Flex
	for _, e := range alice.Events()[am:] {
		switch e.Event {
		case "sent":
			ids = append(ids, e.IDs...)
		case "error":
			t.Errorf("alice: %s", e)
		case "pending":
			t.Logf("alice (not fatal if later delivered): %s", e)
		case "failed":
			t.Errorf("alice: %s", e)
		}
	}
	if len(ids) != lossyCount {
		t.Fatalf("alice: %d ids in sent events, want %d\n%s", len(ids), lossyCount, alice.Report())
	}
	for _, id := range ids {
		alice.WaitFrom(t, am, budget-time.Since(start), IsDelivered("bob", id))
	}
	// A last message after everything was acknowledged flushes any late
	// duplicate in ahead of it.
	alice.SendTo(t, "bob", "end")
	end := bob.WaitFrom(t, bm, msgTimeout*3, IsMessage("alice", "bob", "end"))

	var got []string
	for _, e := range bob.Events()[bm:end.Seq] {
		if e.Event == "message" {
			got = append(got, e.Text)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("bob received %d messages, want %d exactly once in order; %s", len(got), len(want), seqDiff(got, want))
	}
}

func TestPipedNonInteractive(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	needBinary(t)
	bob := StartNode(t, lab.Hosts[1], "bob")

	// `printf '/to bob build done\n' | p2pchat -name ci ...`: no -json, stdin
	// a pipe that ends at once; it must deliver, say goodbye and exit 0.
	run := func(t *testing.T, h *testnet.Host, name, text string, extra ...string) {
		t.Helper()
		args := append([]string{"-name", name, "-home", t.TempDir()}, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := h.Command(ctx, binPath, args...)
		cmd.Stdin = strings.NewReader("/to bob " + text + "\n")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		err := cmd.Run()
		t.Logf("%s exited after %v: %v\nstdout:\n%s\nstderr:\n%s", name, time.Since(start).Round(time.Millisecond), err, out.String(), errOut.String())
		if ctx.Err() != nil {
			t.Fatalf("%s did not exit on its own within 60 s of its stdin ending", name)
		}
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("%s exited with %d, want 0", name, ee.ExitCode())
			}
			t.Fatalf("%s: %v", name, err)
		}
		bob.Wait(t, msgTimeout, IsMessage(name, "bob", text))
	}
	t.Run("with-peer-flag", func(t *testing.T) {
		run(t, lab.Hosts[0], "ci", "build done", "-peer", peerAddr(lab.Hosts[1]))
	})
	t.Run("mdns-only", func(t *testing.T) {
		run(t, lab.Hosts[2], "ci2", "build done too")
	})
}
