package peer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/lru"
	"github.com/p2pchat/p2pchat/internal/rate"
	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"sync"
	"time"
	"unicode/utf8"
)

// Config configures a Node. Zero values take the defaults noted.
type Config struct {
	Name     string          // nickname (required, see ValidName)
	Host     string          // host name told to peers (default: os.Hostname)
	Identity *Identity       // long-term key (default: a fresh one, for tests)
	Home     string          // directory for the name->key pins ("" keeps them in memory)
	Store    Store           // where messages are kept on disk (durable.go); nil keeps them in memory
	Saved    *store.Snapshot // what Store held when it was opened (with Store)
	TCPOnly  bool            // send everything over TCP and ask peers to do the same
	Logger   *slog.Logger    // debug logs (nil discards)
	Timing   Timing
}

// Timing holds the protocol's clocks. DefaultTiming documents the defaults.
type Timing struct {
	RTO        time.Duration // first retransmission timeout; doubles on each try
	MaxRTO     time.Duration // ceiling of the backoff
	UDPTries   int           // UDP attempts before a message goes over TCP
	FailAfter  time.Duration // tell the user "not delivered" after this long
	Heartbeat  time.Duration // ping interval to each peer
	Expire     time.Duration // silence after which a peer has left
	Window     int           // messages in flight to one peer
	QueueLimit int           // messages waiting for one peer
}

// DefaultTiming returns the defaults (a fresh value: nobody can change
// them for others). LAN round trips are ~1 ms, so a lost datagram is
// retried after 100 ms, 200 ms, 400 ms; after three UDP tries (0.7 s) the
// message goes over TCP, well inside the 2 s a user waits. A peer silent
// for 3 heartbeats has left.
func DefaultTiming() Timing {
	return Timing{
		RTO:        100 * time.Millisecond,
		MaxRTO:     4 * time.Second,
		UDPTries:   3,
		FailAfter:  5 * time.Second,
		Heartbeat:  5 * time.Second,
		Expire:     16 * time.Second,
		Window:     64,
		QueueLimit: 1000,
	}
}

func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&t.RTO, d.RTO)
	set(&t.MaxRTO, d.MaxRTO)
	set(&t.FailAfter, d.FailAfter)
	set(&t.Heartbeat, d.Heartbeat)
	set(&t.Expire, d.Expire)
	if t.UDPTries == 0 {
		t.UDPTries = d.UDPTries
	}
	if t.Window == 0 {
		t.Window = d.Window
	}
	if t.QueueLimit == 0 {
		t.QueueLimit = d.QueueLimit
	}
	return t
}

// Stats counts what the node dropped or retried, for tests and benchmarks.
type Stats struct {
	Retransmits   uint64 // message packets sent again
	TCPSends      uint64 // message packets sent over TCP
	Dropped       uint64 // packets dropped: not ours, bad, failed authentication, replayed
	Replayed      uint64 // of which: replays
	Unauthentic   uint64 // of which: failed to open
	Duplicates    uint64 // messages received again (acknowledged, not shown)
	UnknownBudget uint64 // sealed packets from unknown keys not opened (flood guard)
	Backpressure  uint64 // messages not taken (nor acknowledged) because the user side is behind
	NoRoom        uint64 // messages ahead of a gap not taken for want of room (sent again)
	EventsDropped uint64 // notices about peers dropped because the event queue was full
	LeadsDropped  uint64 // peer-exchange entries not followed (over the bounds in exchange.go)
	LeadsRefused  uint64 // peer-exchange entries not followed for their address (broadcast or network address of a local prefix, multicast, loopback from afar: usableLead)
	// AnswersLimited counts answers to strangers (probes, packets of keys
	// we do not know) not sent: over the budget of the source's /24 or
	// /64, or of all strangers together (receive.go).
	AnswersLimited uint64
	ProbesUnproven uint64 // probes echoing a cookie we did not make for that key and address in the last 10 s (dropped)

	// The TCP listener's counters (NetTransport; zero on other transports).
	TCPRefusedFull     uint64 // accepted connections closed at once: every slot taken
	TCPRefusedSource   uint64 // closed at once: the source address (IPv6: /64) holds its share already
	TCPRefusedReserve  uint64 // closed at once: only the reserve for peers in the book was left
	TCPUnauthenticated uint64 // closed for sending no stream header nor a packet that opened in time

	// Sessions (session.go).
	Handshakes        uint64 // handshakes made: initiations sent and initiations answered
	HandshakesLimited uint64 // initiations of a key already known not read: over its budget (1 a second, 4 at once)
	NoSession         uint64 // data packets of a session we do not hold (dropped; we start a handshake)
	SessionsEvicted   uint64 // keys whose sessions were erased to make room for another (maxSessionPeers)
	QueueDropped      uint64 // packets that waited for a handshake and were dropped: over the queue's bound, or the handshake unanswered for 20 s
	OldVersion        uint64 // packets of another protocol version (dropped; EvVersion once per peer)
}

