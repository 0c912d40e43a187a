package transfer

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/p2pchat/p2pchat/internal/rate"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// Node is what the manager needs of a p2pchat node (*peer.Node).
type Node interface {
	SendFile(id string, pl wire.Payload) error
	Peer(id string) (peer.PeerInfo, bool)
	PeerKey(id string) ([32]byte, bool)
	SetFileHandler(h func(peer.FileMsg))
	PublicKey() [32]byte
}

// Streams hands over data connections (*peer.NetTransport).
type Streams interface {
	HandleStreams(h peer.StreamHandler)
}

// Config configures a Manager.
type Config struct {
	Node       Node
	Streams    Streams
	Downloads  string       // where received files land (created if missing)
	StateDir   string       // where our outgoing transfers are remembered for a restart ("" = not remembered)
	AcceptFrom []string     // names whose offers are accepted without asking, when pinned to the offering key
	Logger     *slog.Logger // nil discards
	// GiveUpAfter bounds how long an outgoing transfer waits: an offer not
	// answered for this long, or an accepted transfer that makes no
	// progress for this long (the peer is gone, or cannot take the data),
	// is given up (CodeTimeout) and the peer told. 0 waits as long as it
	// takes: interactive use, where a paused transfer resumes when the
	// peer is back. p2pchat sets it for scripts (-send-timeout).
	GiveUpAfter time.Duration
	// Busy, if set, is called with true when a data connection starts
	// moving files and no other is, and with false when the last one ends
	// (never under the manager's lock, never two calls at once). p2pchat
	// uses it to let Go use every processor while files move, so that
	// chat does not wait behind a transfer.
	Busy func(busy bool)
}

// Bounds on what peers can make the manager hold.
const (
	maxPending    = 8   // offers waiting for a decision, per peer whose name is pinned to its key
	maxPendingAll = 32  // offers waiting for a decision, in all
	maxStreams    = 16  // authenticated data connections being received at once
	maxKept       = 200 // finished transfers /transfers remembers
	ctlQueue      = 256 // control payloads waiting for the manager
)

// Bounds on what peers can make the manager hold, continued.
const (
	// A stranger (a key whose name is pinned to nobody: anyone can make
	// keys) has one offer waiting at a time, and strangers together half
	// of maxPendingAll: the other half is kept for known peers.
	maxPendingStranger  = 1
	maxPendingStrangers = 16

	// Accepted incoming transfers not finished (each holds a state file
	// and sends an accept every 3 s while no data comes), whether accepted
	// by the user or by -accept-from.
	maxLivePerPeer     = 4
	maxLiveAll         = 32
	maxPromisedPerPeer = 1 << 40 // bytes offered in them, per peer

	// The reader of Events may stall (a -json reader that stopped): what
	// waits for it is bounded, with 1/4 kept for our own transfers' events.
	maxEvents     = 1024    // events waiting for the reader
	maxEventBytes = 1 << 20 // their names and texts (eventSize)

	// New offers a peer may make (a token bucket per key, before anything
	// else is looked at), and how many peers are tracked at once.
	offerRate   = 4 // a second
	offerBurst  = 8
	maxRateKeys = 1024

	// Refusals of bad offers are said once per peer per refusalEvery,
	// with a count; that many peers' refusals are counted at once.
	refusalEvery   = 10 * time.Second
	maxRefusalKeys = 256
)

// Timing of the control protocol.
const (
	tickEvery     = 250 * time.Millisecond // also the shortest interval between progress events (4/s)
	offerEvery    = 2 * time.Second        // the sender repeats an unanswered offer
	offerExpire   = 4 * offerEvery         // an undecided offer not repeated for this long is dropped (its sender left)
	acceptEvery   = 3 * time.Second        // the receiver repeats its accept while no data comes
	dialMin       = time.Second            // first wait before dialing again
	dialMax       = 5 * time.Second
	dialTimeout   = 3 * time.Second
	helloTimeout  = 10 * time.Second
	ioTimeout     = 15 * time.Second // a data connection silent this long is lost
	resultTimeout = time.Minute      // the receiver's last verdicts after the last byte
)

