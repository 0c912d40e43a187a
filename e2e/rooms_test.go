package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Rooms (issue 19) with real processes on simulated laptops.

// roomMsg is a room message event's room fields.
type roomMsg struct {
	Event     string `json:"event"`
	From      string `json:"from"`
	To        string `json:"to"`
	Text      string `json:"text"`
	Room      string `json:"room"`
	RoomID    string `json:"room_id"`
	AuthorSeq uint64 `json:"author_seq"`
	Earlier   bool   `json:"earlier"`
}

func decodeRoomMsg(t *testing.T, e Event) roomMsg {
	t.Helper()
	var m roomMsg
	if err := e.Decode(&m); err != nil {
		t.Fatalf("%s: %v", e.Raw, err)
	}
	return m
}

// isRoomMsg matches a room message in room from from with text.
func isRoomMsg(room, from, text string) func(Event) bool {
	return func(e Event) bool {
		return e.Event == "message" && e.To == room && e.From == from && (text == "" || e.Text == text)
	}
}

// roomMsgs are the room messages in room among evs, as "from: text".
func roomMsgs(t *testing.T, evs []Event, room string) []string {
	var out []string
	for _, e := range evs {
		if e.Event == "message" && e.To == room {
			out = append(out, e.From+": "+e.Text)
		}
	}
	return out
}

// joinAll has each process /join room and waits until each saw every
// other's room-joined.
func joinAll(t *testing.T, room string, ps ...*Proc) {
	t.Helper()
	for _, p := range ps {
		p.Send("/join " + room)
		p.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == p.Ready().Name })
	}
	for _, p := range ps {
		for _, q := range ps {
			if p != q {
				p.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == q.Ready().Name })
			}
		}
	}
}

