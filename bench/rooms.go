package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// Rooms (issue 19): the catch-up of a member who was away, and the memory
// of a node in as many rooms as it may be, of as many members as a room
// may have. (A room message's fan-out is timed in phaseLAN, next to /all
// to the same peers.)

const (
	catchUpMessages = 100 // said while the member is away, by three authors
	memRooms        = 32  // rooms.MaxRooms
	memMembers      = 64  // rooms.MaxMembers, the node included
)

// phaseRooms measures the catch-up and the memory figures.
func phaseRooms(r *report, sz sizes, _ string) {
	roomsCatchUp(r)
	roomsMemory(r, sz)
}

// startP2PHome is startP2P on a given home (a restart keeps it).
func startP2PHome(h *testnet.Host, name, home string, extra ...string) *proctest.Proc {
	return proctest.P2PChat{
		Bin: p2pBin, Name: name, Home: home, Args: extra, StderrLimit: stderrLimit,
	}.Start(tb, h)
}

// awaitRoomJoins waits until p saw want room-joined events of others in
// room (from Seq from on).
func awaitRoomJoins(p *proctest.Proc, self string, from int, room string, want int, timeout time.Duration) {
	got := map[string]bool{}
	must(p, from, timeout, fmt.Sprintf("%d members joining %s", want, room), func(e proctest.Event) bool {
		if e.Event == "room-joined" && e.Name != self && (room == "" || roomOf(e) == room) {
			got[e.PeerID+" "+roomOf(e)] = true
		}
		return len(got) >= want
	})
}

func roomOf(e proctest.Event) string {
	var v struct {
		Room string `json:"room"`
	}
	e.Decode(&v)
	return v.Room
}

// roomsCatchUp: four laptops in #catch; mia is killed (kill -9); alice,
// bob and carol say 100 things between them; carol quits; mia comes back.
// Timed: from mia finding her first member (a "joined" event) until all
// 100 are on her screen (alice's and bob's from their outboxes, carol's
// relayed by them).
func roomsCatchUp(r *report) {
	lab := newLab(4)
	defer closeLab(lab)
	names := []string{"alice", "bob", "carol", "mia"}
	homes := make([]string, len(names))
	ps := make([]*proctest.Proc, len(names))
	for i, nm := range names {
		homes[i] = tempDir("home-" + nm)
		ps[i] = startP2PHome(lab.Hosts[i], nm, homes[i])
	}
	for i, p := range ps {
		waitReady(p)
		others := append(append([]string{}, names[:i]...), names[i+1:]...)
		waitJoined(p, 0, others, time.Now().Add(joinTimeout))
	}
	logf("rooms: catch-up of %d messages from 3 authors, one of whom left", catchUpMessages)
	for i, p := range ps {
		m := p.Mark()
		p.Send("/join #catch")
		must(p, m, msgTimeout, "its own room-joined", func(e proctest.Event) bool {
			return e.Event == "room-joined" && e.Name == names[i]
		})
	}
	for i, p := range ps {
		awaitRoomJoins(p, names[i], 0, "#catch", len(ps)-1, joinTimeout)
	}
	alice, bob, carol, mia := ps[0], ps[1], ps[2], ps[3]
	mia.Kill()
	authors := []*proctest.Proc{alice, bob, carol}
	marks := []int{alice.Mark(), bob.Mark()}
	want := map[string]bool{}
	for i := range catchUpMessages {
		text := fmt.Sprintf("m%03d %s", i, chatText)
		want[text] = true
		authors[i%3].Send("/to #catch " + text)
	}
	// alice and bob have each of carol's before she quits.
	for i, p := range []*proctest.Proc{alice, bob} {
		n := 0
		must(p, marks[i], joinTimeout, "carol's messages", func(e proctest.Event) bool {
			if e.Event == "message" && e.To == "#catch" && e.From == "carol" {
				n++
			}
			return n == catchUpMessages/3
		})
	}
	carol.Stop(5 * time.Second)
	mia = startP2PHome(lab.Hosts[3], "mia", homes[3])
	launched := mia.Started
	found := must(mia, 0, joinTimeout, "a member found", func(e proctest.Event) bool {
		return e.Event == "joined" && (e.Name == "alice" || e.Name == "bob")
	})
	got, dups, fromCarol := map[string]bool{}, 0, 0
	last, err := mia.Await(0, joinTimeout, func(e proctest.Event) bool {
		if e.Event == "message" && e.To == "#catch" && want[e.Text] {
			if got[e.Text] {
				dups++
			}
			got[e.Text] = true
			if e.From == "carol" {
				fromCarol++
			}
		}
		return len(got) == catchUpMessages
	})
	if err != nil {
		tb.Fatalf("rooms: mia back has %d of %d messages (%d of carol's): %v\n%s", len(got), catchUpMessages, fromCarol, err, mia.Report())
	}
	took := last.At.Sub(found.At)
	floor, floorDups := directCatchUp(lab, homes[3], mia, alice, bob)
	r.add(figure{
		Name: fmt.Sprintf("rooms: a member back after missing %d messages from 3 authors (one left), until all are on screen", catchUpMessages), Impl: "p2pchat processes, real mDNS (kill -9, then started again on its home)",
		Value: us(took), Unit: unitMicros, Floor: us(floor), FloorName: fmt.Sprintf("the same member back after missing %d direct messages (/to) from the two others, same run", catchUpMessages),
		Goal: "<= 1 s after it finds a member", Met: took <= time.Second,
		Note: fmt.Sprintf("from its first joined event (%s after launch) to the last of the %d message events; %d of the author who left (relayed by the others, checked against her signature); %d shown twice (floor: %d)",
			fmtDur(found.At.Sub(launched)), catchUpMessages, fromCarol, dups, floorDups),
	})
}