// Manager runs the transfers of one node, both ways.
//
// Goroutines: loop (control payloads, tick), pump (Events), saver (state
// files), prepare (hashing an offer), one per data connection (sendSession,
// recvSession and readResults), and the node's and streams' callers.
//
// Locks, and their order (a lock is taken only while holding those
// before it, never after):
//
//  1. slots, then an xfer's turn (the receiving data connection's
//     tokens, channels of one): taken without any lock held; their
//     holder takes Manager.mu.
//  2. Manager.mu: the transfers, events and the saver's queue. Config.Busy
//     is never called under it, and the only file I/O under it is what
//     must be atomic with a cancel (a partial file created or named; see
//     fileWriter.open and advance).
//  3. the node's locks: Manager.mu calls Node.SendFile, Node.Peer and
//     Node.PeerKey; the node calls the manager only through the file
//     handler, which does not block and takes no lock.
//
// handshakes.mu and busyMu are leaves: taken with no other lock held,
// nothing taken under them (Config.Busy is called under busyMu, and must
// not call into the Manager). The saver takes Manager.mu only to take its
// queue and to say it is done: it writes and removes files without it.
// streamStats are atomics.
//
// Methods named ...Locked expect Manager.mu held (xfer.applyLocked too);
// the others take it themselves where they need it.
type Manager struct {
	// Set by New, never changed after.
	cfg       Config
	node      Node
	pub       [32]byte
	log       *slog.Logger
	root      *os.Root          // the downloads folder
	accept    map[string]bool   // Config.AcceptFrom; read only
	ctl       chan peer.FileMsg // control payloads for loop
	slots     chan struct{}     // authenticated incoming data connections (maxStreams)
	events    chan Event        // Events; pump sends, and closes it
	done      chan struct{}     // closed by Close
	evNote    chan struct{}     // a token: evq has something, or the manager closed
	saveNote  chan struct{}     // a token: saveq has something
	saveStop  chan struct{}     // closed by Close once everything but the saver stopped
	saverDone chan struct{}     // closed by the saver when all is written
	wg        sync.WaitGroup    // loop, prepare and the data connections' goroutines

	// mu guards these, and the fields of every xfer marked so (below).
	// State files are written and removed without it (saver), and
	// Config.Busy is never called under it.
	mu       sync.Mutex
	closed   bool
	next     int // the last local id given
	all      map[int]*xfer
	byTID    map[tkey]*xfer
	finished []int         // local ids of final transfers, oldest first (maxKept)
	changed  chan struct{} // closed at the next change (changesLocked, signalLocked)
	evq      []Event       // events for pump
	evBytes  int           // eventSize of what evq holds
	handing  bool          // pump took an event from evq and has not put it in events yet
	stats    Stats
	// New offers per peer (allowOfferLocked: the peers that offered last), and
	// refusals not said yet per peer (refuseOffer; tick forgets idle ones).
	offerRate *rate.Keyed[[32]byte]
	refusals  map[[32]byte]*refusal
	// State files to write or remove (queueStateLocked), in order, for the
	// saver goroutine; saving: it is writing a batch.
	saveq     map[stateKey]*stateOp
	saveOrder []stateKey
	saving    bool

	// busyMu guards busyN and orders the calls of Config.Busy.
	busyMu sync.Mutex
	busyN  int // data connections moving files (Config.Busy)

	sstats streamStats // data-connection counters (atomics: no lock)
	hs     handshakes  // data connections not authenticated yet (handshakes.mu)

	// dial opens a data connection (nil: TCP; tests replace it before the
	// first Send). Read-only once a transfer runs.
	dial func(addr netip.AddrPort) (net.Conn, error)
}

// tkey identifies a transfer: the peer's key and the sender's id for it.
type tkey struct {
	peer [32]byte
	tid  uint64
	out  bool
}

// xfer is one transfer: the fields both directions have, then those of
// the sending side (sendSide, used only when out) and of the receiving
// side (recvSide, only when !out). Each field is in one of three
// sections, by who may touch it:
//
//   - fixed: set before the xfer is added to Manager.all (or, where said,
//     once under Manager.mu before any data connection can find it), never
//     changed after; read without a lock;
//   - guarded by Manager.mu;
//   - receiver: owned by the data connection's goroutine that holds the
//     token of turn, for as long as it runs (one connection at a time
//     writes the files); it writes them under Manager.mu too, so others
//     read them under Manager.mu.
//
// The state changes only by applyLocked (step), under Manager.mu.
type xfer struct {
	// Fixed.
	local   int
	tid     uint64
	out     bool
	peerKey [32]byte
	// files is as offered (the sender's names). The sender fills in the
	// SHA-256s under Manager.mu in prepare, before ready; fixed after.
	files []wire.FileEntry
	total int64
	// stateName: the state file's name (statePath), set at Send, at the
	// accept (under Manager.mu, before any data connection is let in) or
	// by load.
	stateName string

	// Guarded by Manager.mu.
	peerID   string
	peerName string
	key      [32]byte // the transfer key, once accepted
	state    State    // changed only by apply
	code     Code
	moved    int64 // bytes on the receiver's disk, as far as we know
	// fileDone: verified. On the receiver, only the data connection
	// holding turn writes it (under Manager.mu too), so it reads it
	// without Manager.mu.
	fileDone []bool
	conn     net.Conn  // the data connection, while one runs
	next     time.Time // next offer, accept or dial
	wasLive  bool      // data flowed once: a new connection is a resume
	sess     time.Time // when the current connection started
	sessAt   int64     // moved when it started
	lastProg time.Time
	progAt   int64
	// The peer's cancel that came while a data connection ran: that
	// connection's end says more precisely what happened (a verdict travels
	// on it), so the cancel decides only if it does not (see endedLocked).
	peerCancel *Event
	lostSeq    int // counts lost connections, for the deferred pause notice
	// The pause notice is said once until the transfer resumes (a full
	// disk tried again says nothing new): the code of the pause shown, and
	// a resume not announced yet, from resumeAt bytes (announceResumeLocked).
	pauseShown    Code
	resumePending bool
	resumeAt      int64
	// stallSince: when the transfer last made progress (zero: not yet
	// looked at). tick sets it on both sides; only the sender's giveUp
	// reads it (Config.GiveUpAfter).
	stallSince time.Time

	sendSide
	recvSide
}

