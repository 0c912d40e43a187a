package roomsnet

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// Application kinds of the node's app payloads (see doc.go).
const (
	appMessage  byte = 1
	appRelay    byte = 2
	appList     byte = 3
	appBinding  byte = 4
	appSummary  byte = 5
	appAdvert   byte = 6
	appRelayEnd byte = 7
)

// Bounds of the runner.
const (
	maxBound      = 4096    // signing keys known first-hand (from bindings), the oldest forgotten
	maxEventBytes = 4 << 20 // room events waiting for the shell (texts and 256 bytes each); past half, Filter waits
	maxAdverts    = 256     // rooms whose advertisers we remember (as rooms.MaxKnownRooms)
	tickEvery     = 2 * time.Second
	advertEvery   = 30 * time.Second // adverts to the peers online, besides those at meetings and changes
	advertGap     = time.Second      // the least time between two adverts for changes others made (joins, parts, topics)
	filterBatch   = 512              // node events Filter takes at once when they wait (one room-file write per batch)
	advertChunk   = 900              // bytes of one advert: a datagram's worth (a longer list goes as several)
	summaryGap    = time.Second      // the least time between two summaries to one peer for one room
	maxRelayRooms = 2                // rooms with a relay batch in flight to one peer at once (across rooms); a summary past it is deferred
	promoteWait   = 10 * time.Second // how long a slot waits for the summary a deferred room's relay-end asked for
	eventOverhead = 256
)

// Node is what the runner needs of the node (*peer.Node implements it).
type Node interface {
	SendApp(key [32]byte, label string, app byte, data []byte) (uint64, error)
	SendAppTo(to []peer.AppDest, app byte, data []byte) ([]uint64, []error)
	AppRoom(to []peer.AppDest, size int) error
	SendAppOnce(key [32]byte, app byte, data []byte) error
	Peers() []peer.PeerInfo
	Resolve(name string) (peer.PeerInfo, error)
	PeerKey(id string) ([32]byte, bool)
}

// Stats counts what the runner dropped or refused; one field per counter
// (the core's are CoreStats).
type Stats struct {
	BadBindings   uint64 // bindings that did not verify against their sender's identity key, dropped
	BadAdverts    uint64 // adverts that did not decode, dropped
	BadSummaries  uint64 // summaries that did not decode, dropped
	RelayBusy     uint64 // summaries not answered: a batch to that peer for that room was still unacknowledged
	RelayDeferred uint64 // summaries not answered yet: maxRelayRooms rooms' batches to that peer were in flight (a relay-end asks again when one is acknowledged)
	Relayed       uint64 // room messages of our log queued to members answering their summaries (catch-up and history)
	Resent        uint64 // our own messages sent to a member whose join reached us only after we spoke (resendOwnLocked)
	EventsDropped uint64 // room events not handed to the shell: maxEventBytes of them waited
	SaveErrors    uint64 // room files that could not be written
	SendErrors    uint64 // payloads the node would not queue (its outbox full)
	BoundEvicted  uint64 // first-hand signing keys forgotten for newer ones (maxBound)
	DiskBytes     uint64 // bytes written to the rooms directory (snapshots, journal records, the seqs file)
	Snapshots     uint64 // room snapshots written (a room's journal folded in, or a change of its member list)
	JournalDamage uint64 // room journals whose replay stopped at a record cut short or failing its checksum
	JournalSyncs  uint64 // fsyncs of room journals (at most one per room and tick: records are written at once, synced at the tick)
}

// Runner runs the rooms of one node. Its methods are safe for concurrent
// use.
//
// Concurrency contract:
//
//   - Immutable after New: node, signer, dir, now, log, evCond, events,
//     done (the channels are closed once: events by pump, done by Close
//     under the closed flag), and wg (Add in New, Wait in Close).
//   - Guarded by mu: everything else, st (rooms.State is not safe for
//     concurrent use; its Bound and NextSeq callbacks run under mu) and
//     the event queue (evq, evBytes, emitted, handed) included. evCond
//     waits on mu. Methods named ...Locked expect mu held; the exported
//     ones take it.
//   - Owned by one goroutine: pump (started by New) alone sends on and
//     closes events, with mu released while it hands an event over;
//     ticker (started by New) owns its time.Ticker; the goroutine Filter
//     starts owns its batch and its output channel, which it closes.
//   - Lock order: mu is the runner's only lock and it is taken before the
//     node's: the ...Locked methods call into the node (SendApp, Peers,
//     ...) with mu held. The node never calls into the runner; its events
//     come through the channel Filter reads with no lock held, and
//     nothing is sent on a channel with mu held (pump and Filter release
//     it first).
type Runner struct {
	// Immutable after New.
	node   Node
	signer *rooms.Signer
	dir    string // HOME/rooms ("": nothing kept on disk)
	now    func() time.Time
	log    *slog.Logger
	evCond *sync.Cond // on mu: the event queue changed, or closed
	events chan Event // unbuffered: the shell takes each event (pump sends)
	done   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex // guards every field below
	st       *rooms.State
	bound    map[rooms.Key]boundKey // first-hand bindings (maxBound; boundQ: oldest seen first), the maxSavedBound seen last kept on disk (bindings.go)
	boundQ   []rooms.Key
	bindSent map[rooms.Key]bool                // peers that have our binding in this run (cleared for a peer going offline is not needed: the stream keeps it)
	met      map[meetKey]time.Time             // summaries sent at the current meeting of (peer, room), when
	adv      map[rooms.ID]map[rooms.Key]string // open rooms: members heard advertising them (at most rooms.MaxMembers each, maxAdverts rooms)
	advQ     []rooms.ID
	advSeq   map[meetKey]uint64  // per advertiser in adv, our last seq in the room when it was first heard (rooms.State.OwnLast): our later messages were fanned out to it (resendOwnLocked)
	sends    map[uint64]sendRef  // SendApp ids of our room messages and relays, until acknowledged or failed
	relaying map[meetKey]int     // relay payloads in flight per (peer, room)
	busy     map[rooms.Key]int   // per peer, its rooms with relay payloads in flight (keys of relaying with that peer)
	owed     map[meetKey]bool    // summaries not answered: while that room's batch was in flight (RelayBusy: a relay-end follows the batch), or deferred (RelayDeferred: a relay-end when a slot frees)
	promoted map[rooms.Key]promo // per peer, the deferred room whose relay-end was sent: the slot it holds waits for that room's summary (promoteWait)
	last     map[rooms.ID]uint64
	have     map[rooms.ID]map[rooms.Key]bool // members that acknowledged our last message in the room
	dirty    map[rooms.ID]bool               // rooms whose snapshot to write before the shell marks a payload shown (saveDirtyLocked)
	jbuf     map[rooms.ID][]byte             // journal records to append before the shell marks a payload shown (saveDirtyLocked)
	lazy     map[rooms.ID]bool               // rooms whose jbuf holds our own messages only: appended at the next tick (saveAllLocked)
	jf       map[rooms.ID]*os.File           // open journals (rooms we are in)
	unsynced map[rooms.ID]bool               // journals written since their last sync: synced at the next tick (syncJournalsLocked)
	jsize    map[rooms.ID]int64              // bytes of each open journal
	snap     map[rooms.ID]int64              // bytes of each room's snapshot as last written or read (journalLimit)
	shownIn  map[rooms.ID]map[rooms.Key]bool // members whose room-joined was shown (at most rooms.MaxAuthors a room)
	seqs     map[rooms.ID]uint64             // as in the seqs file: per room, a seq past every one we may have used (maxSeqRooms)
	floor    map[rooms.ID]uint64             // rooms.State.NextSeq: seqs as loaded at start, or set when we part
	advDue   bool                            // membership or a topic changed: tell the online peers (at the end of a batch, at most every advertGap)
	advAt    time.Time                       // when we last told them
	enc      []byte                          // a relayed message's or a summary's encoding (reused: the node copies what it sends)
	stats    Stats
	closed   bool
	boundMod bool        // bound changed since the bindings file was written
	bindQ    []rooms.Key // the keys of bindSent, oldest first (maxBound)

	evq     []Event // events for the shell, oldest first (pump hands them over)
	evBytes int
	emitted uint64 // events queued for the shell so far
	handed  uint64 // of which the shell has taken (events is unbuffered)
}

