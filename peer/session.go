package peer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/flynn/noise"

	"github.com/p2pchat/p2pchat/internal/lru"
	"github.com/p2pchat/p2pchat/internal/rate"
	"github.com/p2pchat/p2pchat/internal/wire"
)

// Sessions (wire.go has the bytes). Every packet but the probe travels in a
// session between two identity keys: a Noise IK handshake mixes fresh
// ephemeral keys into both identities, and the session's two keys (one a
// direction) seal the data packets under an explicit counter. A session is
// replaced after rekeyAfter or rekeyPackets, whichever comes first; the
// replaced one is kept to receive (prev) until the next replacement or
// rejectAfter, then erased: its keys are zeroed, and the ephemeral keys and
// chaining values of its handshake were zeroed when it was made. So a
// capture of the traffic and both identity keys, taken after a session was
// erased, do not open its packets.

// Session timing and bounds.
const (
	rekeyAfter   = 2 * time.Minute // a session older than this is replaced at the next send
	rekeyPackets = 1 << 20         // ... and one that sealed this many
	rejectAfter  = 3 * time.Minute // a session older than this neither seals nor opens
	// responderGrace: a session the peer started is due later, so that
	// its initiator, due first, replaces it and both sides do not start a
	// handshake at the same moment.
	responderGrace = 30 * time.Second
	hsRetry        = time.Second      // a handshake unanswered this long is started again (at the next send: retransmissions drive it)
	hsGiveUp       = 20 * time.Second // ... and one unanswered this long dropped with what waited for it
	nextLife       = 10 * time.Second // a session the peer started and did not confirm this long is erased
	// maxSessionPeers bounds the keys we hold sessions with: the address
	// book's bound and room for strangers in the middle of an exchange.
	// A new one replaces the one used longest ago (its sessions erased).
	maxSessionPeers = maxPeers + 256
	// A key's queue of packets waiting for its handshake: at most this
	// many, this many bytes; the oldest dropped past it.
	maxQueued      = 32
	maxQueuedBytes = 256 << 10
	// hsPerKeyRate bounds the initiations one key may cost us (a recorded
	// one replayed costs DH operations too): this many a second, 4 at once.
	hsPerKeyRate = 1
	// hsStrangerCost is what an initiation from a key not in the book
	// takes from the strangers' budget: it costs 5 scalar multiplications
	// where a version-1 stranger's hello cost one.
	hsStrangerCost = 5
	// maxRespTries bounds the responses a handshake in flight reads: a
	// forged one costs DH operations and fails.
	maxRespTries = 4
)

// suite is the Noise cipher suite: X25519, ChaCha20-Poly1305 whose keys
// (its keys erased by wipe.go), BLAKE2s.
var suite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)

// session is one handshake's keys (owned by Node.mu, as all of sessions).
type session struct {
	local, remote uint32 // our index (in packets to us), the peer's
	send, recv    *noise.CipherState
	sent          uint64 // counter of the next packet we seal
	win           ctrWindow
	born          time.Time
	confirmed     bool // data arrived in it (a responder sends only then)
	initiator     bool // we started its handshake
}

// due reports whether a new handshake should replace s.
func (s *session) due(now time.Time) bool {
	age := rekeyAfter
	if !s.initiator {
		age += responderGrace
	}
	return now.Sub(s.born) >= age || s.sent >= rekeyPackets
}

func (s *session) expired(now time.Time) bool { return now.Sub(s.born) >= rejectAfter }

// erase zeroes the session's keys.
func (s *session) erase() {
	if s == nil {
		return
	}
	wipeCipherState(s.send)
	wipeCipherState(s.recv)
	s.send, s.recv = nil, nil
}

// peerSess is what we hold for one remote key.
type peerSess struct {
	key        [32]byte
	cur, prev  *session // confirmed (or made by us as initiator): cur seals
	next       *session // made as responder, not confirmed yet
	hs         *noise.HandshakeState
	hsIndex    uint32
	hsAt       time.Time
	hsTries    int
	queue      []queued // waiting for hs
	queueBytes int
	inits      rate.Bucket // initiations this key may cost us
}

type queued struct {
	plain []byte
	tcp   bool
}

// outPkt is a packet to send, with the caller's TCP wish.
type outPkt struct {
	b   []byte
	tcp bool
}

// sessions holds a node's sessions. It is not safe for concurrent use:
// every field, and every peerSess and session it holds, is guarded by
// Node.mu (or SessionLayer.mu); static, pub, max and stats (the pointer) are
// immutable after newSessions.
type sessions struct {
	static noise.DHKey
	pub    [32]byte
	peers  *lru.Cache[[32]byte, *peerSess]
	max    int // keys held at most (maxSessionPeers unless a test lowers it)
	stats  *Stats
	tap    func(pkt, plain []byte) // tests: sees every data packet sealed, with its clear text
}