// directCatchUp is the floor of the catch-up: mia killed again, alice and
// bob send her catchUpMessages direct messages between them, mia back;
// the time from her finding one of them to the last message on screen,
// and how many were shown twice. It stops the three.
func directCatchUp(lab *testnet.Lab, home string, mia, alice, bob *proctest.Proc) (time.Duration, int) {
	mia.Kill()
	want := map[string]bool{}
	marks := []int{alice.Mark(), bob.Mark()}
	for i := range catchUpMessages {
		text := fmt.Sprintf("d%03d %s", i, chatText)
		want[text] = true
		[]*proctest.Proc{alice, bob}[i%2].Send("/to mia " + text)
	}
	// Each is on disk, queued for mia, before she comes back.
	for i, p := range []*proctest.Proc{alice, bob} {
		n := 0
		must(p, marks[i], joinTimeout, "its messages queued", func(e proctest.Event) bool {
			if e.Event == "sent" { // on disk, queued for her
				n++
			}
			return n == catchUpMessages/2
		})
	}
	mia = startP2PHome(lab.Hosts[3], "mia", home)
	found := must(mia, 0, joinTimeout, "a peer found", func(e proctest.Event) bool {
		return e.Event == "joined" && (e.Name == "alice" || e.Name == "bob")
	})
	got, dups := map[string]bool{}, 0
	last, err := mia.Await(0, joinTimeout, func(e proctest.Event) bool {
		if e.Event == "message" && want[e.Text] {
			if got[e.Text] {
				dups++
			}
			got[e.Text] = true
		}
		return len(got) == catchUpMessages
	})
	if err != nil {
		tb.Fatalf("rooms: mia back has %d of %d direct messages: %v\n%s", len(got), catchUpMessages, err, mia.Report())
	}
	for _, p := range []*proctest.Proc{alice, bob, mia} {
		p.Stop(5 * time.Second)
	}
	return last.At.Sub(found.At), dups
}

// roomsMemory: one p2pchat in memRooms rooms, each with memMembers-1
// other members (peer.Node and roomsnet.Runner instances in one helper
// process on another host), its RSS once it listed them all; the floor:
// a p2pchat with the same peers online, in no room, in the same run.
func roomsMemory(r *report, sz sizes) {
	lab := newLab(2)
	defer closeLab(lab)
	a, b := lab.Hosts[0], lab.Hosts[1]
	var names []string
	for i := range memMembers - 1 {
		names = append(names, fmt.Sprintf("m%02d", i))
	}
	logf("rooms: memory floor, %d peers online and no room", memMembers-1)
	floorRSS, floorHWM := roomsFloorRSS(a, b, names, sz)
	p := startP2P(a, "roomy")
	ready := waitReady(p)
	id, err := peer.LoadIdentity(p.Home)
	if err != nil {
		tb.Fatalf("reading p2pchat's key: %v", err)
	}
	logf("rooms: memory in %d rooms of %d members", memRooms, memMembers)
	// p2pchat makes the rooms; the others join them.
	for i := range memRooms {
		p.Send(fmt.Sprintf("/join #m%02d", i))
	}
	helper := startRole(b, "room-nodes", "-bind", ipStr(b), "-count", strconv.Itoa(memMembers-1),
		"-rooms", strconv.Itoa(memRooms), "-target", addr(a, ready.Port), "-key", hex.EncodeToString(id.Public[:]))
	waitReady(helper)
	waitJoined(p, 0, names, time.Now().Add(3*joinTimeout))
	want := memRooms * (memMembers - 1)
	seen := map[string]bool{}
	p.Await(0, 6*joinTimeout, func(e proctest.Event) bool {
		if e.Event == "room-joined" && e.Name != "roomy" {
			seen[e.PeerID+" "+roomOf(e)] = true
		}
		return len(seen) >= want
	})
	if len(seen) < want/2 {
		tb.Fatalf("rooms: p2pchat saw %d of %d joins\n%s", len(seen), want, p.Report())
	}
	time.Sleep(sz.settle)
	rss := procfs(proctest.RSS(p.Pid()))
	hwm := procfs(proctest.StatusKB(p.Pid(), "VmHWM"))
	helper.Stop(5 * time.Second)
	p.Stop(5 * time.Second)
	r.add(figure{
		Name: fmt.Sprintf("rooms: memory, RSS in %d rooms of %d members", memRooms, memMembers), Impl: "p2pchat process",
		Value: kbToMB(rss), Unit: unitMB, Floor: kbToMB(floorRSS), FloorName: "the same p2pchat with the same peers online, in no room",
		Goal: "<= 25 MB", Met: kbToMB(rss) <= 25,
		Note: fmt.Sprintf("the %d other members are peer.Node and roomsnet.Runner instances in one helper process on another host, each in all %d rooms; VmRSS %v after p2pchat saw %d of the %d joins; peak VmHWM %.1f MB (floor: %.1f MB)",
			memMembers-1, memRooms, sz.settle, len(seen), want, kbToMB(hwm), kbToMB(floorHWM)),
	})
}

