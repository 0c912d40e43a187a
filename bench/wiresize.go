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
	if _, err := a.Send(pb.ID, chatText); err != nil {
		return 0, 0, err
	}
	select {
	case <-delivered:
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("in-memory message not acknowledged")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ab) == 0 || len(ba) == 0 {
		return 0, 0, fmt.Errorf("no packets captured")
	}
	return ab[0], ba[0], nil
}
