package e2e

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/hostile"
	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// The hostile helper: this test binary, re-executed inside an attacker's
// lab namespace, drives internal/hostile peers (fresh keys that join the
// target the honest way and then send whatever they like) on commands
// read from stdin, one JSON object a line, and answers with JSON events on
// stdout, so that a test drives it with proctest like a p2pchat -json. It
// only talks to the lab address it was given.

// hostileEnvTarget names the target (a lab IP:PORT) of the hostile helper.
const hostileEnvTarget = "P2PCHAT_E2E_HOSTILE_TARGET"

func init() { helperMain(hostileEnvTarget, "hostile helper", hostileHelper) }

// hcmd is one command to the hostile helper. Op says what; the other
// fields are its arguments:
//
//	dial    Conn, TCP: open a UDP socket or a TCP connection to the target
//	join    Peer, Conn, Nick, Host, Record: a fresh key joins (Record: its
//	        answer to the challenge is recorded); answer "joined" with the
//	        key (Text, hex) and the node id (ID)
//	hello   Peer, Nick, Host: a hello renaming the peer
//	say     Peer, Stream, Seq, Base, Text, Record: one message
//	bye     Peer: the peer says it leaves
//	replay  Peer: send every recorded packet of the peer again
//	fill    Conn, Keys, Nick: Keys fresh keys join as Nick0, Nick1, ...
//	flood   Conn, Keys, Stream, From, To, Size: Keys fresh keys join, then
//	        each sends messages From..To with base 1 (a gap at 1), Size
//	        bytes of text each, round robin; "flooded" counts sent and acks
//	stream  Peer, Stream, From, To, Size, Text, Window, Rounds, Millis:
//	        messages From..To (text: Text, the seq, padding to Size).
//	        Window 0: Rounds times, send every one not acknowledged yet,
//	        then wait until acks stop coming. Window > 0: a sliding window
//	        of that many, resending the unacknowledged every 300 ms, until
//	        all are acknowledged or Millis ms passed. "streamed" counts.
//	acked   Peer, Stream: "acked" lists the acknowledged seqs (IDs)
//
// Every peer's incoming messages are reported as "got" events (Name: the
// peer, Text), so that a test sees anything the target sends a hostile key.
type hcmd struct {
	Op     string `json:"op"`
	Conn   string `json:"conn,omitempty"`
	TCP    bool   `json:"tcp,omitempty"`
	Peer   string `json:"peer,omitempty"`
	Nick   string `json:"nick,omitempty"`
	Host   string `json:"host,omitempty"`
	Record bool   `json:"record,omitempty"`
	Stream uint64 `json:"stream,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
	Base   uint64 `json:"base,omitempty"`
	From   uint64 `json:"from,omitempty"`
	To     uint64 `json:"to,omitempty"`
	Text   string `json:"text,omitempty"`
	Keys   int    `json:"keys,omitempty"`
	Size   int    `json:"size,omitempty"`
	Window int    `json:"window,omitempty"`
	Rounds int    `json:"rounds,omitempty"`
	Millis int    `json:"millis,omitempty"`
}

// hevent is one answer of the hostile helper (a proctest.Event line).
type hevent struct {
	Event  string   `json:"event"`
	Name   string   `json:"name,omitempty"`
	ID     string   `json:"id,omitempty"`
	Text   string   `json:"text,omitempty"`
	IDs    []uint64 `json:"ids,omitempty"`
	Count  int      `json:"count,omitempty"`
	Sent   int      `json:"sent,omitempty"`
	Acks   int      `json:"acks,omitempty"`
	Millis int64    `json:"ms,omitempty"`
	Done   bool     `json:"done,omitempty"`
}

// hpeer is one hostile key in the helper, with what it was acknowledged.
type hpeer struct {
	*hostile.Peer
	name string

	mu       sync.Mutex
	acked    map[[2]uint64]bool // stream, seq
	recorded [][]byte
}

type hconn struct {
	hostile.Conn
	close  func() error
	key    [32]byte // the target's key, once a peer on this connection learned it
	hasKey bool
}

type helper struct {
	target netip.AddrPort
	outMu  sync.Mutex
	out    *json.Encoder
	conns  map[string]*hconn
	peers  map[string]*hpeer
	acks   chan struct{} // a token after any new ack (ops run one at a time)
}

func hostileHelper(target string) error {
	to, err := netip.ParseAddrPort(target)
	if err != nil {
		return err
	}
	if !testnet.Net.Contains(to.Addr()) {
		return fmt.Errorf("refusing to attack %s: not a lab address", to)
	}
	h := &helper{target: to, out: json.NewEncoder(os.Stdout), conns: map[string]*hconn{}, peers: map[string]*hpeer{}, acks: make(chan struct{}, 1)}
	h.emit(hevent{Event: "ready", Text: to.String()})
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var c hcmd
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			h.emit(hevent{Event: "error", Text: err.Error()})
			continue
		}
		if err := h.do(c); err != nil {
			h.emit(hevent{Event: "error", Name: c.Op, Text: err.Error()})
		}
	}
	for _, c := range h.conns {
		c.close()
	}
	return sc.Err()
}

func (h *helper) emit(e hevent) {
	h.outMu.Lock()
	defer h.outMu.Unlock()
	_ = h.out.Encode(e)
}

func (h *helper) peer(name string) (*hpeer, error) {
	if p := h.peers[name]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("no peer %q", name)
}

func (h *helper) conn(name string) (*hconn, error) {
	if c := h.conns[name]; c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("no connection %q", name)
}

func (h *helper) do(c hcmd) error {
	switch c.Op {
	case "dial":
		hc := &hconn{}
		if c.TCP {
			t, err := hostile.DialTCP(h.target)
			if err != nil {
				return err
			}
			hc.Conn, hc.close = t, t.Close
		} else {
			u, err := hostile.DialUDP(h.target)
			if err != nil {
				return err
			}
			hc.Conn, hc.close = u, u.Close
		}
		h.conns[c.Conn] = hc
		h.emit(hevent{Event: "dialed", Name: c.Conn})
	case "join":
		hc, err := h.conn(c.Conn)
		if err != nil {
			return err
		}
		p, err := h.join(hc, c.Peer, c.Nick, c.Host, c.Record)
		if err != nil {
			return err
		}
		h.emit(hevent{Event: "joined", Name: p.name, ID: peer.KeyID(&p.Public), Text: hex.EncodeToString(p.Public[:])})
	case "hello":
		p, err := h.peer(c.Peer)
		if err != nil {
			return err
		}
		if err := p.Say(p.Hello(c.Nick, c.Host, 0, [16]byte{})); err != nil {
			return err
		}
		h.emit(hevent{Event: "said", Name: p.name})
	case "say":
		p, err := h.peer(c.Peer)
		if err != nil {
			return err
		}
		if err := p.send(hostile.Message(c.Stream, c.Seq, c.Base, c.Text), c.Record); err != nil {
			return err
		}
		h.emit(hevent{Event: "said", Name: p.name})
	case "bye":
		p, err := h.peer(c.Peer)
		if err != nil {
			return err
		}
		if err := p.Say(wire.Payload{Kind: wire.KindBye}); err != nil {
			return err
		}
		h.emit(hevent{Event: "said", Name: p.name})
	case "replay":
		p, err := h.peer(c.Peer)
		if err != nil {
			return err
		}
		p.mu.Lock()
		pkts := slices.Clone(p.recorded)
		p.mu.Unlock()
		for _, pkt := range pkts {
			if err := p.Send(pkt); err != nil {
				return err
			}
		}
		h.emit(hevent{Event: "replayed", Name: p.name, Count: len(pkts)})
	case "fill":
		hc, err := h.conn(c.Conn)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := h.joinMany(hc, c.Nick, c.Keys); err != nil {
			return err
		}
		h.emit(hevent{Event: "filled", Count: c.Keys, Millis: time.Since(start).Milliseconds()})
	case "flood":
		hc, err := h.conn(c.Conn)
		if err != nil {
			return err
		}
		return h.flood(hc, c)
	case "stream":
		p, err := h.peer(c.Peer)
		if err != nil {
			return err
		}
		return h.stream(p, c)
	case "acked":
		p, err := h.peer(c.Peer)
		if err != nil {
			return err
		}
		h.emit(hevent{Event: "acked", Name: p.name, IDs: p.ackedSeqs(c.Stream)})
	default:
		return fmt.Errorf("unknown op %q", c.Op)
	}
	return nil
}

// join makes a fresh key join as nick on host; with record, its answer to
// the target's challenge is kept for replay.
func (h *helper) join(hc *hconn, name, nick, host string, record bool) (*hpeer, error) {
	if _, dup := h.peers[name]; dup {
		return nil, fmt.Errorf("peer %q exists", name)
	}
	hp, err := hostile.New(h.target, hc.Conn)
	if err != nil {
		return nil, err
	}
	p := &hpeer{Peer: hp, name: name, acked: map[[2]uint64]bool{}}
	const timeout = 10 * time.Second
	switch {
	case record:
		if !hc.hasKey {
			return nil, errors.New("a recorded join needs a peer on the connection that joined before")
		}
		err = p.recordedJoin(hc.key, nick, host, timeout)
	case hc.hasKey:
		err = p.JoinKnowing(hc.key, nick, host, timeout)
	default:
		err = p.Join(nick, host, timeout)
	}
	if err != nil {
		return nil, err
	}
	if k, ok := p.TargetKey(); ok && !hc.hasKey {
		hc.key, hc.hasKey = k, true
	}
	h.peers[name] = p
	go p.collect(h)
	return p, nil
}

// joinMany joins n fresh keys named prefix0.. (four at a time).
func (h *helper) joinMany(hc *hconn, prefix string, n int) ([]*hpeer, error) {
	if n <= 0 {
		return nil, nil
	}
	first, err := h.join(hc, prefix+"0", prefix+"0", "evil", false) // learns the key if nobody has
	if err != nil {
		return nil, err
	}
	ps := []*hpeer{first}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	next := 1
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				hp, err := hostile.New(h.target, hc.Conn)
				if err == nil {
					err = hp.JoinKnowing(hc.key, fmt.Sprint(prefix, i), "evil", 20*time.Second)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					p := &hpeer{Peer: hp, name: fmt.Sprint(prefix, i), acked: map[[2]uint64]bool{}}
					ps = append(ps, p)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%d of %d joins failed: %w", len(errs), n, errs[0])
	}
	for _, p := range ps[1:] {
		h.peers[p.name] = p
		go p.collect(h)
	}
	return ps, nil
}

// recordedJoin is Join (knowing the key) that keeps the packet answering
// the challenge, the one that takes the key in.
func (p *hpeer) recordedJoin(key [32]byte, nick, host string, timeout time.Duration) error {
	p.Learn(key)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := p.Say(p.Hello(nick, host, wire.FlagReply, [16]byte{})); err != nil {
			return err
		}
		hello, err := p.Await(wire.KindHello, 500*time.Millisecond)
		if err != nil {
			continue
		}
		if err := p.send(p.Hello(nick, host, wire.FlagReply, hello.Challenge), true); err != nil {
			return err
		}
		if _, err := p.Await(wire.KindHello, time.Second); err == nil {
			return nil
		}
		p.mu.Lock()
		p.recorded = nil // not taken in: record the next try
		p.mu.Unlock()
	}
	return errors.New("no answer to the hello")
}

// send seals pl as the peer's next packet, keeps it if record, sends it.
func (p *hpeer) send(pl wire.Payload, record bool) error {
	pkt, err := p.Seal(pl)
	if err != nil {
		return err
	}
	if record {
		p.mu.Lock()
		p.recorded = append(p.recorded, pkt)
		p.mu.Unlock()
	}
	return p.Send(pkt)
}

// collect reads the peer's answers for good: acks are counted, messages
// reported.
func (p *hpeer) collect(h *helper) {
	for pl := range p.Inbox() {
		switch pl.Kind {
		case wire.KindAck:
			p.mu.Lock()
			k := [2]uint64{pl.Stream, pl.Seq}
			if !p.acked[k] {
				p.acked[k] = true
				select {
				case h.acks <- struct{}{}:
				default:
				}
			}
			p.mu.Unlock()
		case wire.KindMsg:
			h.emit(hevent{Event: "got", Name: p.name, Text: pl.Text})
		}
	}
}

func (p *hpeer) isAcked(stream, seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked[[2]uint64{stream, seq}]
}

func (p *hpeer) ackedSeqs(stream uint64) []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s []uint64
	for k := range p.acked {
		if k[0] == stream {
			s = append(s, k[1])
		}
	}
	slices.Sort(s)
	return s
}

// quiet waits until no new ack came for idle, or for at most max: the
// target has answered what it was sent.
func (h *helper) quiet(idle, max time.Duration) {
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		t := time.NewTimer(idle)
		select {
		case <-h.acks:
			t.Stop()
		case <-t.C:
			return
		}
	}
}

func (h *helper) flood(hc *hconn, c hcmd) error {
	start := time.Now()
	ps, err := h.joinMany(hc, "flood", c.Keys)
	if err != nil {
		return err
	}
	joined := time.Since(start)
	text := strings.Repeat("x", c.Size)
	sent := 0
	for seq := c.From; seq <= c.To; seq++ {
		for _, p := range ps {
			if err := p.Say(hostile.Message(c.Stream, seq, 1, text)); err != nil {
				return fmt.Errorf("after %d messages: %w", sent, err)
			}
			sent++
		}
	}
	h.quiet(500*time.Millisecond, 10*time.Second)
	acks := 0
	for _, p := range ps {
		acks += len(p.ackedSeqs(c.Stream))
	}
	h.emit(hevent{Event: "flooded", Count: len(ps), Sent: sent, Acks: acks, Millis: time.Since(start).Milliseconds(),
		Text: fmt.Sprintf("%d keys joined in %v", len(ps), joined.Round(time.Millisecond))})
	return nil
}

// streamText is the text of message seq of a stream test: prefix, the
// seq, a space, padding to size bytes.
func streamText(prefix string, seq uint64, size int) string {
	s := fmt.Sprintf("%s%06d ", prefix, seq)
	return s + strings.Repeat("b", max(0, size-len(s)))
}

func (h *helper) stream(p *hpeer, c hcmd) error {
	start := time.Now()
	lo := c.From // every seq below lo is acknowledged
	lowest := func() uint64 {
		for lo <= c.To && p.isAcked(c.Stream, lo) {
			lo++
		}
		return lo
	}
	sent := 0
	say := func(seq, base uint64) error {
		sent++
		return p.Say(hostile.Message(c.Stream, seq, base, streamText(c.Text, seq, c.Size)))
	}
	if c.Window == 0 {
		for range max(1, c.Rounds) {
			base := lowest()
			for s := base; s <= c.To; s++ {
				if !p.isAcked(c.Stream, s) {
					if err := say(s, base); err != nil {
						return err
					}
				}
			}
			h.quiet(time.Second, 20*time.Second)
		}
	} else {
		const rto = 150 * time.Millisecond
		last := map[uint64]time.Time{}
		end := start.Add(time.Duration(c.Millis) * time.Millisecond)
		for time.Now().Before(end) {
			base := lowest()
			if base > c.To {
				break
			}
			for s := base; s <= c.To && s < base+uint64(c.Window); s++ {
				if p.isAcked(c.Stream, s) || time.Since(last[s]) < rto {
					continue
				}
				if err := say(s, base); err != nil {
					return err
				}
				last[s] = time.Now()
			}
			t := time.NewTimer(rto / 3)
			select {
			case <-h.acks:
			case <-t.C:
			}
			t.Stop()
		}
	}
	acked := len(p.ackedSeqs(c.Stream))
	h.emit(hevent{Event: "streamed", Name: p.name, Sent: sent, Acks: acked, Millis: time.Since(start).Milliseconds(),
		Done: lowest() > c.To})
	return nil
}

// The test side.

// hostileProc is a running hostile helper.
type hostileProc struct {
	*Proc
	t *testing.T
}

// startHostile runs the hostile helper in h (a lab host), attacking target.
func startHostile(t *testing.T, h *testnet.Host, target netip.AddrPort) *hostileProc {
	t.Helper()
	needBinary(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, proctest.Spec{
		Label: "hostile helper on " + h.Name, Host: h, Path: self,
		Args: []string{"-test.run=^$"},
		Env:  []string{hostileEnvTarget + "=" + target.String(), "P2PCHAT_BIN=" + binPath},
	})
	p.Wait(t, readyTimeout, IsKind("ready"))
	return &hostileProc{Proc: p, t: t}
}

// do sends c and waits up to timeout for its answer, an event of kind
// want; an "error" answer fails the test. The answer is decoded into an
// hevent.
func (hp *hostileProc) do(c hcmd, want string, timeout time.Duration) hevent {
	hp.t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		hp.t.Fatal(err)
	}
	m := hp.Mark()
	hp.Send(string(b))
	e := hp.WaitFrom(hp.t, m, timeout, func(e Event) bool { return e.Event == want || e.Event == "error" })
	if e.Event == "error" {
		hp.t.Fatalf("hostile helper: %s: %s", b, e.Raw)
	}
	var he hevent
	if err := e.Decode(&he); err != nil {
		hp.t.Fatalf("hostile helper: answer %s: %v", e.Raw, err)
	}
	return he
}

// got lists the messages the target sent to hostile keys so far.
func (hp *hostileProc) got() []Event {
	var got []Event
	for _, e := range hp.Events() {
		if e.Event == "got" {
			got = append(got, e)
		}
	}
	return got
}
