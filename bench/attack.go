package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/p2pchat/p2pchat/internal/hostile"
	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// The attack phase: one p2pchat node ("a") under each cheap attack of the
// attack review (shared/findings/attacks-9372005.md) while a real peer
// ("b") chats with it. Each attack runs in a fresh lab of three laptops:
// a, b and a stranger's laptop that attacks a. The same node is first
// measured unloaded, then under the attack, in the same run:
//
//	CPU       a's utime+stime over the window, as % of one core
//	RSS       a's VmRSS at the end of each window; the growth is
//	          attacked minus unloaded
//	chat      b sends `/to a` every chatGap, timed to `delivered`
//	          (a message not delivered within msgTimeout counts as
//	          msgTimeout)
//	through   after each window: a 5,000-character message b to a and a
//	          1 MiB file b to a (a accepts it with -accept-from b)
//
// Between the windows b is started again with the same key, so that the
// long message and the file need new TCP connections under the attack.
//
// The attacker is this program re-executed with -role=attack in the
// stranger's namespace; it prints "ready" once the attack is in place.

// Attack rates and sizes (findings 2, 5-9).
const (
	mdnsQueryRate   = 80   // crafted mDNS queries a second (finding 2)
	mdnsQuestions   = 745  // questions in one crafted query
	mdnsKnown       = 372  // known answers in one crafted query
	idleConns       = 300  // idle TCP connections to the chat port (finding 7)
	prefixConns     = 32   // connections that send only "p2pf", reopened when closed (finding 6)
	probeRate       = 2000 // spoofed probes a second (finding 8)
	probeSources    = 4064 // spoofed source addresses, cycled (more than the node's 1,024 remembered)
	badOfferRate    = 1000 // offers with a refused name a second (finding 5)
	undecidedOffers = 32   // offers left undecided, 8 per throwaway key (finding 9)
	longText        = 5000 // characters of the long message
	throughFile     = 1 << 20
	throughTimeout  = 20 * time.Second // for the long message and the file
	attackReady     = time.Minute      // the attacker's set-up
)

// attack is one attack of the phase.
type attack struct {
	kind  string // -kind of the attack role
	title string // for the figures
	how   string // what the stranger does, for the notes
}

var attacks = []attack{
	{"mdns", "crafted mDNS queries", fmt.Sprintf("%d queries a second of %d bytes to a's port 5353 (%d PTR questions for _p2pchat._udp.local. with compressed names, %d NULL known answers; finding 2)",
		mdnsQueryRate, len(craftedQuery()), mdnsQuestions, mdnsKnown)},
	{"tcp", "idle TCP sockets", fmt.Sprintf("%d idle TCP connections to a's chat port (each reopened 1 s after a closes it) and %d that send only \"p2pf\" (the data-connection prefix) and are reopened as soon as a closes them (findings 6, 7)",
		idleConns, prefixConns)},
	{"probes", "spoofed probes", fmt.Sprintf("%d probes a second naming b's key (a key in a's book, public in b's mDNS record), from %d spoofed source addresses in 10.77.0.0/16 (raw socket in the stranger's namespace; finding 8); those addresses are on-link in the lab (its laptops route 10.77.0.0/16 on eth0) and belong to no laptop, so a's answers to them wait for ARP that never answers",
		probeRate, probeSources)},
	{"offers", "offer floods", fmt.Sprintf("an authenticated stranger (internal/hostile) sends %d offers a second of a file named \"/\" + 500 x \\x01 (refused), after 4 throwaway keys left %d offers undecided (findings 5, 9)",
		badOfferRate, undecidedOffers)},
}

// window is what one measuring window saw of the node.
type window struct {
	cpu   float64 // % of one core
	rss   int64   // kB, VmRSS at the end
	chat  *roleStat
	lost  int
	msg   string // the long message: "" if delivered
	msgT  time.Duration
	file  string // the file: "" if it arrived
	fileT time.Duration
}