// roomsFloorRSS is the RSS (and peak) of a p2pchat on a with the room
// members' helper on b greeting it, none of them in a room.
func roomsFloorRSS(a, b *testnet.Host, names []string, sz sizes) (rss, hwm int64) {
	p := startP2P(a, "floor")
	ready := waitReady(p)
	id, err := peer.LoadIdentity(p.Home)
	if err != nil {
		tb.Fatalf("reading p2pchat's key: %v", err)
	}
	helper := startRole(b, "room-nodes", "-bind", ipStr(b), "-count", strconv.Itoa(len(names)),
		"-rooms", "0", "-target", addr(a, ready.Port), "-key", hex.EncodeToString(id.Public[:]))
	waitReady(helper)
	waitJoined(p, 0, names, time.Now().Add(3*joinTimeout))
	time.Sleep(sz.settle)
	rss = procfs(proctest.RSS(p.Pid()))
	hwm = procfs(proctest.StatusKB(p.Pid(), "VmHWM"))
	helper.Stop(5 * time.Second)
	p.Stop(5 * time.Second)
	return rss, hwm
}

// roleRoomMembers runs count nodes, each with a rooms runner (in memory),
// that greet -target and join rooms #m00, #m01, ...
func roleRoomMembers(args []string) {
	fs := flag.NewFlagSet("room-nodes", flag.ExitOnError)
	bind := fs.String("bind", "", "lab IP")
	count := fs.Int("count", 1, "nodes")
	nRooms := fs.Int("rooms", 1, "rooms each joins")
	target := fs.String("target", "", "ip:port of a peer to greet")
	key := fs.String("key", "", "that peer's public key (hex)")
	life := fs.Duration("life", 30*time.Minute, "exit after this long")
	fs.Parse(args)
	type member struct {
		node *peer.Node
		run  *roomsnet.Runner
	}
	var ms []member
	for i := range *count {
		id, err := peer.NewIdentity()
		if err != nil {
			fatalRole("%v", err)
		}
		tr, err := peer.Listen(peer.NetConfig{Bind: labAddr(*bind)})
		if err != nil {
			fatalRole("%v", err)
		}
		name := fmt.Sprintf("m%02d", i)
		n, err := peer.New(peer.Config{Name: name, Host: "bench", Identity: id}, tr)
		if err != nil {
			fatalRole("%v", err)
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			fatalRole("%v", err)
		}
		run, err := roomsnet.New(roomsnet.Config{Node: n, Signer: rooms.NewSigner(id.Public, priv), Nick: name})
		if err != nil {
			fatalRole("%v", err)
		}
		rest := run.Filter(n.Events())
		go func() {
			for e := range rest {
				if e.Idx != 0 {
					n.Shown(e.Idx)
				}
			}
		}()
		go func() {
			for range run.Events() {
			}
		}()
		ms = append(ms, member{n, run})
	}
	emit(map[string]any{"event": "ready", "port": ms[0].node.Port()})
	if *target != "" {
		ap, k := labAddrPort(*target), parseKey(*key)
		// A few at a time: a node answers at most 10 strangers a second
		// from one /24 (README, table of bounds), and the lab is one.
		for i, m := range ms {
			m.node.Discovered(k, ap)
			if i%8 == 7 {
				time.Sleep(time.Second)
			}
		}
	}
	for _, m := range ms {
		for j := range *nRooms {
			if _, err := m.run.Join(fmt.Sprintf("#m%02d", j), false); err != nil {
				fatalRole("join: %v", err)
			}
		}
	}
	<-untilStdinEOF(*life)
	for _, m := range ms {
		m.node.Close()
		m.run.Close()
	}
}