// static is an address given with -peer, probed until someone answers there.
type static struct {
	addr      netip.AddrPort
	next      time.Time
	interval  time.Duration
	answered  bool
	tcpProbes bool
}

// Node is one p2pchat participant. All its methods are safe for concurrent use.
type Node struct {
	cfg  Config
	tm   Timing
	id   *Identity
	tr   Transport
	log  *slog.Logger
	boot uint64

	mu      sync.Mutex
	name    string
	away    string // away text; "" = here
	counter uint64
	book    *book
	statics []*static
	hints   *lru.Cache[[32]byte, string] // how a not-yet-known key was learned (the newest maxPeers)
	nextID  uint64
	stats   Stats
	closed  bool
	budget  rate.Bucket                      // opens of packets from unknown keys
	leads   rate.Bucket                      // peer-exchange leads followed (exchange.go)
	answers answerLimiter                    // answers to strangers (receive.go)
	vwarn   *lru.Cache[netip.Addr, struct{}] // addresses told of in an EvVersion (the newest maxVersionWarnings)
	vrate   rate.Bucket                      // EvVersions for addresses not in vwarn
	sess    *sessions                        // session.go (guarded by mu)
	chal    challenger
	reorder reorderBudget
	ready   []inMsg       // scratch: messages a packet made ready to show
	files   func(FileMsg) // transfer control payloads go here (files.go)

	st       Store                    // nil: messages live in memory only (durable.go)
	inpos    map[[32]byte]store.InPos // saved stream positions of senders not in the book yet
	lastIdx  uint64                   // the last inbox index given
	outBytes int                      // text of our messages waiting, to all peers (with or without a Store)
	saving   int                      // bytes of received messages on their way to disk
	wq       []storeReq               // writes waiting for feedStore
	wCond    *sync.Cond               // wakes feedStore

	evq         []queuedEvent
	evBytes     int  // message bytes in evq
	noticeBytes int  // notice bytes in evq (noticeSize)
	pumping     bool // pumpEvents holds an event it has not handed over yet
	evCond      *sync.Cond
	events      chan Event

	changed chan struct{} // closed when acks arrive or peers leave; nil until Flush or WaitPeer waits
	plain   []byte        // scratch: the clear text of the packet being sealed

	kick     chan struct{} // wakes the timer loop early (see wake)
	timerAt  time.Time     // when the timer loop runs tick next (zero before the first tick, which runs at once)
	ticking  bool          // tick is running
	saveKick chan struct{} // wakes the pins saver
	done     chan struct{}
	wg       sync.WaitGroup
}