func newSessions(id *Identity, stats *Stats) *sessions {
	return newSessionsMax(id, stats, maxSessionPeers)
}

// newSessionsMax is newSessions holding sessions with at most max keys.
func newSessionsMax(id *Identity, stats *Stats, max int) *sessions {
	return &sessions{
		static: noise.DHKey{Private: id.private[:], Public: id.Public[:]},
		pub:    id.Public,
		peers:  lru.New[[32]byte, *peerSess](max),
		max:    max,
		stats:  stats,
	}
}

// get returns the state for key, making it if asked.
func (s *sessions) get(key *[32]byte, make bool) *peerSess {
	ps, ok := s.peers.Get(*key)
	if ok || !make {
		return ps
	}
	ps = &peerSess{key: *key, inits: rate.Bucket{Rate: hsPerKeyRate, Burst: 4}}
	if old, ok := s.peers.Oldest(); ok && s.peers.Len() >= s.max {
		old.eraseAll()
		s.stats.SessionsEvicted++
	}
	s.peers.Put(*key, ps)
	return ps
}

// eraseAll zeroes everything held for the key.
func (ps *peerSess) eraseAll() {
	ps.cur.erase()
	ps.prev.erase()
	ps.next.erase()
	ps.cur, ps.prev, ps.next = nil, nil, nil
	ps.dropHandshake()
	for i := range ps.queue {
		clear(ps.queue[i].plain)
	}
	ps.queue, ps.queueBytes = nil, 0
}

func (ps *peerSess) dropHandshake() {
	if ps.hs != nil {
		wipeHandshake(ps.hs)
		ps.hs = nil
	}
}

// install makes ss the sealing session, keeping cur to receive and erasing
// what prev held.
func (ps *peerSess) install(ss *session) {
	ps.prev.erase()
	ps.prev, ps.cur = ps.cur, ss
}

// seal returns the packets that carry plain to key now: a data packet in
// the current session; or, with none, an initiation, plain waiting for
// its response. A session due for rekeying still seals while a new
// handshake starts. plain is copied when kept.
func (s *sessions) seal(key *[32]byte, plain []byte, tcp bool, now time.Time) []outPkt {
	ps := s.get(key, true)
	s.peers.Put(*key, ps) // used: the newest in the LRU
	var out []outPkt
	cur := ps.cur
	if cur != nil && (cur.expired(now) || cur.sent >= rekeyPackets+1024) {
		cur = nil // too old to use
	}
	due := cur == nil || cur.due(now)
	if due && (ps.hs == nil || now.Sub(ps.hsAt) >= hsRetry) {
		if init, err := s.initiate(ps, now); err == nil {
			out = append(out, outPkt{b: init, tcp: tcp})
		}
	}
	if cur != nil {
		return append(out, outPkt{b: s.sealIn(cur, plain), tcp: tcp})
	}
	ps.enqueue(plain, tcp, s.stats)
	return out
}

func (ps *peerSess) enqueue(plain []byte, tcp bool, st *Stats) {
	for len(ps.queue) > 0 && (len(ps.queue) >= maxQueued || ps.queueBytes+len(plain) > maxQueuedBytes) {
		ps.queueBytes -= len(ps.queue[0].plain)
		clear(ps.queue[0].plain)
		ps.queue = ps.queue[1:]
		st.QueueDropped++
	}
	ps.queue = append(ps.queue, queued{plain: bytes.Clone(plain), tcp: tcp})
	ps.queueBytes += len(plain)
}

// sealIn seals plain in ss.
func (s *sessions) sealIn(ss *session, plain []byte) []byte {
	b := wire.AppendDataHead(make([]byte, 0, wire.DataHdr+len(plain)+wire.BoxOverhead), &s.pub, ss.remote, ss.sent)
	ss.sent++
	b = ss.send.Cipher().Encrypt(b, ss.sent-1, b, plain)
	if s.tap != nil {
		s.tap(b, plain)
	}
	return b
}