// phaseAttack runs every attack, each in its own lab.
func phaseAttack(r *report, sz sizes, _ string) {
	for _, at := range attacks {
		if stopped() {
			return
		}
		logf("attack: %s", at.title)
		func() {
			defer func() {
				if v := recover(); v != nil {
					le, ok := v.(labError)
					if !ok {
						panic(v)
					}
					logf("attack %s failed: %s", at.kind, le.msg)
					r.failures = append(r.failures, fmt.Sprintf("attack %s: %s", at.kind, firstLine(le.msg)))
				}
			}()
			underAttack(r, sz, at)
		}()
	}
}

func underAttack(r *report, sz sizes, at attack) {
	lab := newLab(3)
	defer closeLab(lab)
	a, b, c := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	dl := tempDir("attack-downloads")
	src := makeFile(tempDir("attack-src"), throughFile)
	homeB := tempDir("home-b")
	pa := startP2P(a, "a", "-downloads", dl, "-accept-from", "b")
	pb := proctest.P2PChat{Bin: p2pBin, Name: "b", Home: homeB, StderrLimit: stderrLimit}.Start(tb, b)
	waitReady(pa)
	waitReady(pb)
	waitJoined(pa, 0, []string{"b"}, time.Now().Add(joinTimeout))
	waitJoined(pb, 0, []string{"a"}, time.Now().Add(joinTimeout))
	idB, err := peer.LoadIdentity(homeB)
	if err != nil {
		tb.Fatalf("b's key: %v", err)
	}
	// A first message pins "b" to b's key, so that -accept-from b holds.
	m := pb.Mark()
	ids := pb.SendTo(tb, "a", chatText)
	must(pb, m, msgTimeout, "delivered", proctest.IsDelivered("a", ids[0]))

	calm := measureWindow(pa, pb, sz.attackWindow)
	calm.through(pb, src, dl)
	logf("  unloaded: CPU %.1f%%, RSS %.1f MiB, chat p50 %s p99 %s, message %s, file %s",
		calm.cpu, float64(calm.rss)/1024, fmtMicros(calm.chat.P50), fmtMicros(calm.chat.P99), okOr(calm.msg), okOr(calm.file))

	// b starts again (same key): the long message and the file then need
	// new TCP connections, as for a peer that arrives during the attack,
	// instead of reusing the one the unloaded message left open.
	pb.Stop(5 * time.Second)
	pb = proctest.P2PChat{Bin: p2pBin, Name: "b", Home: homeB, StderrLimit: stderrLimit}.Start(tb, b)
	waitReady(pb)
	waitJoined(pb, 0, []string{"a"}, time.Now().Add(joinTimeout))
	for deadline := time.Now().Add(joinTimeout); ; {
		if _, ok := chatOnce(pb, "a", chatText, msgTimeout); ok {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("b, started again, could not chat with a\n%s\n%s", pa.Report(), pb.Report())
		}
	}

	atk := startRole(c, "attack", "-kind", at.kind, "-bind", ipStr(c), "-target", ipStr(a),
		"-port", strconv.Itoa(chatPort), "-key", hex.EncodeToString(idB.Public[:]))
	must(atk, 0, attackReady, "ready (the attack in place)", proctest.IsKind("ready"))
	hit := measureWindow(pa, pb, sz.attackWindow)
	hit.through(pb, src, dl)
	atk.CloseStdin()
	res, rerr := atk.Await(0, 10*time.Second, proctest.IsKind("result"))
	attackerSaid := ""
	if rerr == nil {
		var v struct {
			Result *roleStat `json:"result"`
		}
		if res.Decode(&v) == nil && v.Result != nil {
			attackerSaid = "; the stranger " + v.Result.Extra
		}
	}
	atk.Stop(time.Second)
	logf("  under attack: CPU %.1f%%, RSS %.1f MiB, chat p50 %s p99 %s (%d lost), message %s, file %s%s",
		hit.cpu, float64(hit.rss)/1024, fmtMicros(hit.chat.P50), fmtMicros(hit.chat.P99), hit.lost, okOr(hit.msg), okOr(hit.file), attackerSaid)
	pa.Stop(5 * time.Second)
	pb.Stop(5 * time.Second)

	name := func(what string) string { return "under " + at.title + ": " + what }
	impl := "p2pchat process a, while b chats with it"
	unloaded := "the same node unloaded, same run"
	shared := fmt.Sprintf("%v windows; %s%s; the 2 cores were shared with other engineers' builds and tests", sz.attackWindow, at.how, attackerSaid)
	growth := float64(hit.rss-calm.rss) / 1024
	r.add(figure{Phase: "attack", Name: name("CPU of a"), Impl: impl, Value: hit.cpu, Unit: unitPct, Floor: calm.cpu, FloorName: unloaded,
		Goal: "< 10% of a core", Met: hit.cpu < 10, Note: "utime+stime over the window; " + shared})
	r.add(figure{Phase: "attack", Name: name("RSS growth of a"), Impl: impl, Value: growth, Unit: unitMiB, Floor: -1, FloorName: unloaded,
		Goal: "< 16 MiB", Met: growth < 16,
		Note: fmt.Sprintf("VmRSS %.1f MiB at the end of the attacked window, %.1f MiB at the end of the unloaded one", float64(hit.rss)/1024, float64(calm.rss)/1024)})
	r.add(figure{Phase: "attack", Name: name("chat latency p50"), Impl: "p2pchat b to a (`/to a` to `delivered`)", Value: hit.chat.P50, Unit: unitMicros,
		Floor: calm.chat.P50, FloorName: unloaded, Goal: "<= 2x unloaded", Met: hit.chat.P50 <= 2*calm.chat.P50,
		Note: fmt.Sprintf("%d messages one every %v (%d unloaded), %d not delivered within %v (counted as %v), %d unloaded",
			hit.chat.N, chatGap, calm.chat.N, hit.lost, msgTimeout, msgTimeout, calm.lost)})
	r.add(figure{Phase: "attack", Name: name("chat latency p99"), Impl: "p2pchat b to a (`/to a` to `delivered`)", Value: hit.chat.P99, Unit: unitMicros,
		Floor: calm.chat.P99, FloorName: unloaded, Goal: "stated", Stated: true,
		Note: fmt.Sprintf("max %s (unloaded %s)", fmtMicros(hit.chat.Max), fmtMicros(calm.chat.Max))})
	r.add(figure{Phase: "attack", Name: name(fmt.Sprintf("a %d-character message b to a", longText)), Impl: "p2pchat b to a",
		Text: throughText(hit.msg, hit.msgT), Floor: -1, FloorText: throughText(calm.msg, calm.msgT), FloorName: unloaded,
		Goal: "gets through", Met: hit.msg == "", Note: fmt.Sprintf("sent after the window, the attack still on; given %v", throughTimeout)})
	r.add(figure{Phase: "attack", Name: name("a 1 MiB file b to a"), Impl: "p2pchat b to a (-accept-from b)",
		Text: throughText(hit.file, hit.fileT), Floor: -1, FloorText: throughText(calm.file, calm.fileT), FloorName: unloaded,
		Goal: "gets through", Met: hit.file == "", Note: fmt.Sprintf("`/send a` to b's last `transfer-done`, after the message; given %v", throughTimeout)})
}