// TestRoomsFourLaptops: three laptops in #lunch get each other's
// messages once each, in each author's order, as message events whose
// keys come in the documented order; the fourth sees #lunch with three
// members in /rooms and gets none of its messages.
func TestRoomsFourLaptops(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 4)
	names := []string{"alice", "bob", "carol", "dave"}
	var ps []*Proc
	for i, n := range names {
		ps = append(ps, StartNode(t, lab.Hosts[i], n))
	}
	for _, p := range ps {
		var others []string
		for _, n := range names {
			if n != p.Ready().Name {
				others = append(others, n)
			}
		}
		p.WaitJoined(t, others...)
	}
	alice, bob, carol, dave := ps[0], ps[1], ps[2], ps[3]
	joinAll(t, "#lunch", alice, bob, carol)
	for i := range 5 {
		alice.Send(fmt.Sprintf("/to #lunch a%d", i))
		bob.Send(fmt.Sprintf("/to #Lunch b%d", i))
	}
	want := map[string][]string{}
	for i := range 5 {
		want["alice"] = append(want["alice"], fmt.Sprintf("alice: a%d", i))
		want["bob"] = append(want["bob"], fmt.Sprintf("bob: b%d", i))
	}
	carol.Wait(t, msgTimeout, isRoomMsg("#lunch", "alice", "a4"))
	last := carol.Wait(t, msgTimeout, isRoomMsg("#lunch", "bob", "b4"))
	time.Sleep(time.Second) // anything twice would come now
	got := roomMsgs(t, carol.Events(), "#lunch")
	var fromA, fromB []string
	for _, s := range got {
		if strings.HasPrefix(s, "alice: ") {
			fromA = append(fromA, s)
		} else {
			fromB = append(fromB, s)
		}
	}
	if !slices.Equal(fromA, want["alice"]) || !slices.Equal(fromB, want["bob"]) {
		t.Errorf("carol got %q", got)
	}
	m := decodeRoomMsg(t, last)
	if m.Room != "#lunch" || m.AuthorSeq == 0 || len(m.RoomID) != 16 || m.Earlier {
		t.Errorf("room message event: %s", last.Raw)
	}
	if i, j, k := strings.Index(last.Raw, `"text"`), strings.Index(last.Raw, `"room"`), strings.Index(last.Raw, `"author_seq"`); !(i < j && j < k) {
		t.Errorf("keys out of order: %s", last.Raw)
	}
	// dave: #lunch with three members, and none of its messages.
	deadline := time.Now().Add(joinTimeout)
	for {
		mk := dave.Mark()
		dave.Send("/rooms")
		e := dave.WaitFrom(t, mk, msgTimeout, IsKind("rooms"))
		if strings.Contains(e.Raw, `{"room":"#lunch","room_id":"`) && strings.Contains(e.Raw, `"private":false,"members":3,"topic":"","joined":false}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dave's /rooms: %s", e.Raw)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := roomMsgs(t, dave.Events(), "#lunch"); len(got) > 0 {
		t.Errorf("dave, not in #lunch, got %q", got)
	}
}

// TestRoomsMemberKilled: carol is killed (-9) while alice and bob send to
// #lunch; bob quits before carol returns. Restarted on her home, carol
// gets every message once, in each author's order (bob's relayed by
// alice, marked earlier).
func TestRoomsMemberKilled(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	homes := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	peerArgs := func(i int) []string {
		var a []string
		for j := range 3 {
			if j != i {
				a = append(a, "-peer", peerAddr(lab.Hosts[j]))
			}
		}
		return a
	}
	alice := startWithHome(t, lab.Hosts[0], "alice", homes[0], peerArgs(0)...)
	bob := startWithHome(t, lab.Hosts[1], "bob", homes[1], peerArgs(1)...)
	carol := startWithHome(t, lab.Hosts[2], "carol", homes[2], peerArgs(2)...)
	alice.WaitJoined(t, "bob", "carol")
	bob.WaitJoined(t, "alice", "carol")
	carol.WaitJoined(t, "alice", "bob")
	joinAll(t, "#lunch", alice, bob, carol)
	for i := range 20 {
		alice.Send(fmt.Sprintf("/to #lunch a%02d", i))
		bob.Send(fmt.Sprintf("/to #lunch b%02d", i))
		if i == 5 {
			carol.Kill()
		}
	}
	alice.Wait(t, msgTimeout, isRoomMsg("#lunch", "bob", "b19"))
	bob.CloseStdin()
	if code := bob.ExitCode(t, exitTimeout); code != exitQueued {
		t.Errorf("bob quit with room messages queued for carol: exit %d, want %d", code, exitQueued)
	}
	carol2 := startWithHome(t, lab.Hosts[2], "carol", homes[2], peerArgs(2)...)
	carol2.Wait(t, joinTimeout, isRoomMsg("#lunch", "alice", "a19"))
	carol2.Wait(t, joinTimeout, isRoomMsg("#lunch", "bob", "b19"))
	time.Sleep(time.Second)
	got := append(roomMsgs(t, carol.Events(), "#lunch"), roomMsgs(t, carol2.Events(), "#lunch")...)
	var fromA, fromB, wantA, wantB []string
	for _, s := range got {
		if strings.HasPrefix(s, "alice: ") {
			fromA = append(fromA, s)
		} else {
			fromB = append(fromB, s)
		}
	}
	for i := range 20 {
		wantA = append(wantA, fmt.Sprintf("alice: a%02d", i))
		wantB = append(wantB, fmt.Sprintf("bob: b%02d", i))
	}
	if !slices.Equal(fromA, wantA) || !slices.Equal(fromB, wantB) {
		t.Errorf("carol over her two runs got\n alice %q\n bob %q", fromA, fromB)
	}
}

// TestRoomsPrivateRefused: alice's private #secret: dave's /join is an
// error naming the room as invite-only; bob, invited, gets its messages;
// removed, he gets no more.
func TestRoomsPrivateRefused(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")
	dave := StartNode(t, lab.Hosts[2], "dave")
	alice.WaitJoined(t, "bob", "dave")
	bob.WaitJoined(t, "alice", "dave")
	dave.WaitJoined(t, "alice", "bob")
	alice.Send("/join #secret private")
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == "alice" })
	deadline := time.Now().Add(joinTimeout)
	for {
		mk := dave.Mark()
		dave.Send("/join #secret")
		e := dave.WaitFrom(t, mk, msgTimeout, func(e Event) bool { return e.Event == "error" || e.Event == "room-joined" })
		if e.Event == "error" && strings.Contains(e.Text, "#secret is invite-only") {
			break
		}
		if e.Event == "room-joined" || time.Now().After(deadline) {
			t.Fatalf("dave's /join #secret: %s", e.Raw)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for {
		mk := alice.Mark()
		alice.Send("/invite bob #secret")
		e := alice.WaitFrom(t, mk, msgTimeout, func(e Event) bool { return e.Event == "error" || e.Event == "info" })
		if e.Event == "info" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's /invite: %s", e.Raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	bob.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "invited" && e.Name == "alice" })
	alice.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-joined" && e.Name == "bob" })
	alice.Send("/to #secret for members")
	bob.Wait(t, msgTimeout, isRoomMsg("#secret", "alice", "for members"))
	alice.Send("/kick bob #secret")
	bob.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-left" && e.Reason == "kicked" })
	alice.Send("/to #secret after bob")
	time.Sleep(2 * time.Second)
	for _, e := range bob.Events() {
		if e.Event == "message" && e.Text == "after bob" {
			t.Errorf("bob, removed, got %s", e.Raw)
		}
	}
	for _, e := range dave.Events() {
		if e.Event == "message" && e.To == "#secret" {
			t.Errorf("dave, never a member, got %s", e.Raw)
		}
	}
}

// TestRoomsPartitionHeals: alice and bob each create #lunch while their
// link is down; when it comes back the two are one room: each lists the
// other in /names and gets the other's messages, the one said during the
// partition included.
func TestRoomsPartitionHeals(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice", "-peer", peerAddr(lab.Hosts[1]))
	bob := StartNode(t, lab.Hosts[1], "bob", "-peer", peerAddr(lab.Hosts[0]))
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	lab.Hosts[1].SetLink(t, false)
	alice.Wait(t, joinTimeout, func(e Event) bool { return e.Event == "left" && e.Name == "bob" })
	alice.Send("/join #lunch")
	bob.Send("/join #lunch")
	alice.Send("/to #lunch alice alone")
	bob.Send("/to #lunch bob alone")
	time.Sleep(500 * time.Millisecond)
	lab.Hosts[1].SetLink(t, true)
	bob.Wait(t, joinTimeout, isRoomMsg("#lunch", "alice", "alice alone"))
	alice.Wait(t, joinTimeout, isRoomMsg("#lunch", "bob", "bob alone"))
	alice.Send("/to #lunch together")
	bob.Wait(t, msgTimeout, isRoomMsg("#lunch", "alice", "together"))
	mk := bob.Mark()
	bob.Send("/names #lunch")
	e := bob.WaitFrom(t, mk, msgTimeout, IsKind("names"))
	if !strings.Contains(e.Raw, `"name":"alice"`) || !strings.Contains(e.Raw, `"name":"bob"`) {
		t.Errorf("bob's /names: %s", e.Raw)
	}
}

// TestRoomsPromptInTmux: in a real terminal the prompt follows /join and
// /part ([#lunch]> then [all]>), and a room line from jay arrives above
// half a typed line, which stays on the prompt line as typed.
func TestRoomsPromptInTmux(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	hj, ht := lab.Hosts[0], lab.Hosts[1]
	jay := StartNode(t, hj, "jay")
	needBinary(t)
	home := t.TempDir()
	// Cleanups run last first: the pane's (kill-server) ends the shell,
	// but tux, sent SIGHUP, may still be writing to home when RemoveAll
	// runs ("directory not empty" failed the test). Closing the lab here
	// kills what runs in its namespaces and waits for it to be gone, after
	// the pane's cleanup and before home's.
	t.Cleanup(lab.Close)
	tm := newTmux(t)
	script := "#!/bin/sh\nexec ip netns exec " + shellQuote(ht.Name) + " " + shellQuote(binPath)
	for _, a := range []string{"-name", "tux", "-home", home} {
		script += " " + shellQuote(a)
	}
	script += " 2>/dev/null\n"
	runSh := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(runSh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tm.WaitScreen(10*time.Second, "shell prompt", onLines(func(ls []string) bool { return len(ls) > 0 && strings.HasPrefix(ls[len(ls)-1], "$") }))
	tm.Type("sh " + runSh)
	tm.Keys("Enter")
	jay.WaitJoined(t, "tux")
	tm.WaitScreen(joinTimeout, "tux sees jay", onLines(func(ls []string) bool { return lastIndexContaining(ls, "jay joined") >= 0 }))
	lastIs := func(prefix string) func([]string) bool {
		return func(ls []string) bool { return len(ls) > 0 && strings.HasPrefix(ls[len(ls)-1], prefix) }
	}
	tm.Type("/join #lunch")
	tm.Keys("Enter")
	tm.WaitScreen(10*time.Second, "the room prompt", onLines(lastIs("[#lunch]>")))
	jay.Send("/join #lunch")
	tm.WaitScreen(joinTimeout, "jay in the room", onLines(func(ls []string) bool { return lastIndexContaining(ls, "#lunch * jay joined") >= 0 }))

	const half = "half a li"
	tm.Type(half)
	tm.WaitScreen(10*time.Second, "the half-typed line", onLines(func(ls []string) bool {
		return len(ls) > 0 && strings.HasSuffix(ls[len(ls)-1], "[#lunch]> "+half)
	}))
	jay.Send("/to #lunch hello tux")
	tm.WaitScreen(msgTimeout, "jay's room line above the half line", onLines(func(ls []string) bool {
		return len(ls) > 1 && strings.HasSuffix(ls[len(ls)-1], "[#lunch]> "+half) && strings.HasSuffix(ls[len(ls)-2], "#lunch jay: hello tux")
	}))
	tm.Type("ne")
	tm.Keys("Enter")
	jay.Wait(t, msgTimeout, isRoomMsg("#lunch", "tux", "half a line"))
	tm.Type("/part")
	tm.Keys("Enter")
	tm.WaitScreen(10*time.Second, "the prompt back to everyone", onLines(lastIs("[all]>")))
	jay.Wait(t, msgTimeout, func(e Event) bool { return e.Event == "room-left" && e.Name == "tux" })
}

// TestRoomsLateJoiner: a newcomer to #lunch, which has had 150 messages,
// is shown its last 100, marked earlier, in order.
func TestRoomsLateJoiner(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	alice := StartNode(t, lab.Hosts[0], "alice")
	dave := StartNode(t, lab.Hosts[1], "dave")
	alice.WaitJoined(t, "dave")
	dave.WaitJoined(t, "alice")
	alice.Send("/join #lunch")
	for i := range 150 {
		alice.Send(fmt.Sprintf("/to #lunch m%03d", i))
	}
	alice.Wait(t, msgTimeout, func(e Event) bool {
		return e.Event == "sent" && strings.Contains(e.Raw, `"author_seq":`) && strings.Contains(e.Raw, `"room":"#lunch"`) && e.Raw != "" && countSent(alice) == 150
	})
	deadline := time.Now().Add(joinTimeout)
	for {
		mk := dave.Mark()
		dave.Send("/rooms")
		e := dave.WaitFrom(t, mk, msgTimeout, IsKind("rooms"))
		if strings.Contains(e.Raw, `"room":"#lunch"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dave's /rooms: %s", e.Raw)
		}
		time.Sleep(300 * time.Millisecond)
	}
	mk := dave.Mark()
	dave.Send("/join #lunch")
	dave.WaitFrom(t, mk, msgTimeout, isRoomMsg("#lunch", "alice", "m149"))
	time.Sleep(time.Second)
	var got []string
	for _, e := range dave.Events()[mk:] {
		if e.Event == "message" && e.To == "#lunch" {
			if !decodeRoomMsg(t, e).Earlier {
				t.Errorf("not marked earlier: %s", e.Raw)
			}
			got = append(got, e.Text)
		}
	}
	if len(got) != 100 || got[0] != "m050" || got[99] != "m149" {
		t.Errorf("dave was shown %d: %q", len(got), got)
	}
}

// countSent counts p's room "sent" events.
func countSent(p *Proc) int {
	n := 0
	for _, e := range p.Events() {
		if e.Event == "sent" && strings.Contains(e.Raw, `"room":`) {
			n++
		}
	}
	return n
}