// initiate starts a handshake with ps, replacing one in flight.
func (s *sessions) initiate(ps *peerSess, now time.Time) ([]byte, error) {
	ps.dropHandshake()
	idx := newIndex()
	head := wire.AppendInitHead(make([]byte, 0, wire.InitLen), &s.pub, idx)
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: suite, Random: rand.Reader, Pattern: noise.HandshakeIK, Initiator: true,
		Prologue: append([]byte(wire.Prologue), head...), StaticKeypair: s.static, PeerStatic: ps.key[:],
	})
	if err != nil {
		return nil, fmt.Errorf("peer: handshake: %w", err)
	}
	pkt, _, _, err := hs.WriteMessage(head, nil)
	if err != nil {
		wipeHandshake(hs)
		return nil, fmt.Errorf("peer: handshake: %w", err)
	}
	ps.hs, ps.hsIndex, ps.hsAt, ps.hsTries = hs, idx, now, 0
	s.stats.Handshakes++
	return pkt, nil
}

// Errors of open.
var (
	errNoSession = errors.New("no such session")
	errHandshake = errors.New("handshake failed")
	errCounter   = errors.New("counter seen before or too old")
	errBusy      = errors.New("handshake budget spent")
)

// opened is what open makes of a packet.
type opened struct {
	plain []byte   // data: the inner payload (empty: a keepalive)
	data  bool     // it was data that opened
	fresh bool     // it confirmed a session the peer started: it may have restarted, or lost our last packets
	reply []outPkt // to send back the way the packet came
	flush []outPkt // packets that waited for the handshake, sealed now
}

// open handles an initiation, a response or a data packet from o.Key.
// mayStranger is asked before an initiation from a key we hold nothing
// for costs us DH operations.
func (s *sessions) open(o *wire.Outer, now time.Time, mayStranger func() bool) (opened, error) {
	switch o.Type {
	case wire.TypeInit:
		return s.onInit(o, now, mayStranger)
	case wire.TypeResp:
		return s.onResp(o, now)
	case wire.TypeData:
		return s.onData(o, now)
	}
	return opened{}, fmt.Errorf("%w: packet type %d", wire.ErrUnknownKind, o.Type)
}

func (s *sessions) onInit(o *wire.Outer, now time.Time, mayStranger func() bool) (opened, error) {
	ps := s.get(&o.Key, false)
	if ps == nil {
		if !mayStranger() {
			return opened{}, errBusy
		}
	} else if !ps.inits.Take(now) {
		s.stats.HandshakesLimited++
		return opened{}, errBusy
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: suite, Random: rand.Reader, Pattern: noise.HandshakeIK, Initiator: false,
		Prologue: append([]byte(wire.Prologue), o.Head...), StaticKeypair: s.static,
	})
	if err != nil {
		return opened{}, fmt.Errorf("peer: handshake: %w", err)
	}
	defer wipeHandshake(hs)
	if _, _, _, err := hs.ReadMessage(nil, o.Noise); err != nil || !bytes.Equal(hs.PeerStatic(), o.Key[:]) {
		return opened{}, errHandshake
	}
	idx := newIndex()
	head := wire.AppendRespHead(make([]byte, 0, wire.RespLen), &s.pub, o.Index, idx)
	resp, recv, send, err := hs.WriteMessage(head, nil)
	if err != nil {
		return opened{}, fmt.Errorf("peer: handshake: %w", err)
	}
	ps = s.get(&o.Key, true)
	ps.next.erase()
	ps.next = &session{local: idx, remote: o.Index, send: send, recv: recv, born: now}
	s.stats.Handshakes++
	return opened{reply: []outPkt{{b: resp}}}, nil
}

func (s *sessions) onResp(o *wire.Outer, now time.Time) (opened, error) {
	ps := s.get(&o.Key, false)
	if ps == nil || ps.hs == nil || ps.hsIndex != o.To {
		return opened{}, errNoSession
	}
	ps.hsTries++
	send, recv, err := readResp(ps.hs, o)
	if err != nil {
		if ps.hsTries >= maxRespTries {
			ps.dropHandshake()
		}
		return opened{}, errHandshake
	}
	ps.dropHandshake()
	ss := &session{local: ps.hsIndex, remote: o.Index, send: send, recv: recv, born: now, confirmed: true, initiator: true}
	ps.install(ss)
	var res opened
	for _, q := range ps.queue {
		res.flush = append(res.flush, outPkt{b: s.sealIn(ss, q.plain), tcp: q.tcp})
		clear(q.plain)
	}
	ps.queue, ps.queueBytes = nil, 0
	if len(res.flush) == 0 {
		res.flush = append(res.flush, outPkt{b: s.sealIn(ss, nil)}) // a keepalive confirms it
	}
	return res, nil
}

// readResp reads a response into hs (rolled back on failure, so a forged
// one does not spoil it).
func readResp(hs *noise.HandshakeState, o *wire.Outer) (send, recv *noise.CipherState, err error) {
	_, send, recv, err = hs.ReadMessage(nil, o.Noise)
	if err == nil && send == nil {
		err = errHandshake
	}
	return send, recv, err
}

