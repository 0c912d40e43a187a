package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// wireSizes measures, on peer's in-memory network (no sockets), how large
// the datagrams of one chat message with a textLen-byte text and of its
// acknowledgement are, so that the raw floors send exactly as many bytes
// as p2pchat whatever the current wire format.
func wireSizes() (msg, ack int, err error) {
	mn := peer.NewMemNet(1)
	ta, tb := mn.Listen(), mn.Listen()
	ia, err := peer.NewIdentity()
	if err != nil {
		return 0, 0, err
	}
	ib, err := peer.NewIdentity()
	if err != nil {
		return 0, 0, err
	}
	a, err := peer.New(peer.Config{Name: "a", Host: "a", Identity: ia}, ta)
	if err != nil {
		return 0, 0, err
	}
	defer a.Close()
	b, err := peer.New(peer.Config{Name: "b", Host: "b", Identity: ib}, tb)
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()
	go func() {
		for range b.Events() {
		}
	}()
	delivered := make(chan struct{}, 1)
	go func() {
		for e := range a.Events() {
			if e.Kind == peer.EvDelivered {
				select {
				case delivered <- struct{}{}:
				default:
				}
			}
		}
	}()
	a.Discovered(ib.Public, tb.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.WaitPeer(ctx, "b"); err != nil {
		return 0, 0, err
	}
	var mu sync.Mutex
	var ab, ba []int
	mn.Tap(func(from, to netip.AddrPort, p []byte, tcp bool) {
		mu.Lock()
		defer mu.Unlock()
		if tcp {
			return
		}
		if from == ta.Addr() {
			ab = append(ab, len(p))
		} else {
			ba = append(ba, len(p))
		}
	})
	pb, err := a.Resolve("b")
	if err != nil {
		return 0, 0, err
	}
	// Other packets flow meanwhile (the peer exchange is sent again a few
	// times after the handshake), so the first datagram after the send
	// and the last before its acknowledgement arrives are taken in several
	// rounds, and the size seen most often wins.
	const rounds = 7
	msgs, acks := map[int]int{}, map[int]int{}
	for range rounds {
		mu.Lock()
		na, nb := len(ab), len(ba)
		mu.Unlock()
		if _, err := a.Send(pb.ID, chatText); err != nil {
			return 0, 0, err
		}
		select {
		case <-delivered:
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("in-memory message not acknowledged")
		}
		mu.Lock()
		if len(ab) > na && len(ba) > nb {
			msgs[ab[na]]++
			acks[ba[len(ba)-1]]++
		}
		mu.Unlock()
	}
	if len(msgs) == 0 {
		return 0, 0, fmt.Errorf("no packets captured")
	}
	return mostSeen(msgs), mostSeen(acks), nil
}

// mostSeen is the key with the largest count (the smallest such key).
func mostSeen(counts map[int]int) int {
	best, n := 0, -1
	for k, c := range counts {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return best
}
