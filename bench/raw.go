package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// The raw floors: the least any UDP messenger could do on the same bridge.
// Datagrams have the size of p2pchat's (measured by wireSizes at start and
// passed to the roles with -size and -ack): a message with a textLen-byte
// text and its acknowledgement.
const textLen = 100

// msgSize and ackSize are the datagram sizes (flags of the roles).
var (
	msgSize = 228
	ackSize = 119
)

// sizeFlags adds -size and -ack to a role's flags.
func sizeFlags(fs *flag.FlagSet) {
	fs.IntVar(&msgSize, "size", msgSize, "message datagram bytes")
	fs.IntVar(&ackSize, "ack", ackSize, "acknowledgement datagram bytes")
}

// chatText is the 100-byte text every benchmark message carries.
var chatText = strings.Repeat("0123456789", textLen/10)

// roleStat is what a role reports in its "result" line. Times in µs.
type roleStat struct {
	N     int     `json:"n"`               // samples (messages, rounds)
	Lost  int     `json:"lost"`            // timed out
	P50   float64 `json:"p50"`             // µs
	P90   float64 `json:"p90"`             // µs
	P99   float64 `json:"p99"`             // µs
	Mean  float64 `json:"mean"`            // µs
	Max   float64 `json:"max"`             // µs
	Rate  float64 `json:"rate"`            // per second
	Secs  float64 `json:"secs"`            // measured duration
	Retx  int     `json:"retx"`            // retransmissions
	Extra string  `json:"extra,omitempty"` // free text

	Samples []int64 `json:"samples,omitempty"` // latencies, ns, for merging rounds
}

// emit prints one JSON line for the parent.
func emit(v any) {
	b, _ := jsonMarshal(v)
	os.Stdout.Write(append(b, '\n'))
}

func emitResult(s *roleStat) { emit(map[string]any{"event": "result", "result": s}) }

// untilStdinEOF returns a channel closed when the parent closes our stdin
// (or dies) or life passes: every server role ends by itself.
func untilStdinEOF(life time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := os.Stdin.Read(buf); err != nil {
				once.Do(func() { close(ch) })
				return
			}
		}
	}()
	go func() {
		time.Sleep(life)
		once.Do(func() { close(ch) })
	}()
	return ch
}

// labAddr refuses any address outside the lab: roles only ever bind or
// send to 10.77.0.0/16 (inside namespaces this program created).
func labAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || !netip.MustParsePrefix("10.77.0.0/16").Contains(a) {
		fatalRole("address %q is not a lab address (10.77.x.y)", s)
	}
	return a
}

func labAddrPort(s string) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		fatalRole("bad address %q: %v", s, err)
	}
	labAddr(ap.Addr().String())
	return ap
}

func fatalRole(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench role: "+f+"\n", a...)
	os.Exit(1)
}

func listenUDP(bind string, port int) *net.UDPConn {
	a := labAddr(bind)
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port))))
	if err != nil {
		fatalRole("listen %s:%d: %v", bind, port, err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	return c
}

// roleUDPEcho answers every datagram with its first ackSize bytes (the
// sequence number is in the first 8): the receiver of every raw floor.
func roleUDPEcho(args []string) {
	fs := flag.NewFlagSet("udp-echo", flag.ExitOnError)
	sizeFlags(fs)
	bind := fs.String("bind", "", "lab IP")
	port := fs.Int("port", 9000, "UDP port")
	life := fs.Duration("life", 30*time.Minute, "exit after this long")
	fs.Parse(args)
	c := listenUDP(*bind, *port)
	emit(map[string]any{"event": "ready", "port": *port})
	go func() {
		<-untilStdinEOF(*life)
		c.Close()
	}()
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.WriteToUDPAddrPort(buf[:min(n, ackSize)], from)
	}
}