func okOr(s string) string {
	if s == "" {
		return "through"
	}
	return "NOT through (" + s + ")"
}

func throughText(fail string, took time.Duration) string {
	if fail == "" {
		return "through in " + fmtDur(took)
	}
	return "not through: " + fail
}

// measureWindow chats from pb to pa for d and reads pa's CPU and memory.
func measureWindow(pa, pb *proctest.Proc, d time.Duration) *window {
	w := &window{}
	pid := pa.Pid()
	c0 := procfs(proctest.CPUTime(pid))
	t0 := time.Now()
	var lats []time.Duration
	for time.Since(t0) < d {
		took, ok := chatOnce(pb, "a", chatText, msgTimeout)
		if !ok {
			w.lost++
			took = msgTimeout
		}
		lats = append(lats, took)
		time.Sleep(chatGap)
	}
	w.cpu = 100 * (procfs(proctest.CPUTime(pid)) - c0).Seconds() / time.Since(t0).Seconds()
	w.rss = procfs(proctest.StatusKB(pid, "VmRSS"))
	w.chat = summarize(lats)
	return w
}

// chatOnce sends text from p to name and waits up to timeout for its
// delivery; it does not fail the run.
func chatOnce(p *proctest.Proc, name, text string, timeout time.Duration) (time.Duration, bool) {
	m := p.Mark()
	t0 := time.Now()
	p.Send("/to " + name + " " + text)
	e, err := p.Await(m, timeout, func(e proctest.Event) bool { return (e.Event == "sent" && e.To == name) || e.Event == "error" })
	if err != nil || e.Event == "error" || len(e.IDs) == 0 {
		return 0, false
	}
	d, err := p.Await(m, timeout-time.Since(t0), proctest.IsDelivered(name, e.IDs[0]))
	if err != nil {
		return 0, false
	}
	return d.At.Sub(t0), true
}

