package roomsnet

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// TestAdvertFitsDatagrams: a node in 32 rooms tells a peer it meets of
// all of them (its /rooms lists the 32) in adverts that each fit a
// datagram: no TCP connection is opened for them (before: one advert of
// 1,633 bytes, over TCP).
func TestAdvertFitsDatagrams(t *testing.T) {
	t.Parallel() // on virtual time (its own bubble), or files only
	synctest.Test(t, func(t *testing.T) {
		mn := peer.NewMemNet(23)
		ms := startAll(t, mn, "alice", "bob")
		a, b := ms[0], ms[1]
		for i := range rooms.MaxRooms {
			joinRoom(t, a, fmt.Sprintf("#lunch-room-%02d", i), false)
		}
		meet(a, b)
		n := 0
		if !eventually(10*time.Second, func() bool {
			n = 0
			for _, in := range b.run.Rooms() {
				if !in.Joined && in.Members == 1 {
					n++
				}
			}
			return n == rooms.MaxRooms
		}) {
			t.Fatalf("bob heard of %d rooms of %d", n, rooms.MaxRooms)
		}
		if _, tcp := a.tr.Sent(); tcp != 0 {
			t.Fatalf("alice sent %d packets over TCP", tcp)
		}
	})
}