// sendSide is what only the sender of a transfer has (xfer.out).
type sendSide struct {
	// Fixed.
	srcs []string // the source paths

	// Guarded by Manager.mu.
	stamps   []fileStamp // size and mtime when hashed (data connections copy it under mu)
	ready    bool        // hashed, the offer can go out
	dialing  bool        // a sendSession is dialing or running
	attempts int         // dials made (the wait before the next grows with it)
	// Giving up (Config.GiveUpAfter): when the offer went out, the most
	// the receiver said it had, and why it last paused.
	offeredAt time.Time
	confirmed int64
	pauseWhy  error // why the last data connection ended (nil: none did)
}

// recvSide is what only the receiver of a transfer has (!xfer.out).
type recvSide struct {
	// Fixed.
	safe     []string // sanitised names
	stranger bool     // the sender's name was pinned to nobody when it offered
	// lname: the local name of the partial files (partialName), chosen
	// by us at the accept, under Manager.mu, before any data connection
	// is let in.
	lname string

	// Guarded by Manager.mu.
	lastOffer time.Time // while the offer waits: when its sender last repeated it (offerExpire)
	// turn: one data connection at a time writes the files: it holds the
	// token of turn, a channel of one (made under Manager.mu when first
	// needed; a channel rather than a mutex, so that a connection waiting
	// for an older one to end can also give up).
	turn chan struct{}

	// Owned by the data connection holding turn (written under
	// Manager.mu too): where each file landed, once verified.
	final []string
}

// New starts a manager and takes over the node's transfer payloads and
// data connections. Close it before the node.
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := partialFolder(cfg.Downloads); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(cfg.Downloads)
	if err != nil {
		return nil, fmt.Errorf("transfer: downloads folder: %w", err)
	}
	m := &Manager{
		cfg: cfg, node: cfg.Node, pub: cfg.Node.PublicKey(), log: cfg.Logger, root: root,
		ctl: make(chan peer.FileMsg, ctlQueue), slots: make(chan struct{}, maxStreams),
		all: map[int]*xfer{}, byTID: map[tkey]*xfer{}, accept: map[string]bool{},
		offerRate: rate.NewKeyed[[32]byte](offerRate, offerBurst, maxRateKeys), refusals: map[[32]byte]*refusal{},
		saveq: map[stateKey]*stateOp{}, saveNote: make(chan struct{}, 1),
		saveStop: make(chan struct{}), saverDone: make(chan struct{}),
		events: make(chan Event, 64), done: make(chan struct{}), evNote: make(chan struct{}, 1),
	}
	for _, n := range cfg.AcceptFrom {
		m.accept[n] = true
	}
	m.load()
	cfg.Node.SetFileHandler(func(f peer.FileMsg) {
		select {
		case m.ctl <- f:
		default: // full: the sender repeats itself
		}
	})
	if cfg.Streams != nil {
		cfg.Streams.HandleStreams(m.serveStream)
	}
	m.wg.Add(1)
	go m.loop()
	go m.pump()
	go m.saver(m.saveStop, m.saverDone)
	return m, nil
}

// Events delivers what happens to transfers; closed after Close.
func (m *Manager) Events() <-chan Event { return m.events }

// Close stops every transfer (what is accepted and incomplete is kept on
// disk for a resume) and closes Events.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for _, x := range m.all {
		if x.conn != nil {
			x.conn.Close()
		}
		if x.out && !x.state.Final() {
			code := CodeStopped
			if x.state == Offered {
				code = CodeNotAcceptedYet
			}
			m.emitLocked(Event{Kind: EvFailed, ID: x.local, Code: code, Resumable: x.state != Offered && m.cfg.StateDir != "",
				Note: NoteQuitting})
		}
	}
	m.noteEvents()
	m.mu.Unlock()
	close(m.done)
	m.wg.Wait()
	close(m.saveStop) // what the transfers queued is written before the root closes
	<-m.saverDone
	return m.root.Close()
}