// through sends the long message and then the file from pb to a, each
// given throughTimeout, and records whether they got through.
func (w *window) through(pb *proctest.Proc, src, dl string) {
	text := strings.Repeat("0123456789", longText/10)
	if took, ok := chatOnce(pb, "a", text, throughTimeout); ok {
		w.msgT = took
	} else {
		w.msg = fmt.Sprintf("not delivered in %v", throughTimeout)
	}
	m := pb.Mark()
	t0 := time.Now()
	pb.Send("/send a " + strconv.Quote(src))
	e, err := pb.Await(m, throughTimeout, func(e proctest.Event) bool {
		if e.Event == "error" {
			return true
		}
		var v struct {
			Last      bool `json:"last"`
			Resumable bool `json:"resumable"`
		}
		e.Decode(&v)
		return (e.Event == "transfer-done" && v.Last) || (e.Event == "transfer-failed" && !v.Resumable)
	})
	switch {
	case err != nil:
		w.file = fmt.Sprintf("not done in %v", throughTimeout)
		// Whatever the state, do not let it run into the next window.
		cancelOffered(pb, m)
	case e.Event == "transfer-done":
		w.fileT = e.At.Sub(t0)
	case e.Event == "error":
		w.file = "error: " + e.Text
	default:
		w.file = fmt.Sprintf("failed (%s: %s)", e.Code, e.Reason)
	}
	// Leave the downloads folder empty for the next file.
	if ents, err := os.ReadDir(dl); err == nil {
		for _, d := range ents {
			os.RemoveAll(filepath.Join(dl, d.Name()))
		}
	}
}

// cancelOffered cancels the transfer p offered since event m, if any.
func cancelOffered(p *proctest.Proc, m int) {
	evs, _, _ := p.Snapshot(m)
	for _, e := range evs {
		if e.Event == "offered" {
			p.Send("/cancel " + string(e.ID))
			return
		}
	}
}

// roleAttack is the stranger: it attacks -target until its stdin closes
// (or -life passes), prints "ready" once the attack is in place and a
// result saying what it sent.
func roleAttack(args []string) {
	fs := flag.NewFlagSet("attack", flag.ExitOnError)
	kind := fs.String("kind", "", "mdns, tcp, probes or offers")
	bind := fs.String("bind", "", "this laptop's lab IP")
	target := fs.String("target", "", "the node's lab IP")
	port := fs.Int("port", peer.DefaultPort, "the node's chat port")
	key := fs.String("key", "", "probes: a key in the node's book (hex)")
	life := fs.Duration("life", 5*time.Minute, "stop after this long")
	fs.Parse(args)
	labAddr(*bind)
	to := netip.AddrPortFrom(labAddr(*target), uint16(*port))
	stop := untilStdinEOF(*life)
	var said string
	switch *kind {
	case "mdns":
		said = attackMDNS(netip.AddrPortFrom(to.Addr(), 5353), stop)
	case "tcp":
		said = attackTCP(to, stop)
	case "probes":
		said = attackProbes(labAddr(*bind), to, parseKey(*key), stop)
	case "offers":
		said = attackOffers(to, stop)
	default:
		fatalRole("unknown attack %q", *kind)
	}
	emitResult(&roleStat{Extra: said})
}

