package peer

import (
	"crypto/rand"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/lru"
	"github.com/p2pchat/p2pchat/internal/rate"
	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"
)

// static is an address given with -peer, probed until someone answers there.
type static struct {
	addr      netip.AddrPort
	next      time.Time
	interval  time.Duration
	answered  bool
	tcpProbes bool
}

// Node is one p2pchat participant. All its methods are safe for concurrent use.
//
// Concurrency: one lock, mu, guards the node's state; the node's work
// runs under it, in the goroutine that asked for it:
//   - the callers of the exported methods (each takes mu itself);
//   - the transport's goroutines: handle for every packet, knownAddr from
//     the TCP accept loop (each takes mu; the transport holds none of its
//     own locks when it calls them);
//   - timerLoop (tick), savePins, and feedStore with a Store: started by
//     New, counted in wg, joined by Close;
//   - pumpEvents: started by New, not in wg: it ends once the node is
//     closed and the consumer took every queued event, then closes events.
//
// Fields, by who may touch them:
//   - Immutable after New, read without a lock: cfg, tm, id, tr, log,
//     boot, chal, st, the pointers book, hints, vwarn and sess (what they
//     point to is guarded by mu), evCond and wCond (conditions on mu), and
//     the channels events, kick, saveKick and done.
//   - Guarded by mu: every other field, and everything reachable from
//     book (each peerState with its outStream and inStream), statics,
//     hints, vwarn and sess. The scratch buffers ready and plain are
//     used only under mu, and not kept across its release.
//   - book.pins has its own lock (pins.mu): the node changes pins under
//     mu, and savePins writes them out without mu.
//   - events: emitForLocked sends on it under mu only without blocking,
//     when nothing is queued; pumpEvents sends on it without mu and alone
//     closes it. kick and saveKick are tokens (buffered, one), sent
//     without blocking with or without mu. done is closed by Close alone,
//     after closed is set under mu. wg: Add in New before the goroutines
//     start, Wait in Close.
//
// Methods named ...Locked expect mu held; the others take it themselves,
// or need no lock (durable, kickSave, restore before the node starts).
//
// Lock order: mu, then pins.mu or the transport's locks (its sends and
// Forget are called under mu, never block, and never call the node). The
// file handler (SetFileHandler) and MemNet's Tap and DropIf functions run
// under mu: they must not block nor call the node. The Store's Write is
// never called under mu (feedStore releases it first).
type Node struct {
	// Immutable after New.
	cfg  Config
	tm   Timing
	id   *Identity
	tr   Transport
	log  *slog.Logger
	boot uint64

	// mu guards the fields below it except st, wCond, evCond, events,
	// kick, saveKick, done and wg (see above).
	mu      sync.Mutex
	name    string
	away    string // away text; "" = here
	counter uint64
	book    *book
	statics []*static
	hints   *lru.Cache[[32]byte, string] // how a not-yet-known key was learned (the newest maxPeers, Config.limits)
	nextID  uint64
	stats   Stats
	closed  bool
	budget  rate.Bucket                      // opens of packets from unknown keys
	leads   rate.Bucket                      // peer-exchange leads followed (exchange.go)
	answers answerLimiter                    // answers to strangers (receive.go)
	vwarn   *lru.Cache[netip.Addr, struct{}] // addresses told of in an EvVersion (the newest maxVersionWarnings)
	vrate   rate.Bucket                      // EvVersions for addresses not in vwarn
	sess    *sessions                        // session.go (guarded by mu)
	chal    challenger                       // immutable after New
	reorder reorderBudget
	ready   []inMsg       // scratch: messages a packet made ready to show
	files   func(FileMsg) // transfer control payloads go here (files.go)

	st       Store                    // immutable after New; nil: messages live in memory only (durable.go)
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

	kick     chan struct{} // wakes the timer loop early (see wakeLocked)
	timerAt  time.Time     // when the timer loop runs tick next (zero before the first tick, which runs at once)
	ticking  bool          // tick is running
	saveKick chan struct{} // wakes the pins saver
	done     chan struct{}
	wg       sync.WaitGroup // timerLoop, savePins, feedStore
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
	lim := cfg.limits.withDefaults()
	n := &Node{
		cfg: cfg, tm: cfg.Timing.withDefaults(), id: cfg.Identity, tr: tr, log: log,
		boot:     boot,
		name:     cfg.Name,
		book:     newBook(ps, lim.peers, maxTombstones),
		hints:    lru.New[[32]byte, string](lim.peers),
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
	n.sess = newSessionsMax(n.id, &n.stats, lim.sessionPeers)
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
