package peer

import (
	"testing"
	"testing/synctest"
)

// TestMemTransportCloseJoinsHandler: Close returns only once the handler
// Serve runs has returned, as NetTransport's does: a node's Close then
// knows no packet is still being handled. (Before, Close returned while a
// handler ran on.)
func TestMemTransportCloseJoinsHandler(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(1)
		a, b := mn.Listen(), mn.Listen()
		started, release := make(chan struct{}), make(chan struct{})
		b.Serve(func(Packet) {
			close(started)
			<-release
		})
		if err := a.SendUDP(b.Addr(), []byte("x")); err != nil {
			t.Fatal(err)
		}
		<-started
		closed := make(chan struct{})
		go func() {
			b.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Error("Close returned while the handler was still running")
		default:
		}
		close(release)
		<-closed
		a.Close()
	})
}