// roleUDPRTT sends n datagrams one at a time and times each round trip.
func roleUDPRTT(args []string) {
	fs := flag.NewFlagSet("udp-rtt", flag.ExitOnError)
	sizeFlags(fs)
	bind := fs.String("bind", "", "lab IP")
	to := fs.String("to", "", "echo server ip:port")
	n := fs.Int("n", 10000, "round trips")
	maxDur := fs.Duration("max", 2*time.Minute, "stop after this long")
	fs.Parse(args)
	c := listenUDP(*bind, 0)
	dst := labAddrPort(*to)
	buf := make([]byte, msgSize)
	in := make([]byte, 2048)
	var samples []time.Duration
	lost := 0
	end := time.Now().Add(*maxDur)
	for i := 1; i <= *n && time.Now().Before(end); i++ {
		binary.BigEndian.PutUint64(buf, uint64(i))
		t0 := time.Now()
		if _, err := c.WriteToUDPAddrPort(buf, dst); err != nil {
			fatalRole("send: %v", err)
		}
		c.SetReadDeadline(t0.Add(time.Second))
		for {
			m, _, err := c.ReadFromUDPAddrPort(in)
			if err != nil {
				lost++
				break
			}
			if m >= 8 && binary.BigEndian.Uint64(in) == uint64(i) {
				samples = append(samples, time.Since(t0))
				break
			}
		}
	}
	s := summarize(samples)
	s.Lost = lost
	emitResult(s)
}

// roleUDPFanout sends one datagram to each of several echo servers and
// waits for every answer, rounds times: the raw floor of /all.
func roleUDPFanout(args []string) {
	fs := flag.NewFlagSet("udp-fanout", flag.ExitOnError)
	sizeFlags(fs)
	bind := fs.String("bind", "", "lab IP")
	to := fs.String("to", "", "comma-separated echo servers ip:port")
	rounds := fs.Int("rounds", 50, "rounds")
	fs.Parse(args)
	c := listenUDP(*bind, 0)
	var dsts []netip.AddrPort
	for _, s := range strings.Split(*to, ",") {
		dsts = append(dsts, labAddrPort(s))
	}
	buf := make([]byte, msgSize)
	in := make([]byte, 2048)
	var samples []time.Duration
	lost := 0
	for r := 1; r <= *rounds; r++ {
		t0 := time.Now()
		for i, d := range dsts {
			binary.BigEndian.PutUint64(buf, uint64(r)<<16|uint64(i))
			c.WriteToUDPAddrPort(buf, d)
		}
		got := map[uint64]bool{}
		c.SetReadDeadline(t0.Add(time.Second))
		for len(got) < len(dsts) {
			m, _, err := c.ReadFromUDPAddrPort(in)
			if err != nil {
				break
			}
			if v := binary.BigEndian.Uint64(in); m >= 8 && v>>16 == uint64(r) {
				got[v] = true
			}
		}
		if len(got) < len(dsts) {
			lost++
			continue
		}
		samples = append(samples, time.Since(t0))
		time.Sleep(5 * time.Millisecond) // rounds apart, as /all commands are
	}
	s := summarize(samples)
	s.Lost = lost
	emitResult(s)
}

// rawWindow is the floors' windowed sender: datagrams numbered from 1, up to
// window unacknowledged, each sent again after rto until the echo server
// answers it. Answers free the window from the reading goroutine itself,
// with no hand-off to another.
type rawWindow struct {
	c        *net.UDPConn
	dst      netip.AddrPort
	window   int
	rto      time.Duration
	buf      []byte
	mu       sync.Mutex
	inflight map[uint64]time.Time
	wanted   uint64 // datagrams asked for (add)
	next     uint64 // datagrams sent
	acked    int
	retx     int
}

// windowFlags adds the window's flags and returns a constructor.
func windowFlags(fs *flag.FlagSet) func() *rawWindow {
	sizeFlags(fs)
	bind := fs.String("bind", "", "lab IP")
	to := fs.String("to", "", "echo server ip:port")
	window := fs.Int("window", 64, "datagrams in flight")
	rto := fs.Duration("rto", 100*time.Millisecond, "retransmission timeout")
	return func() *rawWindow {
		return &rawWindow{c: listenUDP(*bind, 0), dst: labAddrPort(*to), window: *window, rto: *rto,
			buf: make([]byte, msgSize), inflight: map[uint64]time.Time{}}
	}
}

