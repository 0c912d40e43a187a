package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// Roles that use the peer.Node library directly over real UDP (peer.Listen)
// between lab namespaces: the protocol's cost without p2pchat's process,
// stdin and JSON around it.

func parseKey(s string) [32]byte {
	var k [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		fatalRole("bad key %q", s)
	}
	copy(k[:], b)
	return k
}

func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fatalRole("cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fatalRole("cpuprofile: %v", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// newNode starts a node on bind:port and returns it with its public key (hex).
func newNode(name, bind string, port int) (*peer.Node, string) {
	id, err := peer.NewIdentity()
	if err != nil {
		fatalRole("%v", err)
	}
	tr, err := peer.Listen(peer.NetConfig{Bind: labAddr(bind), Port: port})
	if err != nil {
		fatalRole("%v", err)
	}
	n, err := peer.New(peer.Config{Name: name, Host: "bench", Identity: id}, tr)
	if err != nil {
		fatalRole("%v", err)
	}
	return n, hex.EncodeToString(id.Public[:])
}

// roleNodeRecv runs count nodes on one IP (ports port, port+1, ...; 0 picks
// free ones). With -target and -key every node says hello to that peer, as
// mDNS discovery would make it. It prints the first node's port and key.
func roleNodeRecv(args []string) {
	fs := flag.NewFlagSet("node-recv", flag.ExitOnError)
	bind := fs.String("bind", "", "lab IP")
	port := fs.Int("port", 0, "first port (0: any)")
	count := fs.Int("count", 1, "nodes")
	target := fs.String("target", "", "ip:port of a peer to greet")
	key := fs.String("key", "", "that peer's public key (hex)")
	life := fs.Duration("life", 30*time.Minute, "exit after this long")
	prof := fs.String("cpuprofile", "", "write a CPU profile")
	fs.Parse(args)
	stopProf := startProfile(*prof)
	var nodes []*peer.Node
	firstKey := ""
	var received atomic.Int64
	for i := 0; i < *count; i++ {
		p := 0
		if *port != 0 {
			p = *port + i
		}
		n, k := newNode(fmt.Sprintf("r%02d", i), *bind, p)
		if i == 0 {
			firstKey = k
		}
		nodes = append(nodes, n)
		go func() {
			for e := range n.Events() {
				if e.Kind == peer.EvMessage {
					received.Add(1)
				}
			}
		}()
	}
	if *target != "" {
		ap, k := labAddrPort(*target), parseKey(*key)
		for _, n := range nodes {
			n.Discovered(k, ap)
		}
	}
	emit(map[string]any{"event": "ready", "port": nodes[0].Port(), "key": firstKey})
	<-untilStdinEOF(*life)
	stopProf()
	for _, n := range nodes {
		n.Close()
	}
	emitResult(&roleStat{N: int(received.Load())})
}

// roleNodeSend runs one node that greets the receiver (-to, -key) and then
// measures either latency (n messages one at a time, Send to EvDelivered)
// or throughput (acknowledged messages per second for dur, keeping up to
// pending messages queued; the node itself keeps 64 in flight).
func roleNodeSend(args []string) {
	fs := flag.NewFlagSet("node-send", flag.ExitOnError)
	bind := fs.String("bind", "", "lab IP")
	to := fs.String("to", "", "receiver ip:port")
	key := fs.String("key", "", "receiver's public key (hex)")
	mode := fs.String("mode", "latency", "latency or throughput")
	count := fs.Int("n", 10000, "latency: messages")
	dur := fs.Duration("dur", 10*time.Second, "throughput: duration")
	pending := fs.Int("pending", 512, "throughput: messages queued at most")
	maxDur := fs.Duration("max", 2*time.Minute, "stop after this long")
	prof := fs.String("cpuprofile", "", "write a CPU profile")
	fs.Parse(args)

	n, _ := newNode("sender", *bind, 0)
	defer n.Close()
	// Latency: the measuring loop reads the events itself, as an
	// application would. Throughput: a reader counts them and wakes the
	// sending loop when the queue has room.
	var delivered atomic.Int64
	wake := make(chan struct{}, 1)
	if *mode != "latency" {
		go func() {
			for e := range n.Events() {
				if e.Kind == peer.EvDelivered {
					delivered.Add(1)
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	n.Discovered(parseKey(*key), labAddrPort(*to))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := n.WaitPeer(ctx, "")
	cancel()
	if err != nil {
		fatalRole("receiver not found: %v", err)
	}
	id := n.Peers()[0].ID // Send addresses peers by id

	stopProf := startProfile(*prof)
	defer stopProf()
	end := time.Now().Add(*maxDur)
	switch *mode {
	case "latency":
		var samples []time.Duration
		lost := 0
		events := n.Events()
		for i := 0; i < *count && time.Now().Before(end); i++ {
			t0 := time.Now()
			sent, err := n.Send(id, chatText)
			if err != nil {
				fatalRole("send: %v", err)
			}
			timeout := time.NewTimer(5 * time.Second)
		wait:
			for {
				select {
				case e := <-events:
					if e.Kind == peer.EvDelivered && e.ID == sent[0] {
						samples = append(samples, time.Since(t0))
						break wait
					}
				case <-timeout.C:
					lost++
					break wait
				}
			}
			timeout.Stop()
		}
		s := summarize(samples)
		s.Lost = lost
		s.Retx = int(n.Stats().Retransmits)
		emitResult(s)
	case "throughput":
		t0 := time.Now()
		stop := t0.Add(*dur)
		sent := int64(0)
		for time.Now().Before(stop) {
			for sent-delivered.Load() < int64(*pending) {
				if _, err := n.Send(id, chatText); err != nil {
					if errors.Is(err, peer.ErrQueueFull) {
						break
					}
					fatalRole("send: %v", err)
				}
				sent++
			}
			select {
			case <-wake:
			case <-time.After(10 * time.Millisecond):
			}
		}
		got := delivered.Load()
		secs := time.Since(t0).Seconds()
		emitResult(&roleStat{N: int(got), Rate: float64(got) / secs, Secs: secs, Retx: int(n.Stats().Retransmits)})
		// Let the queue drain before Close says goodbye (bounded).
		fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
		n.Flush(fctx)
		fcancel()
	default:
		fatalRole("unknown mode %q", *mode)
	}
}