// Send offers the files and folders at paths to the peer with id. Folders
// are sent with everything in them, keeping their layout. The files are
// hashed before the offer goes out (an "offered" event says when).
func (m *Manager) Send(peerID string, paths []string) (int, error) {
	p, ok := m.node.Peer(peerID)
	if !ok {
		return 0, fmt.Errorf("%w: %s", peer.ErrUnknownPeer, peerID)
	}
	key, ok := m.node.PeerKey(peerID)
	if !ok {
		return 0, fmt.Errorf("%w: %s", peer.ErrUnknownPeer, peerID)
	}
	entries, srcs, err := collect(paths)
	if err != nil {
		return 0, err
	}
	x := &xfer{out: true, peerID: peerID, peerName: p.Name, peerKey: key, files: entries, state: Offered,
		sendSide: sendSide{srcs: srcs}}
	for _, e := range entries {
		x.total += int64(e.Size)
	}
	x.fileDone = make([]bool, len(entries))
	var b [8]byte
	for x.tid == 0 {
		rand.Read(b[:])
		x.tid = binary.BigEndian.Uint64(b[:])
	}
	x.stateName = outStateName(x)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, &Error{Cause: CauseStopped}
	}
	m.addLocked(x)
	id := x.local
	m.mu.Unlock()
	m.wg.Add(1)
	go m.prepare(x)
	return id, nil
}

// prepare hashes the files of an outgoing offer, then lets it go out.
func (m *Manager) prepare(x *xfer) {
	defer m.wg.Done()
	stamps := make([]fileStamp, len(x.srcs))
	sums := make([][32]byte, len(x.srcs))
	for i, src := range x.srcs {
		sum, st, err := hashFile(src, m.done)
		if err != nil {
			m.mu.Lock()
			m.finishLocked(x, inFail, Event{Code: CodeSourceError, Note: NoteNotSent, Err: err})
			m.mu.Unlock()
			return
		}
		sums[i], stamps[i] = sum, st
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if x.state.Final() || m.closed {
		return
	}
	for i := range x.files {
		x.files[i].SHA256 = sums[i]
		if int64(x.files[i].Size) != stamps[i].size {
			m.finishLocked(x, inFail, Event{Code: CodeSourceChanged, Note: NoteNotSent, File: x.srcs[i]})
			return
		}
	}
	x.stamps = stamps
	x.ready = true
	x.next = time.Time{}
	x.offeredAt = time.Now()
	m.saveLocked(x)
	m.emitLocked(Event{Kind: EvOffered, ID: x.local, Files: x.names(), Total: x.total,
		Hint: HintCancel})
	m.sendOfferLocked(x, time.Now())
}

// Accept accepts the incoming offer id.
func (m *Manager) Accept(id int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	x, err := m.incomingLocked(id)
	if err != nil {
		return err
	}
	if x.state != Offered {
		return &DecidedError{ID: id, State: x.state}
	}
	if err := m.roomForLocked(x); err != nil {
		return err
	}
	m.acceptLocked(x, false)
	return nil
}

// ErrTooManyTransfers is what Accept's error is (errors.Is) when accepting would
// pass a bound on the transfers being received: 4 per peer or 1 TiB
// offered in them, 32 in all. The offer keeps waiting.
var ErrTooManyTransfers = errors.New("transfer: too many transfers being received")

// roomForLocked says whether incoming offer x may be accepted within the
// bounds on live incoming transfers (m.mu held).
func (m *Manager) roomForLocked(x *xfer) error {
	all, peer := 0, 0
	var promised int64
	for _, y := range m.all {
		if y.out || y.state == Offered || y.state.Final() {
			continue
		}
		all++
		if y.peerKey == x.peerKey {
			peer++
			promised += y.total
		}
	}
	switch {
	case all >= maxLiveAll:
		return &Error{Cause: CauseTooManyAll, Have: int64(all), Size: maxLiveAll}
	case peer >= maxLivePerPeer:
		return &Error{Cause: CauseTooManyPeer, Have: int64(peer), Size: maxLivePerPeer}
	case promised+x.total > maxPromisedPerPeer:
		return &Error{Cause: CauseTooMuchOffered, Have: promised, Size: maxPromisedPerPeer}
	}
	return nil
}

func (m *Manager) acceptLocked(x *xfer, auto bool) {
	rand.Read(x.key[:])
	x.lname = newLocalName()
	x.stateName = x.lname + ".json"
	x.applyLocked(inAccept)
	x.final = make([]string, len(x.files))
	if err := m.saveLocked(x); err != nil {
		m.log.Warn("transfer: state not saved", "err", err)
	}
	m.emitLocked(Event{Kind: EvAccepted, ID: x.local, Total: x.total, Auto: auto, Path: m.cfg.Downloads})
	m.sendAcceptLocked(x, time.Now())
}

// Reject rejects the incoming offer id.
func (m *Manager) Reject(id int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	x, err := m.incomingLocked(id)
	if err != nil {
		return err
	}
	if x.state != Offered {
		return &DecidedError{ID: id, State: x.state}
	}
	m.controlLocked(x, wire.KindReject, wire.CodeUser)
	m.finishLocked(x, inReject, Event{Code: CodeRejected, Note: NoteRejected})
	return nil
}

// Cancel stops transfer id, either way, and tells the peer.
func (m *Manager) Cancel(id int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.all[id]
	if x == nil {
		return &Error{Cause: CauseNoTransfer, Index: id}
	}
	if x.state.Final() {
		return &DecidedError{ID: id, State: x.state}
	}
	m.forgetLocked(x) // the partial files are gone before the peer hears of it
	m.controlLocked(x, wire.KindCancel, wire.CodeUser)
	m.finishLocked(x, inCancel, Event{Code: CodeCancelled, Note: NoteCancelled})
	return nil
}

// endGrace is how long the end of a data connection and the peer's word
// about it (a cancel on the chat channel) may be apart: they travel
// different ways, and the user should get one notice with the right reason.
const endGrace = time.Second

// later runs f with m.mu held after d, unless the manager closed.
func (m *Manager) later(d time.Duration, f func()) {
	time.AfterFunc(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		select {
		case <-m.done:
			return
		default:
		}
		f()
	})
}