// New starts a node on transport tr. Close it when done.
func New(cfg Config, tr Transport) (*Node, error) {
	if err := ValidName(cfg.Name); err != nil {
		return nil, fmt.Errorf("peer: name: %w", err)
	}
	if cfg.Host == "" {
		cfg.Host, _ = os.Hostname()
	}
	if len(cfg.Host) > wire.MaxHost {
		cfg.Host = cfg.Host[:wire.MaxHost]
	}
	if cfg.Identity == nil {
		id, err := NewIdentity()
		if err != nil {
			return nil, err
		}
		cfg.Identity = id
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ps, err := loadPins(cfg.Home)
	if err != nil {
		return nil, err
	}
	boot, err := newBoot(cfg.Home) // replay.go
	if err != nil {
		return nil, err
	}
	now := time.Now()
	n := &Node{
		cfg: cfg, tm: cfg.Timing.withDefaults(), id: cfg.Identity, tr: tr, log: log,
		boot:     boot,
		name:     cfg.Name,
		book:     newBook(ps, maxPeers, maxTombstones),
		hints:    lru.New[[32]byte, string](maxPeers),
		budget:   rate.Bucket{Rate: strangerRate, Burst: strangerRate},
		leads:    rate.Bucket{Rate: learnRate, Burst: learnBurst},
		answers:  newAnswerLimiter(),
		vwarn:    lru.New[netip.Addr, struct{}](maxVersionWarnings),
		vrate:    rate.Bucket{Rate: versionWarnRate, Burst: versionWarnBurst},
		chal:     challenger{start: now},
		reorder:  reorderBudget{ahead: maxReorderAhead, perPeer: maxReorderPeerBytes, total: maxReorderBytes},
		events:   make(chan Event, 64),
		kick:     make(chan struct{}, 1),
		saveKick: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	n.sess = newSessions(n.id, &n.stats)
	n.evCond = sync.NewCond(&n.mu)
	n.wCond = sync.NewCond(&n.mu)
	if cfg.Store != nil {
		n.st = cfg.Store
		if cfg.Saved != nil {
			if err := n.restore(cfg.Saved); err != nil {
				return nil, err
			}
		}
	}
	if _, err := rand.Read(n.chal.secret[:]); err != nil {
		return nil, fmt.Errorf("peer: challenge secret: %w", err)
	}
	n.wg.Add(2)
	if n.st != nil {
		n.wg.Add(1)
		go n.feedStore()
	}
	go n.pumpEvents() // not in wg: it ends once the consumer took every event
	go n.timerLoop()
	go n.savePins()
	if k, ok := tr.(interface{ SetKnown(func(netip.Addr) bool) }); ok {
		k.SetKnown(n.knownAddr) // the reserve of TCP slots (net_transport.go)
	}
	tr.Serve(n.handle)
	return n, nil
}

// ID is the node id (derived from the public key).
func (n *Node) ID() string { return n.id.ID() }

// Port is the port the node listens on.
func (n *Node) Port() int { return n.tr.LocalPort() }

// Fingerprint is the own key's fingerprint.
func (n *Node) Fingerprint() string { return n.id.Fingerprint() }

// Events delivers what happens. It is closed after Close. The consumer must
// keep reading; events are queued (not dropped) while it is slow.
func (n *Node) Events() <-chan Event { return n.events }

// Name is the current nickname.
func (n *Node) Name() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name
}

// Stats returns the counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	st := n.stats
	n.mu.Unlock()
	if t, ok := n.tr.(interface{ Stats() TCPStats }); ok {
		ts := t.Stats()
		st.TCPRefusedFull, st.TCPRefusedSource = ts.RefusedFull, ts.RefusedSource
		st.TCPRefusedReserve, st.TCPUnauthenticated = ts.RefusedReserve, ts.Unauthenticated
	}
	return st
}

// SetName changes the nickname and tells every peer.
func (n *Node) SetName(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.name = name
	for _, p := range n.book.peers {
		if p.online {
			n.sendHello(p, 0, zeroChallenge, nil)
		}
	}
	return nil
}

// MaxAwayBytes bounds the away text.
const MaxAwayBytes = wire.MaxAway

// SetAway sets an away text that peers see in /peers and that answers each
// peer's first direct message while it is set (like IP Messenger's absence
// mode); "" means back.
func (n *Node) SetAway(text string) error {
	if len(text) > MaxAwayBytes {
		return fmt.Errorf("away text longer than %d bytes", MaxAwayBytes)
	}
	if !utf8.ValidString(text) {
		return errors.New("away text is not valid UTF-8")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.away = text
	for _, p := range n.book.peers {
		p.awayAnswered = false
		if p.online {
			n.sendHello(p, 0, zeroChallenge, nil)
		}
	}
	return nil
}

// Away is the current away text ("" = here).
func (n *Node) Away() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.away
}