// craftedQuery is finding 2's query: mdnsQuestions PTR questions for
// _p2pchat._udp.local. (the first spelled out, the others a pointer to it)
// and mdnsKnown NULL known answers of that name, each empty.
func craftedQuery() []byte {
	b := make([]byte, 12, 9000)
	binary.BigEndian.PutUint16(b[4:], mdnsQuestions)
	binary.BigEndian.PutUint16(b[6:], mdnsKnown)
	b = append(b, "\x08_p2pchat\x04_udp\x05local\x00"...)
	b = append(b, 0, 12, 0, 1) // PTR, IN
	for range mdnsQuestions - 1 {
		b = append(b, 0xc0, 12, 0, 12, 0, 1)
	}
	for range mdnsKnown {
		b = append(b, 0xc0, 12, 0, 10, 0, 1, 0, 0, 0x0e, 0x10, 0, 0) // NULL, IN, TTL 3600, no data
	}
	return b
}

func attackMDNS(to netip.AddrPort, stop <-chan struct{}) string {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		fatalRole("mdns: %v", err)
	}
	defer c.Close()
	go io.Copy(io.Discard, c) // answers (unicast: our port is not 5353)
	q := craftedQuery()
	emit(map[string]any{"event": "ready"})
	tick := time.NewTicker(time.Second / mdnsQueryRate)
	defer tick.Stop()
	sent, t0 := 0, time.Now()
	for {
		select {
		case <-stop:
			return fmt.Sprintf("sent %d queries of %d bytes in %.1f s", sent, len(q), time.Since(t0).Seconds())
		case <-tick.C:
			if _, err := c.Write(q); err == nil {
				sent++
			}
		}
	}
}

func attackTCP(to netip.AddrPort, stop <-chan struct{}) string {
	var opened, reopened, refused atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn // closed at stop, to end the readers
	done := false
	hold := func(prefix bool, first chan<- struct{}) {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := net.DialTimeout("tcp4", to.String(), 3*time.Second)
			if err == nil && prefix {
				_, err = c.Write([]byte("p2pf"))
			}
			if n == 0 {
				first <- struct{}{}
			}
			if err != nil {
				refused.Add(1)
				if c != nil {
					c.Close()
				}
			} else {
				mu.Lock()
				if done {
					mu.Unlock()
					c.Close()
					return
				}
				conns = append(conns, c)
				mu.Unlock()
				if n == 0 {
					opened.Add(1)
				} else {
					reopened.Add(1)
				}
				io.Copy(io.Discard, c) // until the node (or stop) closes it
				c.Close()
			}
			pause := time.Second // an idle socket waits before coming back
			if prefix {
				pause = 10 * time.Millisecond
			}
			select {
			case <-stop:
				return
			case <-time.After(pause):
			}
		}
	}
	first := make(chan struct{}, idleConns+prefixConns)
	for range idleConns {
		wg.Add(1)
		go hold(false, first)
	}
	for range idleConns {
		<-first
	}
	for range prefixConns {
		wg.Add(1)
		go hold(true, first)
	}
	for range prefixConns {
		<-first
	}
	emit(map[string]any{"event": "ready"})
	<-stop
	mu.Lock()
	done = true
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return fmt.Sprintf("opened %d connections, reopened %d after the node closed them, %d dials failed", opened.Load(), reopened.Load(), refused.Load())
}

// spoofSource is the i-th spoofed source: 16 /24s of 10.77.0.0/16 away
// from the lab's own (10.77.k.0/24), hosts 1 to 254, so that the node's
// answers stay on the lab's bridge and never reach a real host of it.
func spoofSource(lab netip.Addr, i int) [4]byte {
	k := lab.As4()[2]
	return [4]byte{10, 77, k + 128 + byte(i/254%16), byte(1 + i%254)}
}