// List is every transfer of this run, newest first.
func (m *Manager) List() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.all))
	now := time.Now()
	for _, x := range m.all {
		in := Info{ID: x.local, Direction: x.dir("send", "receive"), Peer: x.peerName, PeerID: x.peerID, Files: len(x.files),
			Bytes: x.moved, Total: x.total, State: x.state, Code: x.code}
		if len(x.files) > 0 {
			in.Name = x.displayName(0)
		}
		if x.state == Active {
			if d := now.Sub(x.sess).Seconds(); d > 0 {
				in.Rate = float64(x.moved-x.sessAt) / d
			}
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// Wait waits until no outgoing transfer is live, or ctx ends. It reports
// whether every outgoing transfer of this run ended done.
func (m *Manager) Wait(ctx context.Context) bool {
	for {
		m.mu.Lock()
		live, all, done := 0, 0, 0
		for _, x := range m.all {
			if !x.out {
				continue
			}
			all++
			if !x.state.Final() {
				live++
			} else if x.state == Done {
				done++
			}
		}
		ch := m.changesLocked()
		m.mu.Unlock()
		if live == 0 {
			return done == all
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// Sent is the number of outgoing transfers of this run.
func (m *Manager) Sent() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.all {
		if x.out {
			n++
		}
	}
	return n
}

// Live reports whether an outgoing transfer is still running, or an
// event is not in the Events channel yet: once it is false, every event
// about the ended transfers can be read from Events without waiting.
func (m *Manager) Live() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.evq) > 0 || m.handing {
		return true // events not in the Events channel yet
	}
	for _, x := range m.all {
		if x.out && !x.state.Final() {
			return true
		}
	}
	return false
}

func (m *Manager) incomingLocked(id int) (*xfer, error) {
	x := m.all[id]
	if x == nil || x.out {
		return nil, &Error{Cause: CauseNoOffer, Index: id}
	}
	return x, nil
}

// addLocked gives x a local id (m.mu held).
func (m *Manager) addLocked(x *xfer) {
	m.next++
	x.local = m.next
	m.all[x.local] = x
	m.byTID[tkey{x.peerKey, x.tid, x.out}] = x
	m.signalLocked()
}

// finishLocked moves x to the final state input in leads to (inVerified,
// inFail, inCancel or inReject), tells the user and cleans up (m.mu
// held). An input that means nothing in x's state changes nothing.
func (m *Manager) finishLocked(x *xfer, in input, why Event) {
	if !x.applyLocked(in) || !x.state.Final() {
		return
	}
	x.code = why.Code
	if x.conn != nil {
		x.conn.Close()
		x.conn = nil
	}
	m.forgetLocked(x)
	if x.state != Done {
		why.Kind, why.ID = EvFailed, x.local
		m.emitLocked(why)
	}
	m.finished = append(m.finished, x.local)
	if len(m.finished) > maxKept {
		old := m.all[m.finished[0]]
		delete(m.all, m.finished[0])
		if old != nil && m.byTID[tkey{old.peerKey, old.tid, old.out}] == old {
			delete(m.byTID, tkey{old.peerKey, old.tid, old.out})
		}
		m.finished = m.finished[1:]
	}
	m.signalLocked()
}

// controlLocked sends x's peer a control payload once (m.mu held).
func (m *Manager) controlLocked(x *xfer, kind wire.Kind, code wire.TransferCode) {
	pl := wire.Payload{Kind: kind, Transfer: x.tid, Code: code}
	if kind == wire.KindAccept {
		pl.TransferKey = x.key
	}
	if kind == wire.KindOffer {
		pl.Files = x.files
	}
	if err := m.node.SendFile(x.peerID, pl); err != nil {
		m.log.Debug("transfer: control not sent", "kind", kind, "peer", x.peerName, "err", err)
	}
}

func (m *Manager) sendOfferLocked(x *xfer, now time.Time) {
	m.controlLocked(x, wire.KindOffer, 0)
	x.next = now.Add(offerEvery)
}

func (m *Manager) sendAcceptLocked(x *xfer, now time.Time) {
	m.controlLocked(x, wire.KindAccept, 0)
	x.next = now.Add(acceptEvery)
}

// loop handles control payloads and timers.
func (m *Manager) loop() {
	defer m.wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case f := <-m.ctl:
			m.onControl(f, time.Now())
		case now := <-t.C:
			m.tick(now)
		}
	}
}