// Peers lists the peers that are online or have messages waiting, by name.
func (n *Node) Peers() []PeerInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []PeerInfo
	for _, p := range n.book.peers {
		if p.label != "" && (p.online || p.out.len() > 0) {
			out = append(out, p.info(n.cfg.TCPOnly))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Resolve finds a peer by what a user types: its display name ("bob" or
// "bob@laptop2"), or a nickname only one peer claims; with a Store also a
// name pinned to a key not seen in this run (it is then listed, offline,
// so that messages can wait for it). Use the returned ID to
// address it afterwards: display names can change, ids cannot.
func (n *Node) Resolve(name string) (PeerInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byName(name)
	if (p == nil || p.label == "") && n.durable() {
		// Not seen in this run, but a name pinned to a key: messages can
		// wait for it on disk until it turns up.
		if key, ok := n.book.pins.lookup(name); ok && key != n.id.Public {
			p = n.park(key, name, 0, 0)
		}
	}
	if p == nil || p.label == "" {
		return PeerInfo{}, fmt.Errorf("%w: %s", ErrUnknownPeer, name)
	}
	return p.info(n.cfg.TCPOnly), nil
}

// Peer returns what is known of the peer with id (PeerInfo.ID).
func (n *Node) Peer(id string) (PeerInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byID(id)
	if p == nil || p.label == "" {
		return PeerInfo{}, false
	}
	return p.info(n.cfg.TCPOnly), true
}

// Trust pins the nickname of the peer with id to its current key, after the
// user checked its fingerprint: from now on it is shown by its nickname, and
// whoever held the name before is not.
func (n *Node) Trust(id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byID(id)
	if p == nil || p.label == "" {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	if p.nick == n.name {
		return fmt.Errorf("%s uses your own name %s: it cannot have it", p.label, n.name)
	}
	name := p.label
	n.announce(n.book.trust(p, n.name, time.Now()))
	n.kickSave()
	n.emit(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeTrusted, OldName: name, Fingerprint: Fingerprint(&p.key)})
	return nil
}

// AddPeer makes the node probe addr (from -peer) until a node answers there:
// for networks where multicast does not get through.
func (n *Node) AddPeer(addr netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.statics = append(n.statics, &static{addr: addr, interval: time.Second})
	n.wake(time.Now())
}

// Discovered tells the node that discovery saw key at addr; the node says
// hello (authenticated, asking for an answer) unless it already talks to
// that peer there.
func (n *Node) Discovered(key [32]byte, addr netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.discover(key, addr, "mdns")
}

// discover says hello to key at addr, learned via via (n.mu held).
func (n *Node) discover(key [32]byte, addr netip.AddrPort, via string) {
	if key == n.id.Public || n.closed || !wire.CanonicalKey(&key) {
		return
	}
	p := n.book.peers[key]
	if p != nil && via == "mdns" && p.via == "traffic" {
		p.via = via // it said hello first, but mDNS finds it too (exchange.go)
	}
	if p != nil && p.online && p.addr == addr {
		return
	}
	if p == nil {
		n.hints.Put(key, via)
		p = n.stranger(key)
		p.addr = addr
		n.sendHello(p, wire.FlagReply, zeroChallenge, nil) // p is not in the book until it answers our challenge
		return
	}
	old := p.addr
	p.addr = addr
	n.sendHello(p, wire.FlagReply, zeroChallenge, nil)
	p.addr = old // believe the new address only when the peer answers from it
}

// Send queues text for one peer (to = its id, PeerInfo.ID) or everyone (to = ""). It
// returns one message id per recipient; delivery is reported by EvDelivered
// EvPending (not yet) or EvFailed (never) events with those ids.
func (n *Node) Send(to, text string) ([]uint64, error) {
	if err := ValidText(text); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	var targets []*peerState
	if to == "" {
		for _, p := range n.book.sorted(func(p *peerState) string { return p.label }) {
			if p.online && p.label != "" {
				targets = append(targets, p)
			}
		}
		if len(targets) == 0 {
			return nil, ErrNoPeers
		}
	} else {
		p := n.book.byID(to)
		if p == nil || p.label == "" {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPeer, to)
		}
		targets = append(targets, p)
	}
	now := time.Now()
	var batch []queuedMsg
	for _, p := range targets {
		if err := n.roomToSend(p, len(text)); err != nil {
			if to != "" {
				return nil, err
			}
			n.emit(Event{Kind: EvWarning, Peer: p.label, PeerID: p.id, Code: CodeNotSent, Err: err})
			continue
		}
		n.nextID++
		batch = append(batch, queuedMsg{p, n.push(p, n.nextID, text, to == "", now)})
		if !p.online {
			n.emit(Event{Kind: EvInfo, Peer: p.label, PeerID: p.id, Code: CodeOffline})
			n.wake(p.nextPing) // the timer knocks on peers we owe messages
		}
	}
	if len(batch) == 0 {
		return nil, fmt.Errorf("%w: every queue is full", ErrQueueFull)
	}
	n.queue(to, batch, true)
	ids := make([]uint64, len(batch))
	for i, q := range batch {
		ids[i] = q.m.id
	}
	return ids, nil
}

// roomToSend says why p's queue cannot take a message of size bytes, if it
// cannot (n.mu held).
func (n *Node) roomToSend(p *peerState, size int) error {
	switch {
	case p.out.len() >= n.tm.QueueLimit:
		return fmt.Errorf("%w: %d messages for %s are not yet acknowledged", ErrQueueFull, p.out.len(), p.label)
	case p.out.bytes+size > maxOutPeerBytes:
		return fmt.Errorf("%w: %d KiB of messages for %s are not yet acknowledged (at most %d KiB)", ErrQueueFull, p.out.bytes>>10, p.label, maxOutPeerBytes>>10)
	case n.outBytes+size > maxOutBytes:
		return fmt.Errorf("%w: %d MiB of messages wait for their recipients (at most %d MiB)", ErrQueueFull, n.outBytes>>20, maxOutBytes>>20)
	}
	return nil
}

// push puts a message into p's outbox and counts its text against the
// outbox's bound, with or without a Store (n.mu held). Whatever takes it
// out again (acked, Unsend, a failed save) gives the room back.
func (n *Node) push(p *peerState, id uint64, text string, all bool, now time.Time) *outMsg {
	n.outBytes += len(text)
	return p.out.push(id, text, all, now)
}

// pendingOnline counts messages not yet acknowledged by peers that are
// online (n.mu held).
func (n *Node) pendingOnline() int {
	c := 0
	for _, p := range n.book.peers {
		if p.online {
			c += p.out.len()
		}
	}
	return c
}

// WaitPeer waits until a peer called name is online (any peer when name is
// ""), or ctx ends. Scripts that start p2pchat and send at once use it to
// give discovery its moment.
func (n *Node) WaitPeer(ctx context.Context, name string) error {
	for {
		n.mu.Lock()
		found, ch := false, n.changes()
		if name == "" {
			for _, p := range n.book.peers {
				found = found || p.online
			}
		} else if p := n.book.byName(name); p != nil && p.online {
			found = true
		}
		n.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if name == "" {
				return fmt.Errorf("%w: none found in time", ErrNoPeers)
			}
			return fmt.Errorf("%w: %s did not appear in time", ErrUnknownPeer, name)
		}
	}
}

// Flush waits until every message to an online peer is acknowledged and,
// with a Store, every message to a peer that is away is on disk, or ctx
// ends (then it returns ctx's error).
func (n *Node) Flush(ctx context.Context) error {
	for {
		n.mu.Lock()
		pending, ch := n.pendingOnline(), n.changes()
		if n.durable() {
			for _, p := range n.book.peers {
				if !p.online {
					pending += p.out.unsaved() // safe once on disk
				}
			}
		}
		n.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("peer: %d messages not acknowledged: %w", pending, ctx.Err())
		}
	}
}