type meetKey struct {
	peer rooms.Key
	room rooms.ID
}

// promo is a deferred room of a peer that was sent a relay-end when a
// slot freed, and when.
type promo struct {
	room rooms.ID
	at   time.Time
}

type sendRef struct {
	room   rooms.ID
	seq    uint64
	member rooms.Key
	relay  bool
	label  string
}

// Config configures a Runner.
type Config struct {
	Node   Node
	Signer *rooms.Signer
	Nick   string
	Dir    string           // where rooms are kept (HOME/rooms); "" keeps them in memory
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger
}

// New loads the rooms kept in cfg.Dir and starts the runner's ticker.
// Warnings about damaged files come out as the first events.
func New(cfg Config) (*Runner, error) {
	r := &Runner{node: cfg.Node, signer: cfg.Signer, dir: cfg.Dir, now: cfg.Now, log: cfg.Logger,
		st: rooms.New(cfg.Signer, cfg.Nick), bound: map[rooms.Key]boundKey{}, bindSent: map[rooms.Key]bool{},
		met: map[meetKey]time.Time{}, adv: map[rooms.ID]map[rooms.Key]string{}, advSeq: map[meetKey]uint64{}, sends: map[uint64]sendRef{},
		relaying: map[meetKey]int{}, busy: map[rooms.Key]int{}, owed: map[meetKey]bool{}, promoted: map[rooms.Key]promo{}, last: map[rooms.ID]uint64{}, have: map[rooms.ID]map[rooms.Key]bool{},
		dirty: map[rooms.ID]bool{}, jbuf: map[rooms.ID][]byte{}, lazy: map[rooms.ID]bool{}, unsynced: map[rooms.ID]bool{},
		jf: map[rooms.ID]*os.File{}, jsize: map[rooms.ID]int64{}, snap: map[rooms.ID]int64{}, shownIn: map[rooms.ID]map[rooms.Key]bool{},
		seqs: map[rooms.ID]uint64{}, floor: map[rooms.ID]uint64{}, events: make(chan Event), done: make(chan struct{})}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.evCond = sync.NewCond(&r.mu)
	r.st.Bound = func(id rooms.Key) (rooms.SignKey, bool) {
		k, ok := r.bound[id]
		return k.sk, ok
	}
	r.st.NextSeq = func(id rooms.ID) uint64 { return r.floor[id] }
	if r.dir != "" {
		if err := os.MkdirAll(r.dir, 0o700); err != nil {
			return nil, fmt.Errorf("roomsnet: %w", err)
		}
		saved, damaged, err := loadDir(r.dir)
		if err != nil {
			return nil, err
		}
		if r.seqs, err = loadSeqs(r.dir); err != nil {
			fe, ok := err.(*FileError)
			if !ok {
				fe = &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageUnread, Err: err}
			}
			damaged = append(damaged, fe)
			os.Rename(seqsFile(r.dir), seqsFile(r.dir)+".damaged")
		}
		maps.Copy(r.floor, r.seqs)
		for _, fe := range damaged {
			r.emitLocked(Event{Kind: EvWarning, Code: CodeDamaged, File: fe.File, Err: fe})
		}
		r.restoreBindingsLocked()
		now := r.now()
		for _, ld := range saved {
			sv := ld.sv
			id, err := r.st.Restore(sv, now)
			if err != nil {
				r.emitLocked(Event{Kind: EvWarning, Code: CodeNotRestored, Room: sv.Name, Err: err})
				continue
			}
			r.snap[id] = ld.size
			r.replayLocked(id, sv.Name)
			for _, m := range r.st.Members(id) {
				r.markShownLocked(id, m.Identity, true)
			}
		}
	}
	r.wg.Add(2)
	go r.pump()
	go r.ticker()
	return r, nil
}

// Close stops the ticker and closes Events (after a second at most for the
// shell to take what waits). Call it before draining Filter's channel:
// Filter no longer waits for the shell then.
func (r *Runner) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.saveAllLocked()
	// A clean close folds every journal into its snapshot.
	for id, n := range r.jsize {
		if n > 0 {
			r.snapshotLocked(id)
		}
	}
	for id, f := range r.jf {
		f.Close()
		delete(r.jf, id)
	}
	r.exactSeqsLocked()
	r.evCond.Broadcast()
	r.mu.Unlock()
	close(r.done)
	r.wg.Wait()
}

// Events are the room events for the shell, closed by Close.
func (r *Runner) Events() <-chan Event { return r.events }

// Stats returns the counters.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// CoreStats returns the core's counters (rooms.State.Stats).
func (r *Runner) CoreStats() rooms.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Stats()
}

// SetNick changes the nickname our next room messages carry.
func (r *Runner) SetNick(nick string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.SetNick(nick)
}

// emitLocked queues an event for the shell (r.mu held).
func (r *Runner) emitLocked(e Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	size := len(e.Text) + len(e.Peer) + eventOverhead
	if r.evBytes+size > maxEventBytes {
		r.stats.EventsDropped++
		return
	}
	r.evq = append(r.evq, e)
	r.evBytes += size
	r.emitted++
	r.evCond.Broadcast()
}