// onControl handles one control payload from a peer.
func (m *Manager) onControl(f peer.FileMsg, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	pl := &f.Payload
	if pl.Kind == wire.KindOffer {
		m.onOfferLocked(f, now)
		return
	}
	// Answers about our offers come from the receiver; accepts are only
	// ever about our offers, rejects too; a cancel may be about either.
	x := m.byTID[tkey{f.Key, pl.Transfer, true}]
	if x == nil && pl.Kind == wire.KindCancel {
		x = m.byTID[tkey{f.Key, pl.Transfer, false}]
	}
	if x == nil {
		if pl.Kind == wire.KindAccept {
			// An accept of an offer we do not know (any more): say so, so
			// that the receiver stops waiting.
			_ = m.node.SendFile(f.PeerID, wire.Payload{Kind: wire.KindCancel, Transfer: pl.Transfer, Code: wire.CodeUnknown})
		}
		return
	}
	x.peerID, x.peerName = f.PeerID, f.Peer
	switch pl.Kind {
	case wire.KindAccept:
		switch {
		case x.state == Offered && x.ready:
			x.key = pl.TransferKey
			x.applyLocked(inAccept)
			x.next = time.Time{} // dial at once
			x.stallSince = now
			m.saveLocked(x)
			m.emitLocked(Event{Kind: EvAccepted, ID: x.local, Total: x.total})
		case x.state == Connecting || x.state == Paused:
			if x.key != pl.TransferKey {
				return // an accept of the receiver's earlier run: it had to accept again? keep ours
			}
			if x.conn == nil && !x.dialing {
				x.next = time.Time{}
			}
		case x.state.Final() && x.state != Done:
			_ = m.node.SendFile(f.PeerID, wire.Payload{Kind: wire.KindCancel, Transfer: x.tid, Code: wire.CodeFailed})
		}
	case wire.KindReject:
		if x.state == Offered {
			code := CodeRejected
			switch pl.Code {
			case wire.CodeBusy:
				code = CodeBusy
			case wire.CodeBadOffer:
				code = CodeBadOffer
			}
			m.finishLocked(x, inReject, Event{Code: code, Note: NotePeerRejected})
		}
	case wire.KindCancel:
		why := Event{Code: CodePeerCancelled, Note: NotePeerCancelled}
		switch pl.Code {
		case wire.CodeUnknown:
			why.Code = CodeUnknown
		case wire.CodeFailed:
			why.Code = CodePeerFailed
		}
		if x.conn != nil && !x.state.Final() {
			// The cancel overtook the end of the data connection (it
			// travels on the chat channel): let that end say why, unless
			// it does not come.
			x.peerCancel = &why
			m.later(endGrace, func() {
				if !x.state.Final() && x.peerCancel != nil {
					m.finishLocked(x, inCancel, why)
				}
			})
			return
		}
		m.finishLocked(x, inCancel, why)
	}
}

// onOfferLocked takes in an offer, or answers a repeated one (m.mu held).
func (m *Manager) onOfferLocked(f peer.FileMsg, now time.Time) {
	pl := &f.Payload
	if x := m.byTID[tkey{f.Key, pl.Transfer, false}]; x != nil {
		x.peerID, x.peerName = f.PeerID, f.Peer
		x.lastOffer = now
		switch x.state {
		case Connecting, Paused, Active:
			m.sendAcceptLocked(x, now)
		case Rejected:
			m.controlLocked(x, wire.KindReject, wire.CodeUser)
		case Cancelled, Failed:
			m.controlLocked(x, wire.KindCancel, wire.CodeUser)
		}
		return
	}
	if !m.allowOfferLocked(f.Key, now) {
		return // unread and unanswered: an honest sender repeats it
	}
	for _, y := range m.all {
		if !y.out && !y.state.Final() && y.tid == pl.Transfer {
			// Another sender's live transfer has this id: ids are random,
			// so this one is made up. Refused, whoever sent it.
			m.stats.OffersCollided++
			_ = m.node.SendFile(f.PeerID, wire.Payload{Kind: wire.KindReject, Transfer: pl.Transfer, Code: wire.CodeBusy})
			return
		}
	}
	reply := func(kind wire.Kind, code wire.TransferCode) {
		_ = m.node.SendFile(f.PeerID, wire.Payload{Kind: kind, Transfer: pl.Transfer, Code: code})
	}
	pending, perPeer, strangers := 0, 0, 0
	for _, x := range m.all {
		if !x.out && x.state == Offered {
			pending++
			if x.peerKey == f.Key {
				perPeer++
			}
			if x.stranger {
				strangers++
			}
		}
	}
	limit := maxPending
	if !f.Pinned {
		limit = maxPendingStranger
	}
	if pending >= maxPendingAll || perPeer >= limit || (!f.Pinned && strangers >= maxPendingStrangers) {
		m.stats.OffersBusy++
		reply(wire.KindReject, wire.CodeBusy)
		return
	}
	x := &xfer{tid: pl.Transfer, peerID: f.PeerID, peerName: f.Peer, peerKey: f.Key, files: pl.Files, state: Offered,
		recvSide: recvSide{stranger: !f.Pinned, lastOffer: now}}
	x.safe = make([]string, len(x.files))
	x.fileDone = make([]bool, len(x.files))
	for i, e := range x.files {
		s, err := SanitizeName(e.Name)
		if err != nil {
			reply(wire.KindReject, wire.CodeBadOffer)
			m.refuseOfferLocked(f.Key, Event{Kind: EvFailed, Direction: "receive", Peer: f.Peer, PeerID: f.PeerID, Code: CodeBadOffer, Count: 1,
				Note: NoteRefused, File: e.Name, Err: err}, now)
			return
		}
		x.safe[i] = s
		x.total += int64(e.Size)
	}
	m.addLocked(x)
	m.emitFromPeerLocked(Event{Kind: EvOffer, ID: x.local, Files: x.safe, Total: x.total,
		Hint: HintDecide})
	if m.accept[f.Peer] && f.Pinned { // the name must be this key's: not merely the first to claim it
		if m.roomForLocked(x) != nil {
			m.stats.AutoAcceptsHeld++ // it waits for the user
			return
		}
		m.acceptLocked(x, true)
	}
}