// Close says goodbye to every peer, reports each message that was never
// acknowledged (EvFailed), stops the node and closes Events.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	if n.awaitSaves(); n.closed { // (another Close ran while it waited)
		n.mu.Unlock()
		return nil
	}
	if n.durable() {
		n.dropUnhanded() // what is reported failed below is then never written
	}
	for _, p := range n.book.sorted(func(p *peerState) string { return p.label }) {
		if p.online {
			n.send(p, &wire.Payload{Kind: wire.KindBye}, nil, pathAuto)
		}
		for _, m := range p.out.msgs {
			switch {
			case n.durable() && m.saved:
				n.emit(Event{Kind: EvPending, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonQueued, Code: CodeKept})
			case n.durable() && m.handed:
				// The store has its save and may still complete it: then
				// the next run sends it. Not "failed": it may arrive.
				n.emit(Event{Kind: EvPending, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonQueued, Code: CodeSaving})
			case n.durable():
				n.emit(Event{Kind: EvFailed, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonStopped, Code: CodeStoppedUnsaved})
			default:
				n.emit(Event{Kind: EvFailed, Peer: p.label, PeerID: p.id, ID: m.id, App: m.app, Reason: ReasonStopped, Code: CodeStoppedUnacked})
			}
		}
	}
	n.closed = true
	n.evCond.Broadcast()
	n.wCond.Broadcast()
	n.mu.Unlock()
	close(n.done)
	err := n.tr.Close()
	n.wg.Wait()
	return err
}

// changes returns a channel closed at the next change (n.mu held).
func (n *Node) changes() chan struct{} {
	if n.changed == nil {
		n.changed = make(chan struct{})
	}
	return n.changed
}

// signalChange wakes Flush and WaitPeer (n.mu held).
func (n *Node) signalChange() {
	if n.changed != nil {
		close(n.changed)
		n.changed = nil
	}
}