// pump hands queued events to the shell, in order.
func (r *Runner) pump() {
	defer r.wg.Done()
	defer close(r.events)
	r.mu.Lock()
	for {
		for len(r.evq) == 0 && !r.closed {
			r.evCond.Wait()
		}
		if len(r.evq) == 0 {
			r.mu.Unlock()
			return
		}
		e := r.evq[0]
		r.evq[0] = Event{}
		r.evq = r.evq[1:]
		r.evBytes -= len(e.Text) + len(e.Peer) + eventOverhead
		r.evCond.Broadcast() // (Filter may wait for room)
		r.mu.Unlock()
		select {
		case r.events <- e:
			r.mu.Lock()
			r.handed++
			r.evCond.Broadcast() // (Filter waits for its events to be taken)
			r.mu.Unlock()
		case <-r.done:
			// Closing: hand the rest over only while someone reads.
			select {
			case r.events <- e:
			case <-time.After(time.Second):
				r.mu.Lock()
				r.evq = nil
				r.mu.Unlock()
				return
			}
		}
		r.mu.Lock()
	}
}

func (r *Runner) ticker() {
	defer r.wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.mu.Lock()
			r.showLocked(r.st.Tick(r.now()))
			r.askHistoryLocked()
			r.promoteStaleLocked(r.now())
			r.saveAllLocked()
			r.mu.Unlock()
		}
	}
}

// Filter takes the node's events: application payloads and the events of
// our own payloads go to the runner; the others, and every EvApp that
// has an inbox index (so that the shell marks it shown, in order, once
// the rooms it changed are on disk), go on to the returned channel,
// closed when in is.
func (r *Runner) Filter(in <-chan peer.Event) <-chan peer.Event {
	out := make(chan peer.Event, 64)
	go func() {
		defer close(out)
		var batch []peer.Event
		for e := range in {
			batch = append(batch[:0], e)
		drain:
			for len(batch) < filterBatch {
				select {
				case e, ok := <-in:
					if !ok {
						break drain
					}
					batch = append(batch, e)
				default:
					break drain
				}
			}
			r.mu.Lock()
			// Backpressure: while the shell is behind on room events,
			// take no more of the node's (it then stops acknowledging,
			// and the senders keep their messages) instead of dropping.
			for r.evBytes > maxEventBytes/2 && !r.closed {
				r.evCond.Wait()
			}
			for _, e := range batch {
				r.onNodeEventLocked(e)
			}
			r.saveDirtyLocked()
			// The shell marks a payload's inbox entry shown when it gets
			// the payload's event: only once it has taken every room line
			// the payload made (so a crash never marks shown a line that
			// was not printed).
			for target := r.emitted; r.handed < target && !r.closed; {
				r.evCond.Wait()
			}
			r.mu.Unlock()
			for _, e := range batch {
				if e.App == 0 || (e.Kind == peer.EvApp && e.Idx != 0) {
					out <- e
				}
			}
		}
	}()
	return out
}

// onNodeEventLocked handles one node event (r.mu held).
func (r *Runner) onNodeEventLocked(e peer.Event) {
	switch {
	case e.Kind == peer.EvJoined:
		if k, ok := r.node.PeerKey(e.PeerID); ok {
			r.meetLocked(k, e.Peer)
		}
	case e.Kind == peer.EvLeft:
		for mk := range r.met {
			if peer.KeyID(&mk.peer) == e.PeerID {
				delete(r.met, mk)
			}
		}
		if k, ok := r.node.PeerKey(e.PeerID); ok {
			// Its deferred summaries come again at the next meeting.
			delete(r.promoted, k)
			for mk := range r.owed {
				if mk.peer == k && r.relaying[mk] == 0 {
					delete(r.owed, mk)
				}
			}
			// If it was asked for a newcomer's history, ask another.
			r.st.PeerGone(k)
			r.askHistoryLocked()
		}
	case e.App == 0:
	case e.Kind == peer.EvApp:
		r.onAppLocked(e)
	case e.Kind == peer.EvDelivered || e.Kind == peer.EvFailed || e.Kind == peer.EvPending:
		r.onOwnLocked(e)
	}
}

// meetLocked is a peer coming online: our binding (sent once, so that it can
// invite us; the durable copy goes ahead of our first room payload to
// it), our advert, and our summary of each room it is a member of (r.mu
// held). Nothing here is queued on disk: a peer that never meets a room
// is owed nothing.
func (r *Runner) meetLocked(k rooms.Key, label string) {
	_ = r.node.SendAppOnce(k, appBinding, r.binding())
	r.sendAdvertLocked(k)
	for _, in := range r.st.Rooms() {
		if in.Joined && r.st.IsMember(in.ID, k) {
			r.sendSummaryLocked(k, in.ID)
		}
	}
}

// binding is our signing key and its binding signature.
func (r *Runner) binding() []byte {
	sig := r.signer.BindingSig()
	return append(append([]byte(nil), r.signer.Public[:]...), sig[:]...)
}

// sendBindingLocked queues our binding on the durable stream to k, once per run,
// ahead of our room payloads to it (r.mu held).
func (r *Runner) sendBindingLocked(k rooms.Key, label string) {
	if r.bindSent[k] {
		return
	}
	if _, err := r.node.SendApp(k, label, appBinding, r.binding()); err != nil {
		r.stats.SendErrors++
		return
	}
	if len(r.bindQ) >= maxBound {
		delete(r.bindSent, r.bindQ[0]) // it gets it again: harmless
		r.bindQ = r.bindQ[1:]
	}
	r.bindSent[k] = true
	r.bindQ = append(r.bindQ, k)
}

// sendSummaryLocked sends peer k our summary of room id, once per meeting;
// again (at most every summaryGap) when again is set: the peer's advert
// says it is in the room while it is not a member for us, so an earlier
// summary may have reached it before it joined.
func (r *Runner) sendSummaryLocked(k rooms.Key, id rooms.ID, again ...bool) {
	mk := meetKey{k, id}
	if at, ok := r.met[mk]; ok && (len(again) == 0 || r.now().Sub(at) < summaryGap) {
		return
	}
	sum, err := r.st.Summary(id, k, r.now())
	if err != nil {
		return
	}
	r.enc = sum.AppendEncode(r.enc[:0]) // the node copies it
	if r.node.SendAppOnce(k, appSummary, r.enc) != nil {
		r.st.PeerGone(k) // not asked after all
		return
	}
	r.met[mk] = r.now()
}