// tick repeats offers and accepts, dials, and reports progress.
func (m *Manager) tick(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.tickPeersLocked(now)
	for _, x := range m.all {
		if x.state.Final() {
			continue
		}
		if x.state == Active && x.moved != x.progAt && now.Sub(x.lastProg) >= tickEvery {
			if x.conn != nil && now.Sub(x.sess) >= time.Second {
				x.stallSince = now // data flows on a connection that lasts
			}
			x.lastProg, x.progAt = now, x.moved
			m.emitLocked(Event{Kind: EvProgress, ID: x.local, Bytes: x.moved, Total: x.total})
		}
		if x.resumePending && x.state == Active && x.conn != nil && x.moved > x.resumeAt && now.Sub(x.sess) >= resumeQuiet {
			m.announceResumeLocked(x)
		}
		if x.out && m.giveUpLocked(x, now) {
			continue
		}
		if !x.out && x.state == Offered {
			if now.Sub(x.lastOffer) >= offerExpire || !m.onlineLocked(x.peerID) {
				m.expireOfferLocked(x)
			}
			continue
		}
		if now.Before(x.next) {
			continue
		}
		switch {
		case x.out && x.state == Offered && x.ready:
			m.sendOfferLocked(x, now)
		case !x.out && (x.state == Connecting || x.state == Paused) && x.conn == nil:
			m.sendAcceptLocked(x, now)
		case x.out && (x.state == Connecting || x.state == Paused) && x.conn == nil && !x.dialing:
			// Dial the last known address even while the node thinks the
			// peer is gone: after a lost link the data connection is often
			// back before the first heartbeat is.
			p, ok := m.node.Peer(x.peerID)
			if !ok || p.Addr == "" {
				x.next = now.Add(dialMin)
				continue
			}
			addr, err := netip.ParseAddrPort(p.Addr)
			if err != nil {
				x.next = now.Add(dialMin)
				continue
			}
			x.dialing = true
			x.attempts++
			x.next = now.Add(min(dialMax, dialMin*time.Duration(x.attempts)))
			m.wg.Add(1)
			go m.sendSession(x, addr)
		}
	}
}

// onlineLocked reports whether the node sees the peer with id online (m.mu
// held).
func (m *Manager) onlineLocked(id string) bool {
	p, ok := m.node.Peer(id)
	return ok && p.Online
}

// expireOfferLocked drops the undecided incoming offer x: its sender stopped
// repeating it, or went offline (m.mu held). If the sender comes back and
// repeats it, it is a new offer.
func (m *Manager) expireOfferLocked(x *xfer) {
	m.stats.OffersExpired++
	m.finishLocked(x, inCancel, Event{Code: CodeOfferExpired})
	if k := (tkey{x.peerKey, x.tid, false}); m.byTID[k] == x {
		delete(m.byTID, k)
	}
}

// giveUpLocked ends outgoing transfer x if it waited longer than
// Config.GiveUpAfter for an answer to its offer or for progress, and
// reports whether it did (m.mu held).
func (m *Manager) giveUpLocked(x *xfer, now time.Time) bool {
	limit := m.cfg.GiveUpAfter
	if limit <= 0 {
		return false
	}
	why := Event{Code: CodeTimeout, Limit: limit}
	switch x.state {
	case Offered:
		if !x.ready || now.Sub(x.offeredAt) < limit {
			return false
		}
		why.Note = NoteUnanswered
	case Connecting, Paused, Active:
		if x.stallSince.IsZero() {
			x.stallSince = now // taken over from an earlier run
		}
		if now.Sub(x.stallSince) < limit {
			return false
		}
		why.Note, why.Bytes, why.Err = NoteStalled, x.moved, x.pauseWhy
	default:
		return false
	}
	m.controlLocked(x, wire.KindCancel, wire.CodeFailed)
	m.finishLocked(x, inFail, why)
	return true
}