func attackProbes(self netip.Addr, to netip.AddrPort, key [32]byte, stop <-chan struct{}) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		fatalRole("probes: raw socket: %v", err)
	}
	defer syscall.Close(fd)
	probe := wire.AppendHeader(nil, wire.TypeProbe, &key)
	dst := to.Addr().As4()
	sa := &syscall.SockaddrInet4{Addr: dst}
	pkts := make([][]byte, probeSources)
	for i := range pkts {
		pkts[i] = ipv4UDP(spoofSource(self, i), dst, uint16(peer.DefaultPort), to.Port(), probe)
	}
	emit(map[string]any{"event": "ready"})
	const perTick = probeRate / 200
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sent, failed, i, t0 := 0, 0, 0, time.Now()
	for {
		select {
		case <-stop:
			return fmt.Sprintf("sent %d probes of %d bytes from %d addresses in %.1f s (%d sends failed)", sent, len(probe), probeSources, time.Since(t0).Seconds(), failed)
		case <-tick.C:
			for range perTick {
				if err := syscall.Sendto(fd, pkts[i%len(pkts)], 0, sa); err != nil {
					failed++
				} else {
					sent++
				}
				i++
			}
		}
	}
}

// ipv4UDP is an IPv4 packet (header included, as IPPROTO_RAW sends it) of
// one UDP datagram from src to dst; the UDP checksum is left out (0, as
// IPv4 allows).
func ipv4UDP(src, dst [4]byte, sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64 // TTL
	b[9] = syscall.IPPROTO_UDP
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return b
}

func attackOffers(to netip.AddrPort, stop <-chan struct{}) string {
	u, err := hostile.DialUDP(to)
	if err != nil {
		fatalRole("offers: %v", err)
	}
	defer u.Close()
	mallory, err := hostile.New(to, u)
	if err != nil {
		fatalRole("offers: %v", err)
	}
	if err := mallory.Join("mallory", "evil", 20*time.Second); err != nil {
		fatalRole("offers: %v", err)
	}
	targetKey, _ := mallory.TargetKey()
	offer := func(p *hostile.Peer, tid uint64, name string) error {
		var sum [32]byte
		rand.Read(sum[:])
		return p.Say(wire.Payload{Kind: wire.KindOffer, Transfer: tid,
			Files: []wire.FileEntry{{Name: name, Size: 1 << 20, SHA256: sum}}})
	}
	// 32 undecided offers: 8 from each of 4 throwaway keys, each said
	// three times (UDP), as a sender repeats an offer, then never again.
	placed := 0
	for k := range undecidedOffers / 8 {
		p, err := hostile.New(to, u)
		if err != nil {
			fatalRole("offers: %v", err)
		}
		if err := p.JoinKnowing(targetKey, fmt.Sprintf("throwaway%d", k), "evil", 20*time.Second); err != nil {
			fatalRole("offers: %v", err)
		}
		for j := range 8 {
			for range 3 {
				if err := offer(p, uint64(0x7468726f00+k*8+j+1), fmt.Sprintf("report-%d-%d.pdf", k, j)); err != nil {
					fatalRole("offers: %v", err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			placed++
		}
	}
	bad := "/" + strings.Repeat("\x01", 500)
	emit(map[string]any{"event": "ready"})
	const perTick = badOfferRate / 200
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sent, failed, t0 := 0, 0, time.Now()
	tid := uint64(0x6d616c0000)
	for {
		select {
		case <-stop:
			return fmt.Sprintf("left %d offers undecided and sent %d refused offers in %.1f s (%d sends failed)", placed, sent, time.Since(t0).Seconds(), failed)
		case <-tick.C:
			for range perTick {
				tid++
				if err := offer(mallory, tid, bad); err != nil {
					if errors.Is(err, net.ErrClosed) {
						fatalRole("offers: %v", err)
					}
					failed++
				} else {
					sent++
				}
			}
		}
	}
}