// askHistoryLocked asks for the history of each room we joined less than
// rooms.FreshFor ago whose member asked went away or stayed silent
// (rooms.State.NeedsHistory): a fresh summary goes to one member online
// not asked before, the first in key order (r.mu held).
func (r *Runner) askHistoryLocked() {
	need := r.st.NeedsHistory(r.now())
	if len(need) == 0 {
		return
	}
	online := map[string]bool{}
	for _, p := range r.node.Peers() {
		if p.Online {
			online[p.ID] = true
		}
	}
	for _, id := range need {
		var cands []rooms.Key
		for k := range r.recipientsLocked(id, r.isPrivateLocked(id)) {
			if online[peer.KeyID(&k)] && !r.st.Asked(id, k) {
				cands = append(cands, k)
			}
		}
		if len(cands) == 0 {
			continue // the next member met is asked
		}
		slices.SortFunc(cands, func(a, b rooms.Key) int { return bytes.Compare(a[:], b[:]) })
		delete(r.met, meetKey{cands[0], id})
		r.sendSummaryLocked(cands[0], id)
	}
}

// advertLocked encodes the rooms we are in, as adverts of at most
// advertChunk bytes each (one room per advert at least): each is a whole
// advert, taken on its own, and small enough for a datagram, so that
// telling many peers of many rooms opens no TCP connection.
func (r *Runner) advertLocked() [][]byte {
	var out [][]byte
	var b []byte
	n := 0
	for _, in := range r.st.Rooms() {
		if !in.Joined {
			continue
		}
		topic := in.Topic
		if in.Private {
			topic = "" // a private room's topic is for its members
		}
		if len(b) > 0 && len(b)+1+32+1+len(in.Name)+1+2+len(topic) > advertChunk {
			out = append(out, b)
			b = nil
		}
		if len(b) == 0 {
			b = append(b, 0)
		}
		var f byte
		if in.Private {
			f = 1
		}
		b = append(b, f)
		b = append(b, in.ID[:]...)
		b = append(b, byte(len(in.Name)))
		b = append(b, in.Name...)
		b = append(b, byte(min(in.Members, 255)))
		b = binary.BigEndian.AppendUint16(b, uint16(len(topic)))
		b = append(b, topic...)
		b[0]++
		if n++; n == rooms.MaxRooms {
			break
		}
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	if len(out) == 0 {
		out = append(out, []byte{0}) // in no room
	}
	return out
}

func (r *Runner) sendAdvertLocked(k rooms.Key) {
	for _, b := range r.advertLocked() {
		_ = r.node.SendAppOnce(k, appAdvert, b)
	}
}

// advertAllLocked tells every online peer what rooms we are in (r.mu held).
func (r *Runner) advertAllLocked() {
	bs := r.advertLocked()
	for _, p := range r.node.Peers() {
		if p.Online {
			if k, ok := r.node.PeerKey(p.ID); ok {
				for _, b := range bs {
					_ = r.node.SendAppOnce(k, appAdvert, b)
				}
			}
		}
	}
}

// onAppLocked handles an application payload of a peer (r.mu held).
func (r *Runner) onAppLocked(e peer.Event) {
	now := r.now()
	data := []byte(e.Text)
	switch e.App {
	case appMessage, appRelay:
		ds, err := r.st.Receive(e.Key, data, e.App == appRelay, now)
		if err != nil {
			r.log.Debug("room message dropped", "from", e.Peer, "err", err)
		}
		r.showLocked(ds)
	case appRelayEnd:
		if len(data) == 32 {
			var id rooms.ID
			copy(id[:], data)
			delete(r.met, meetKey{e.Key, id})
			r.sendSummaryLocked(e.Key, id)
		}
	case appList:
		id, res, m, err := r.st.ApplyList(data, now)
		if err != nil {
			r.log.Debug("member list refused", "from", e.Peer, "err", err)
			return
		}
		name := r.roomNameLocked(id)
		switch res {
		case rooms.ListInvited:
			r.dirty[id] = true
			r.emitLocked(Event{Kind: EvInvited, Room: name, RoomID: id.String(), Peer: e.Peer, PeerID: e.PeerID})
			if m != nil {
				r.fanOutLocked(id, m)
				r.showLocked([]rooms.Delivery{{Msg: m}})
			}
			r.sendSummaryLocked(e.Key, id)
		case rooms.ListRemoved:
			r.forgetLocked(id)
			r.emitLocked(Event{Kind: EvLeft, Room: decodeListName(data), RoomID: id.String(), Peer: r.nickLocked(), PeerID: peer.KeyID(&r.signer.Identity), Code: CodeKicked})
		case rooms.ListUpdated:
			r.dirty[id] = true
			// Newly listed members get the list from the creator.
		}
	case appBinding:
		r.takeBindingLocked(e.Key, e.Peer, data)
	case appSummary:
		r.answerLocked(e.Key, e.Peer, data, now)
	case appAdvert:
		r.onAdvertLocked(e.Key, e.Peer, data, now)
	}
}

// answerLocked sends peer k what its summary lacks (r.mu held). At most
// maxRelayRooms rooms' batches are in flight to one peer at once, across
// rooms: a summary past that is deferred (owed), and when a batch to the
// peer is acknowledged the lowest deferred room is sent a relay-end
// (promoteLocked), which draws the peer's summary of it again, answered
// then in the slot kept for it. So a peer in 32 rooms that sends 32
// summaries at a meeting is answered two rooms at a time, not 32 batches
// at once (each held by the node until acknowledged).
func (r *Runner) answerLocked(k rooms.Key, label string, data []byte, now time.Time) {
	sum, err := rooms.DecodeSummary(data)
	if err != nil {
		r.stats.BadSummaries++
		return
	}
	// Nothing is kept for a room we are not in, or for a private room's
	// non-member (answered with nothing, counted): so owed holds at most
	// one entry per peer and room of ours.
	in, private := r.st.In(sum.Room)
	if !in {
		return
	}
	if private && !r.st.IsMember(sum.Room, k) {
		r.st.RelaySummary(k, sum, now) // refused, counted (RelayRefused)
		return
	}
	mk := meetKey{k, sum.Room}
	if r.relaying[mk] > 0 {
		// Answered once the batch in flight is in: its end asks the
		// peer for a new summary (the one refused may be a newcomer's
		// fresh one, asking us for the room's history).
		r.owed[mk] = true
		r.stats.RelayBusy++
		return
	}
	if p, ok := r.promoted[k]; ok && p.room == sum.Room {
		delete(r.promoted, k) // the slot kept for it is this answer's
	} else if r.slotsLocked(k) >= maxRelayRooms {
		r.owed[mk] = true
		r.stats.RelayDeferred++
		return
	}
	delete(r.owed, mk) // answered now
	r.relayLocked(k, label, sum, now)
	if r.relaying[mk] == 0 {
		r.promoteLocked(k, label, now) // nothing in flight: the slot is free
	}
	// The peer may hold what we lack (the other half of a partition, or
	// a member back from away): then it gets our summary too.
	if r.st.Ahead(k, sum) {
		r.sendSummaryLocked(k, sum.Room)
	}
}

// relayLocked queues peer k the messages of our log its summary sum
// lacks, one relay batch (r.mu held).
func (r *Runner) relayLocked(k rooms.Key, label string, sum *rooms.Summary, now time.Time) {
	msgs, err := r.st.RelaySummary(k, sum, now)
	if err != nil {
		return
	}
	mk := meetKey{k, sum.Room}
	r.sendBindingLocked(k, label)
	// Our own messages still on their way to k (fanned out, not yet
	// acknowledged) come on the same stream: not relayed again.
	var inFlight map[uint64]bool
	for _, ref := range r.sends {
		if !ref.relay && ref.member == k && ref.room == sum.Room {
			if inFlight == nil {
				inFlight = map[uint64]bool{}
			}
			inFlight[ref.seq] = true
		}
	}
	size := 0
	for _, m := range msgs {
		// Encoded into one reused buffer: the node copies what it queues.
		r.enc = m.AppendEncode(r.enc[:0])
		size += len(r.enc)
		if m.Author == r.signer.Public && inFlight[m.Seq] {
			continue
		}
		id, err := r.node.SendApp(k, label, appRelay, r.enc)
		if err != nil {
			r.stats.SendErrors++
			return
		}
		r.sends[id] = sendRef{room: sum.Room, seq: m.Seq, member: k, relay: true}
		r.relayingLocked(mk, 1)
		r.stats.Relayed++
	}
	if len(msgs) == rooms.MaxRelayMsgs || size+rooms.MaxMessageBytes > rooms.MaxRelayBytes {
		if id, err := r.node.SendApp(k, label, appRelayEnd, sum.Room[:]); err == nil {
			r.sends[id] = sendRef{room: sum.Room, member: k, relay: true}
			r.relayingLocked(mk, 1)
		}
	}
}

// relayingLocked adds d to the relay payloads in flight for mk, keeping
// busy (rooms in flight per peer) with it (r.mu held).
func (r *Runner) relayingLocked(mk meetKey, d int) {
	was := r.relaying[mk] > 0
	r.relaying[mk] += d
	now := r.relaying[mk] > 0
	if !now {
		delete(r.relaying, mk)
	}
	switch {
	case now && !was:
		r.busy[mk.peer]++
	case was && !now:
		if r.busy[mk.peer]--; r.busy[mk.peer] <= 0 {
			delete(r.busy, mk.peer)
		}
	}
}

// slotsLocked counts peer k's relay slots taken: its rooms with a batch in
// flight, and the one kept for a deferred room's summary (r.mu held).
func (r *Runner) slotsLocked(k rooms.Key) int {
	n := r.busy[k]
	if _, ok := r.promoted[k]; ok {
		n++
	}
	return n
}

// promoteLocked, when peer k has a relay slot free, sends a relay-end for
// its deferred room of lowest id (the peer answers with its summary of
// it, answered in that slot) (r.mu held).
func (r *Runner) promoteLocked(k rooms.Key, label string, now time.Time) {
	if r.slotsLocked(k) >= maxRelayRooms {
		return
	}
	var next rooms.ID
	found := false
	for mk := range r.owed {
		if mk.peer == k && r.relaying[mk] == 0 && (!found || bytes.Compare(mk.room[:], next[:]) < 0) {
			next, found = mk.room, true
		}
	}
	if !found {
		return
	}
	delete(r.owed, meetKey{k, next})
	if _, err := r.node.SendApp(k, label, appRelayEnd, next[:]); err != nil {
		r.stats.SendErrors++
		return
	}
	r.promoted[k] = promo{room: next, at: now}
}

// promoteStaleLocked frees the slots kept for summaries that did not come
// within promoteWait (the peer left the room, or its summary was lost),
// for the next deferred rooms (r.mu held).
func (r *Runner) promoteStaleLocked(now time.Time) {
	for k, p := range r.promoted {
		if now.Sub(p.at) >= promoteWait {
			delete(r.promoted, k)
			r.promoteLocked(k, "", now)
		}
	}
}

func (r *Runner) onAdvertLocked(k rooms.Key, label string, b []byte, now time.Time) {
	if len(b) < 1 {
		r.stats.BadAdverts++
		return
	}
	n := int(b[0])
	b = b[1:]
	for range n {
		if len(b) < 1+32+1 {
			r.stats.BadAdverts++
			return
		}
		private := b[0]&1 != 0
		var id rooms.ID
		copy(id[:], b[1:33])
		ln := int(b[33])
		b = b[34:]
		if len(b) < ln+1+2 {
			r.stats.BadAdverts++
			return
		}
		name := string(b[:ln])
		members := int(b[ln])
		tl := int(binary.BigEndian.Uint16(b[ln+1:]))
		b = b[ln+3:]
		if len(b) < tl || !utf8.Valid(b[:tl]) {
			r.stats.BadAdverts++
			return
		}
		topic := string(b[:tl])
		b = b[tl:]
		if r.st.Heard(id, name, private, members, topic, now) != nil {
			r.stats.BadAdverts++
			continue
		}
		if private {
			continue
		}
		r.noteAdvertiserLocked(id, k, label)
		if _, in := r.st.Find(name); in && !r.st.IsMember(id, k) {
			r.sendBindingLocked(k, label)
			r.sendSummaryLocked(k, id, true)
		}
	}
}

func (r *Runner) noteAdvertiserLocked(id rooms.ID, k rooms.Key, label string) {
	m := r.adv[id]
	if m == nil {
		if len(r.adv) >= maxAdverts {
			old := r.advQ[0]
			for k := range r.adv[old] {
				delete(r.advSeq, meetKey{k, old})
			}
			delete(r.adv, old)
			r.advQ = r.advQ[1:]
		}
		m = map[rooms.Key]string{}
		r.adv[id] = m
		r.advQ = append(r.advQ, id)
	}
	if _, ok := m[k]; ok {
		m[k] = label
	} else if len(m) < rooms.MaxMembers {
		m[k] = label
		r.advSeq[meetKey{k, id}] = r.st.OwnLast(id)
	}
}

// onOwnLocked follows the node's events about our own payloads (r.mu held).
func (r *Runner) onOwnLocked(e peer.Event) {
	ref, ok := r.sends[e.ID]
	if !ok {
		return
	}
	if ref.relay {
		if e.Kind != peer.EvPending {
			delete(r.sends, e.ID)
			mk := meetKey{ref.member, ref.room}
			if r.relaying[mk] <= 1 {
				owed := r.owed[mk]
				delete(r.owed, mk)
				r.relayingLocked(mk, -1)
				if owed && e.Kind == peer.EvDelivered {
					// The room keeps its slot: its relay-end draws the
					// summary refused meanwhile.
					if id, err := r.node.SendApp(mk.peer, e.Peer, appRelayEnd, mk.room[:]); err == nil {
						r.sends[id] = sendRef{room: mk.room, member: mk.peer, relay: true}
						r.relayingLocked(mk, 1)
					}
				}
				r.promoteLocked(mk.peer, e.Peer, r.now())
			} else {
				r.relayingLocked(mk, -1)
			}
		}
		return
	}
	ev := Event{Room: r.roomNameLocked(ref.room), RoomID: ref.room.String(), Seq: ref.seq, Peer: e.Peer, PeerID: e.PeerID, Code: Code(e.Reason)}
	switch e.Kind {
	case peer.EvDelivered:
		delete(r.sends, e.ID)
		ev.Kind = EvDelivered
		if r.last[ref.room] == ref.seq {
			h := r.have[ref.room]
			if h == nil {
				h = map[rooms.Key]bool{}
				r.have[ref.room] = h
			}
			h[ref.member] = true
		}
	case peer.EvFailed:
		delete(r.sends, e.ID)
		ev.Kind = EvFailed
	case peer.EvPending:
		ev.Kind = EvPending
	}
	r.emitLocked(ev)
}

// markShownLocked notes that identity's room-joined was shown in room id (or
// its room-left: in false), and reports whether it was not before.
func (r *Runner) markShownLocked(id rooms.ID, identity rooms.Key, in bool) bool {
	set := r.shownIn[id]
	if set == nil {
		set = map[rooms.Key]bool{}
		r.shownIn[id] = set
	}
	was := set[identity]
	if in && !was && len(set) < rooms.MaxAuthors {
		set[identity] = true
	} else if !in {
		delete(set, identity)
	}
	return !was
}

// showLocked turns the core's deliveries into events (r.mu held). A member
// heard first by a message (its join was before what we were sent) is
// shown joined, as earlier, before it.
func (r *Runner) showLocked(ds []rooms.Delivery) {
	for _, d := range ds {
		m := d.Msg
		r.journalLocked(m)
		delete(r.lazy, m.Room)
		ev := Event{Room: m.Name, RoomID: m.Room.String(), Peer: m.Nick, PeerID: peer.KeyID(&m.Identity),
			Text: m.Text, Time: time.UnixMilli(m.Time), Seq: m.Seq, Earlier: d.Earlier, Mine: m.Identity == r.signer.Identity}
		switch {
		case m.Kind == rooms.KindJoin:
			if r.markShownLocked(m.Room, m.Identity, true) && m.Identity != r.signer.Identity {
				r.resendOwnLocked(m)
			}
		case m.Kind == rooms.KindPart:
			r.markShownLocked(m.Room, m.Identity, false)
		case r.st.IsMember(m.Room, m.Identity) && r.markShownLocked(m.Room, m.Identity, true):
			j := ev
			j.Kind, j.Text, j.Earlier = EvJoined, "", true
			r.emitLocked(j)
			if m.Identity != r.signer.Identity {
				r.resendOwnLocked(m) // in the room since m at least
			}
		}
		switch m.Kind {
		case rooms.KindText:
			ev.Kind = EvMessage
		case rooms.KindJoin:
			ev.Kind = EvJoined
		case rooms.KindPart:
			ev.Kind = EvLeft
		case rooms.KindTopic:
			ev.Kind = EvTopic
		}
		if m.Kind != rooms.KindText {
			r.advDue = true
		}
		r.emitLocked(ev)
	}
}

// resendOwnLocked sends the member whose join (or first message) j we
// show only now our own messages in its room said since (rooms.State.OwnSince),
// durably, one by one (r.mu held). We may have spoken before we knew it
// was there: its advert had not reached us, so our message was fanned
// out without it, and its join came only in an answer to a summary we
// sent before we spoke; nothing else would tell it of those messages
// until the next meeting. Our messages after the last one we had said
// when we heard it advertise the room (advSeq) were sent to it already;
// what it holds anyway it drops as duplicates.
func (r *Runner) resendOwnLocked(j *rooms.Message) {
	k := j.Identity
	through := uint64(math.MaxUint64)
	if last, ok := r.advSeq[meetKey{k, j.Room}]; ok {
		through = last // later ones were fanned out to it
	}
	msgs := r.st.OwnSince(j.Room, j.Time, through)
	if len(msgs) == 0 {
		return // (a join storm: nothing said, nothing to do)
	}
	label, ok := r.recipientsLocked(j.Room, false)[k]
	if !ok {
		return
	}
	for _, m := range msgs {
		id, err := r.node.SendApp(k, label, appMessage, m.AppendEncode(nil))
		if err != nil {
			r.stats.SendErrors++
			return
		}
		r.sends[id] = sendRef{room: j.Room, seq: m.Seq, member: k, label: label}
		r.stats.Resent++
	}
}

// saveAllLocked writes the rooms that changed, our own messages' included
// (r.mu held).
func (r *Runner) saveAllLocked() {
	clear(r.lazy)
	r.saveDirtyLocked()
	r.syncJournalsLocked()
	r.saveBindingsLocked()
}

// saveDirtyLocked writes the rooms that changed by what others sent, and tells the peers online of
// a change of membership or topic (r.mu held).
func (r *Runner) saveDirtyLocked() {
	// During a storm of joins (a room filling up) one advert a second,
	// not one per batch: each is sealed for every peer online.
	if (r.advDue && !r.advAt.After(r.now().Add(-advertGap))) || (r.advAt.Before(r.now().Add(-advertEvery)) && len(r.st.Rooms()) > 0) {
		r.advDue = false
		r.advAt = r.now()
		r.advertAllLocked()
	}
	for id := range r.dirty {
		delete(r.dirty, id)
		delete(r.lazy, id) // written whole: ours too
		delete(r.jbuf, id)
		r.snapshotLocked(id)
	}
	for id, b := range r.jbuf {
		if r.lazy[id] {
			continue // our own messages only: at the next tick
		}
		delete(r.jbuf, id)
		r.appendLocked(id, b)
	}
}

// forgetLocked removes a room we are no longer in from the disk (r.mu held).
func (r *Runner) forgetLocked(id rooms.ID) {
	delete(r.dirty, id)
	delete(r.lazy, id)
	delete(r.jbuf, id)
	delete(r.unsynced, id)
	delete(r.shownIn, id)
	delete(r.last, id)
	delete(r.have, id)
	delete(r.snap, id)
	delete(r.jsize, id)
	if f := r.jf[id]; f != nil {
		f.Close()
		delete(r.jf, id)
	}
	if r.dir != "" {
		os.Remove(journalFile(r.dir, id)) // first: a journal is never left without its snapshot
		os.Remove(roomFile(r.dir, id))
	}
}

func (r *Runner) isPrivateLocked(id rooms.ID) bool {
	for _, in := range r.st.Rooms() {
		if in.ID == id {
			return in.Private
		}
	}
	return false
}

func (r *Runner) roomNameLocked(id rooms.ID) string {
	for _, in := range r.st.Rooms() {
		if in.ID == id {
			return in.Name
		}
	}
	return ""
}

func (r *Runner) nickLocked() string {
	for _, in := range r.st.Rooms() {
		for _, m := range r.st.Members(in.ID) {
			if m.Identity == r.signer.Identity && m.Nick != "" {
				return m.Nick
			}
		}
	}
	return ""
}

func decodeListName(b []byte) string {
	if l, err := rooms.DecodeList(b); err == nil {
		return l.Name
	}
	return ""
}

// recipientsLocked are the members our messages in room id go to: the core's,
// and for an open room the members heard advertising it (r.mu held).
func (r *Runner) recipientsLocked(id rooms.ID, private bool) map[rooms.Key]string {
	out := map[rooms.Key]string{}
	for _, k := range r.st.Recipients(id) {
		out[k] = ""
	}
	if !private {
		for k, label := range r.adv[id] {
			out[k] = label
		}
	}
	labels := map[string]string{}
	for _, p := range r.node.Peers() {
		labels[p.ID] = p.Name
	}
	for _, mi := range r.st.Members(id) {
		if _, ok := out[mi.Identity]; ok && mi.Nick != "" {
			out[mi.Identity] = mi.Nick
		}
	}
	for k := range out {
		if l, ok := labels[peer.KeyID(&k)]; ok {
			out[k] = l
		}
	}
	return out
}

// fanOutLocked sends our message m to the room's members, durably; it returns
// how many it was queued for (r.mu held).
func (r *Runner) fanOutLocked(id rooms.ID, m *rooms.Message) int {
	var to []peer.AppDest
	for k, label := range r.recipientsLocked(id, m.Private) {
		r.sendBindingLocked(k, label)
		to = append(to, peer.AppDest{Key: k, Label: label})
	}
	n := 0
	ids, errs := r.node.SendAppTo(to, appMessage, m.AppendEncode(nil)) // one write to the store for all
	for i, d := range to {
		if errs[i] != nil {
			r.stats.SendErrors++
			continue
		}
		r.sends[ids[i]] = sendRef{room: id, seq: m.Seq, member: d.Key, label: d.Label}
		n++
	}
	if m.Kind == rooms.KindText {
		r.last[id] = m.Seq
		delete(r.have, id)
	}
	return n
}

// ErrNoRoom: a command named a room we are not in.
var ErrNoRoom = rooms.ErrNotJoined

// Join joins the open room name, or creates the private room name. It
// returns the room's folded name.
func (r *Runner) Join(name string, private bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var id rooms.ID
	var m *rooms.Message
	if private {
		var nonce [16]byte
		if _, err := rand.Read(nonce[:]); err != nil {
			return "", fmt.Errorf("roomsnet: nonce: %w", err)
		}
		l, msg, err := r.st.CreatePrivate(name, nonce, now)
		if err != nil {
			return "", err
		}
		id, m = l.Room, msg
	} else {
		var err error
		id, m, err = r.st.Join(name, now)
		if errors.Is(err, rooms.ErrAlreadyJoined) {
			r.dirty[id] = true
			r.saveDirtyLocked()
			return r.roomNameLocked(id), err
		}
		if err != nil {
			return "", err
		}
	}
	r.dirty[id] = true
	r.saveDirtyLocked() // on disk before anyone hears of it
	r.fanOutLocked(id, m)
	r.showLocked([]rooms.Delivery{{Msg: m}})
	// Ask those heard in the room for what it holds (a fresh summary: the
	// last LateJoinHistory messages).
	for k, label := range r.adv[id] {
		r.sendBindingLocked(k, label)
		r.sendSummaryLocked(k, id)
	}
	r.advertAllLocked()
	return m.Name, nil
}

func (r *Runner) findLocked(name string) (rooms.ID, error) {
	if name == "" {
		return rooms.ID{}, ErrNoRoom
	}
	id, ok := r.st.Find(name)
	if !ok {
		if _, err := rooms.ParseName(name); err != nil {
			return rooms.ID{}, err
		}
		return rooms.ID{}, ErrNoRoom
	}
	return id, nil
}

// Part leaves the room name.
func (r *Runner) Part(name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := r.findLocked(name)
	if err != nil {
		return "", err
	}
	recips := r.recipientsLocked(id, false)
	m, next, err := r.st.Part(id, "", r.now())
	if err != nil {
		return "", err
	}
	r.floor[id] = next
	r.setSeqLocked(id, next) // exact: a rejoin, even after a restart, continues from it
	r.forgetLocked(id)
	b := m.AppendEncode(nil)
	for k, label := range recips {
		if _, err := r.node.SendApp(k, label, appMessage, b); err != nil {
			r.stats.SendErrors++
		}
	}
	r.showLocked([]rooms.Delivery{{Msg: m}})
	delete(r.dirty, id)
	delete(r.jbuf, id)
	delete(r.lazy, id)
	r.advertAllLocked()
	return m.Name, nil
}

// Post says text in room name (kind text), or sets its topic (topic).
func (r *Runner) Post(name, text string, topic bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := r.findLocked(name)
	if err != nil {
		return err
	}
	kind := rooms.KindText
	if topic {
		kind = rooms.KindTopic
	}
	// Like /to, refused while a member's queue is full (a member that
	// does not acknowledge limits what we say, as for direct messages).
	var to []peer.AppDest
	for k, label := range r.recipientsLocked(id, r.isPrivateLocked(id)) {
		to = append(to, peer.AppDest{Key: k, Label: label})
	}
	if err := r.node.AppRoom(to, rooms.MaxMessageBytes-rooms.MaxTextBytes+len(text)); err != nil {
		return err
	}
	m, err := r.st.Post(id, kind, text, r.now())
	if err != nil {
		return err
	}
	// On disk before it is reported sent: in every member's outbox (one
	// write to the store, fanOut), and its seq marked used (reserveLocked).
	// The room file, our log, follows at the next tick (coalesced): a
	// crash before it loses our copy at most (members relay it back),
	// never a member's, and never lets the seq be used again (seqs.go).
	if len(r.jbuf[id]) == 0 {
		r.lazy[id] = true
	}
	r.journalLocked(m)
	r.reserveLocked(id, m.Seq, m.Seq+seqReserve)
	n := r.fanOutLocked(id, m)
	r.emitLocked(Event{Kind: EvSent, Room: m.Name, RoomID: id.String(), Seq: m.Seq, Members: n, Text: m.Text})
	if topic {
		r.showLocked([]rooms.Delivery{{Msg: m}})
		r.advertAllLocked()
	}
	return nil
}

// Topic is room name's topic.
func (r *Runner) Topic(name string) (string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := r.findLocked(name)
	if err != nil {
		return "", "", err
	}
	return r.roomNameLocked(id), r.st.Topic(id), nil
}

// Rooms lists the rooms we are in and those heard of.
func (r *Runner) Rooms() []rooms.Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Rooms()
}