// GaveUp is the number of outgoing transfers of this run given up after
// Config.GiveUpAfter (CodeTimeout).
func (m *Manager) GaveUp() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.all {
		if x.out && x.code == CodeTimeout {
			n++
		}
	}
	return n
}

// emitLocked queues an event (m.mu held). Progress events are dropped
// when the reader is behind; the others up to maxEvents and
// maxEventBytes (counted).
func (m *Manager) emitLocked(e Event) { m.emitShareLocked(e, 1) }

// emitFromPeerLocked queues an event that a peer's offer caused (m.mu held):
// those may take 3/4 of the queue, the rest is kept for our transfers.
func (m *Manager) emitFromPeerLocked(e Event) { m.emitShareLocked(e, 3.0/4) }

func (m *Manager) emitShareLocked(e Event, share float64) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if x := m.all[e.ID]; x != nil && e.ID != 0 {
		e.Direction, e.Peer, e.PeerID = x.dir("send", "receive"), x.peerName, x.peerID
		if len(x.files) > 0 {
			e.First, e.NumFiles = x.displayName(0), len(x.files)
		}
		if e.Total == 0 {
			e.Total = x.total
		}
	}
	if e.Kind == EvProgress && len(m.evq) > 16 {
		m.stats.ProgressDropped++
		return
	}
	n := eventSize(&e)
	if len(m.evq) >= int(share*maxEvents) || m.evBytes+n > int(share*maxEventBytes) {
		m.stats.EventsDropped++
		return
	}
	m.evq = append(m.evq, e)
	m.evBytes += n
	m.noteEvents()
}

// eventSize is about what e takes in memory.
func eventSize(e *Event) int {
	n := 256 + len(e.Peer) + len(e.PeerID) + len(e.Path) + len(e.SHA256) + len(e.First) + len(e.File)
	if e.Err != nil {
		n += len(e.Err.Error())
	}
	for _, f := range e.Files {
		n += 16 + len(f)
	}
	return n
}

// noteEvents wakes pump, without blocking.
func (m *Manager) noteEvents() {
	select {
	case m.evNote <- struct{}{}:
	default: // a token is there already
	}
}

// pump hands queued events to the Events channel.
func (m *Manager) pump() {
	defer close(m.events)
	for {
		m.mu.Lock()
		for len(m.evq) == 0 && !m.closed {
			m.mu.Unlock()
			<-m.evNote // a channel, not a sync.Cond: testing/synctest sees pump durably blocked
			m.mu.Lock()
		}
		if len(m.evq) == 0 {
			m.mu.Unlock()
			return
		}
		e := m.evq[0]
		m.evq[0] = Event{}
		m.evq = m.evq[1:]
		m.evBytes -= eventSize(&e)
		m.handing = true
		pending := len(m.saveOrder) > 0 || m.saving
		m.mu.Unlock()
		if pending {
			// What the event says is on disk when it is read (a state
			// file written or removed before it was emitted).
			m.flushState()
		}
		m.events <- e
		m.mu.Lock()
		m.handing = false
		m.mu.Unlock()
	}
}

func (m *Manager) changesLocked() chan struct{} {
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}

func (m *Manager) signalLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}

func (x *xfer) displayName(i int) string {
	if !x.out && x.safe != nil {
		return x.safe[i]
	}
	return x.files[i].Name
}

func (x *xfer) names() []string {
	out := make([]string, len(x.files))
	for i := range x.files {
		out[i] = x.displayName(i)
	}
	return out
}

func (x *xfer) dir(out, in string) string {
	if x.out {
		return out
	}
	return in
}

// FormatBytes renders n for people: "512 B", "2.3 MB", "1.1 GB".
func FormatBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// serveStream is the stream handler: a data connection to receive. An
// unauthenticated connection holds no slot: it waits for its hello and
// the sender's proof of the key for handshakeTimeout at most, within a
// budget per source (maxHandshakesPerSource) and in all (maxHandshakes);
// a slot (maxStreams) is taken only by a connection whose sender proved
// the key (recvSession).
func (m *Manager) serveStream(nc net.Conn, r *bufio.Reader, from netip.AddrPort) {
	release, ok := m.hs.take(from.Addr(), &m.sstats)
	if !ok {
		nc.Close()
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		release()
		nc.Close()
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	m.recvSession(nc, r, from, release)
}

// busy counts a data connection that moves files in (+1) or out (-1) and
// tells Config.Busy when the first starts and the last ends.
func (m *Manager) busy(d int) {
	if m.cfg.Busy == nil {
		return
	}
	m.busyMu.Lock()
	defer m.busyMu.Unlock()
	m.busyN += d
	switch {
	case d > 0 && m.busyN == 1:
		m.cfg.Busy(true)
	case d < 0 && m.busyN == 0:
		m.cfg.Busy(false)
	}
}