func (s *sessions) onData(o *wire.Outer, now time.Time) (opened, error) {
	ps := s.get(&o.Key, false)
	if ps == nil {
		return opened{}, errNoSession
	}
	var ss *session
	for _, c := range []*session{ps.cur, ps.next, ps.prev} {
		if c != nil && c.local == o.To {
			ss = c
		}
	}
	if ss == nil || ss.expired(now) {
		return opened{}, errNoSession
	}
	if !ss.win.fresh(o.Counter) {
		return opened{}, errCounter
	}
	plain, err := ss.recv.Cipher().Decrypt(nil, o.Counter, o.Head, o.Box)
	if err != nil {
		return opened{}, wire.ErrOpen
	}
	ss.win.record(o.Counter)
	s.peers.Put(o.Key, ps) // used: the newest in the LRU
	var res opened
	if ss == ps.next {
		ps.next = nil
		ss.confirmed = true
		ps.install(ss)
		res.fresh = true
	}
	res.plain, res.data = plain, true
	if ss == ps.cur && len(ps.queue) > 0 {
		for _, q := range ps.queue {
			res.flush = append(res.flush, outPkt{b: s.sealIn(ss, q.plain), tcp: q.tcp})
			clear(q.plain)
		}
		ps.queue, ps.queueBytes = nil, 0
	}
	return res, nil
}

// sweep erases the sessions past rejectAfter, sessions the peer started
// and did not confirm within nextLife (a replayed or abandoned initiation)
// and handshakes long unanswered, and forgets keys left with nothing (run
// by the node's tick).
func (s *sessions) sweep(now time.Time) {
	var empty [][32]byte
	s.peers.Each(func(key [32]byte, ps *peerSess) {
		for _, p := range []**session{&ps.cur, &ps.prev, &ps.next} {
			if *p != nil && (*p).expired(now) {
				(*p).erase()
				*p = nil
			}
		}
		if ps.next != nil && now.Sub(ps.next.born) >= nextLife {
			ps.next.erase()
			ps.next = nil
		}
		if ps.hs != nil && now.Sub(ps.hsAt) >= hsGiveUp {
			ps.dropHandshake()
			for i := range ps.queue {
				clear(ps.queue[i].plain)
			}
			s.stats.QueueDropped += uint64(len(ps.queue))
			ps.queue, ps.queueBytes = nil, 0
		}
		if ps.cur == nil && ps.prev == nil && ps.next == nil && ps.hs == nil && len(ps.queue) == 0 {
			empty = append(empty, key)
		}
	})
	for _, k := range empty {
		s.peers.Remove(k)
	}
}

// restart starts a handshake with key unless one started in the last
// hsRetry: the key sent data in a session we do not hold.
func (s *sessions) restart(key *[32]byte, now time.Time) []outPkt {
	ps := s.get(key, true)
	if ps.hs != nil && now.Sub(ps.hsAt) < hsRetry {
		return nil
	}
	init, err := s.initiate(ps, now)
	if err != nil {
		return nil
	}
	return []outPkt{{b: init}}
}

// forget erases what is held for key.
func (s *sessions) forget(key *[32]byte) {
	if ps := s.get(key, false); ps != nil {
		ps.eraseAll()
		s.peers.Remove(*key)
	}
}

func newIndex() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("peer: random: %v", err))
	}
	return binary.BigEndian.Uint32(b[:])
}

// ctrWindow is a session's replay window on data counters: the highest
// seen and a bitmap of the ctrWindowSize below it.
type ctrWindow struct {
	any     bool
	highest uint64
	bits    [ctrWindowSize / 64]uint64
}

const ctrWindowSize = 2048

func (w *ctrWindow) fresh(c uint64) bool {
	if !w.any || c > w.highest {
		return true
	}
	d := w.highest - c
	if d >= ctrWindowSize {
		return false
	}
	return w.bits[(c/64)%(ctrWindowSize/64)]&(1<<(c%64)) == 0
}

func (w *ctrWindow) record(c uint64) {
	if !w.any || c > w.highest {
		start := w.highest + 1
		if !w.any {
			start = c
		}
		if c-start >= ctrWindowSize {
			w.bits = [ctrWindowSize / 64]uint64{}
		} else {
			for x := start; x < c; x++ {
				w.bits[(x/64)%(ctrWindowSize/64)] &^= 1 << (x % 64)
			}
		}
		w.any, w.highest = true, c
	}
	w.bits[(c/64)%(ctrWindowSize/64)] |= 1 << (c % 64)
}