// start runs the answer reader, which calls onAck for each first answer
// (outside the lock), and the retransmission ticker.
func (w *rawWindow) start(onAck func(seq uint64)) {
	go func() {
		in := make([]byte, 2048)
		for {
			m, _, err := w.c.ReadFromUDPAddrPort(in)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil || m < 8 {
				continue
			}
			seq := binary.BigEndian.Uint64(in)
			w.mu.Lock()
			_, ok := w.inflight[seq]
			if ok {
				delete(w.inflight, seq)
				w.acked++
			}
			w.fill()
			w.mu.Unlock()
			if ok && onAck != nil {
				onAck(seq)
			}
		}
	}()
	go func() {
		for range time.Tick(w.rto / 4) {
			now := time.Now()
			w.mu.Lock()
			for seq, at := range w.inflight {
				if now.Sub(at) > w.rto {
					w.send(seq, now)
					w.retx++
				}
			}
			w.mu.Unlock()
		}
	}()
}

// add asks for k more datagrams.
func (w *rawWindow) add(k uint64) {
	w.mu.Lock()
	w.wanted += k
	w.fill()
	w.mu.Unlock()
}

// fill sends what was asked for as far as the window allows (w.mu held).
func (w *rawWindow) fill() {
	for w.next < w.wanted && len(w.inflight) < w.window {
		w.next++
		w.send(w.next, time.Now())
	}
}

func (w *rawWindow) send(seq uint64, now time.Time) { // w.mu held
	binary.BigEndian.PutUint64(w.buf, seq)
	w.inflight[seq] = now
	w.c.WriteToUDPAddrPort(w.buf, w.dst)
}

// roleUDPWindow is the raw throughput floor: a sender keeping up to window
// datagrams unacknowledged, each acknowledged by the echo server,
// retransmitted after rto, for dur.
func roleUDPWindow(args []string) {
	fs := flag.NewFlagSet("udp-window", flag.ExitOnError)
	mk := windowFlags(fs)
	dur := fs.Duration("dur", 10*time.Second, "how long to send")
	fs.Parse(args)
	w := mk()
	w.start(nil)
	t0 := time.Now()
	w.add(math.MaxUint64)
	<-time.After(*dur)
	w.mu.Lock()
	n, retx := w.acked, w.retx
	w.wanted = w.next // stop
	w.mu.Unlock()
	secs := time.Since(t0).Seconds()
	w.c.Close()
	emitResult(&roleStat{N: n, Rate: float64(n) / secs, Secs: secs, Retx: retx})
}

// roleReady is the floor of start-up, memory and idle CPU: a Go program
// (this one) that prints a ready line and then does nothing.
func roleReady(args []string) {
	fs := flag.NewFlagSet("ready", flag.ExitOnError)
	life := fs.Duration("life", 30*time.Minute, "exit after this long")
	fs.Parse(args)
	emit(map[string]any{"event": "ready"})
	<-untilStdinEOF(*life)
}

// rolePipeUDP is the floor of the process figures: the least a messenger
// driven like p2pchat -json could do. Each line read from standard input
// asks the window for one datagram to the echo server; each answer prints
// one {"event":"delivered"} line. No parsing, encryption, history or names.
func rolePipeUDP(args []string) {
	fs := flag.NewFlagSet("pipe-udp", flag.ExitOnError)
	mk := windowFlags(fs)
	fs.Parse(args)
	w := mk()
	w.start(func(seq uint64) { fmt.Fprintf(os.Stdout, "{\"event\":\"delivered\",\"id\":%d}\n", seq) })
	emit(map[string]any{"event": "ready"})
	r := bufio.NewReader(os.Stdin)
	for {
		if _, err := r.ReadSlice('\n'); err != nil && err != bufio.ErrBufferFull {
			return
		}
		w.add(1)
	}
}