// Member is a member as /names lists it.
type Member struct {
	Name   string // its nickname in the room (or its label)
	PeerID string
	Status string // "online", "away", "offline"; "you" for ourselves
	Has    bool   // it acknowledged our last message in the room
	Me     bool
}

// Names lists room name's members.
func (r *Runner) Names(name string) (string, []Member, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := r.findLocked(name)
	if err != nil {
		return "", nil, false, err
	}
	peers := map[string]peer.PeerInfo{}
	for _, p := range r.node.Peers() {
		peers[p.ID] = p
	}
	var out []Member
	for _, mi := range r.st.Members(id) {
		m := Member{Name: mi.Nick, PeerID: peer.KeyID(&mi.Identity), Status: "offline", Has: r.have[id][mi.Identity]}
		if mi.Identity == r.signer.Identity {
			m.Status, m.Me, m.Has = "online", true, true
		} else if p, ok := peers[m.PeerID]; ok {
			if m.Name == "" {
				m.Name = p.Name
			}
			switch {
			case p.Online && p.Away != "":
				m.Status = "away"
			case p.Online:
				m.Status = "online"
			}
		}
		if m.Name == "" {
			m.Name = m.PeerID
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	_, posted := r.last[id]
	return r.roomNameLocked(id), out, posted, nil
}

// History is room name's last n messages (of kind text), oldest first.
func (r *Runner) History(name string, n int) (string, []Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := r.findLocked(name)
	if err != nil {
		return "", nil, err
	}
	var out []Event
	for _, m := range r.st.Log(id) {
		if m.Kind != rooms.KindText {
			continue
		}
		out = append(out, Event{Kind: EvMessage, Room: m.Name, RoomID: id.String(), Peer: m.Nick, PeerID: peer.KeyID(&m.Identity),
			Text: m.Text, Time: time.UnixMilli(m.Time), Seq: m.Seq, Earlier: true, Mine: m.Identity == r.signer.Identity})
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return r.roomNameLocked(id), out, nil
}

// ErrNoBinding: the peer to invite has never told us its signing key, or
// we lost it (it was forgotten for newer ones, or the bindings file was
// damaged): it must be online once for its binding to come.
var ErrNoBinding = errors.New("roomsnet: that peer's signing key is not known yet")

// Invite adds the peer with id to our private room name.
func (r *Runner) Invite(peerID, name string) (string, error) {
	return r.changeList(peerID, name, true)
}

// Kick removes the peer with id from our private room name.
func (r *Runner) Kick(peerID, name string) (string, error) {
	return r.changeList(peerID, name, false)
}

func (r *Runner) changeList(peerID, name string, invite bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := r.findLocked(name)
	if err != nil {
		return "", err
	}
	// A peer the node does not know in this run may be one whose binding
	// we kept from an earlier run: it is invited (or removed) while
	// offline, and told when it comes back (the durable stream parks it).
	k, ok := r.node.PeerKey(peerID)
	if !ok {
		if k, ok = r.boundByIDLocked(peerID); !ok {
			return "", peer.ErrUnknownPeer
		}
	}
	before := r.recipientsLocked(id, true)
	var l *rooms.List
	if invite {
		sk, ok := r.bound[k]
		if !ok {
			return "", ErrNoBinding
		}
		l, err = r.st.Invite(id, k, sk.sk, r.now())
	} else {
		l, err = r.st.Kick(id, k, r.now())
	}
	if err != nil {
		return "", err
	}
	r.dirty[id] = true
	r.saveDirtyLocked()
	b := l.AppendEncode(nil)
	to := r.recipientsLocked(id, true)
	for k2, label := range before {
		if _, ok := to[k2]; !ok {
			to[k2] = label
		}
	}
	if _, ok := to[k]; !ok {
		to[k] = ""
	}
	for k2, label := range to {
		if label == "" {
			label = r.labelLocked(k2) // what it is parked as if the node does not know it
		}
		r.sendBindingLocked(k2, label)
		if _, err := r.node.SendApp(k2, label, appList, b); err != nil {
			r.stats.SendErrors++
		}
	}
	return r.roomNameLocked(id), nil
}

// Waiting counts our room payloads not yet acknowledged.
func (r *Runner) Waiting() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sends)
}

// reserveLocked makes sure the seqs file says seq was used in room id: if its
// mark is not past seq, it writes mark (synced) first (r.mu held).
func (r *Runner) reserveLocked(id rooms.ID, seq, mark uint64) {
	if r.dir == "" || r.seqs[id] > seq {
		return
	}
	r.setSeqLocked(id, mark)
}

// setSeqLocked writes mark as room id's in the seqs file (r.mu held).
func (r *Runner) setSeqLocked(id rooms.ID, mark uint64) {
	if r.dir == "" {
		return
	}
	r.seqs[id] = mark
	if len(r.seqs) > maxSeqRooms {
		// Forget the room we are not in with the lowest mark.
		var victim rooms.ID
		low := uint64(0)
		for k, v := range r.seqs {
			if r.st.OwnNext(k) == 0 && k != id && (low == 0 || v < low) {
				victim, low = k, v
			}
		}
		delete(r.seqs, victim)
		delete(r.floor, victim)
	}
	r.writeSeqsLocked()
}

// exactSeqsLocked sets, for every room we are in, the seqs file's mark to our
// next seq, so that a clean restart leaves no gap (r.mu held; the room
// files saved first).
func (r *Runner) exactSeqsLocked() {
	if r.dir == "" {
		return
	}
	changed := false
	for _, info := range r.st.Rooms() {
		id := info.ID
		if next := r.st.OwnNext(id); next > 0 && r.seqs[id] != next {
			r.seqs[id] = next
			changed = true
		}
	}
	if changed {
		r.writeSeqsLocked()
	}
}

func (r *Runner) writeSeqsLocked() {
	b := encodeSeqs(r.seqs)
	r.stats.DiskBytes += uint64(len(b))
	if err := writeAtomic(seqsFile(r.dir), b); err != nil {
		r.stats.SaveErrors++
		r.emitLocked(Event{Kind: EvWarning, Code: CodeNotSaved, File: seqsName, Err: err})
	}
}
