package peer

import (
	"sync"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// SessionLayer is a node's session layer on its own (session.go), for
// programs that speak p2pchat packet by packet (internal/hostile's test
// peers): handshakes, sealing and opening, nothing above. Its methods are
// safe for concurrent use: mu guards everything, and is a leaf.
type SessionLayer struct {
	mu    sync.Mutex
	s     *sessions // guarded by mu
	stats Stats     // guarded by mu
}

// NewSessionLayer makes a session layer for id.
func NewSessionLayer(id *Identity) *SessionLayer {
	l := &SessionLayer{}
	l.s = newSessions(id, &l.stats)
	return l
}

// HasSession reports whether a session with key seals now.
func (l *SessionLayer) HasSession(key [32]byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.s.get(&key, false)
	return ps != nil && ps.cur != nil && !ps.cur.expired(time.Now())
}

// Handshake returns an initiation to key (replacing one in flight).
func (l *SessionLayer) Handshake(key [32]byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.initiate(l.s.get(&key, true), time.Now())
}

// Seal returns the packets that carry plain to key: the data packet, after
// an initiation when a handshake is due (or only the initiation, plain
// waiting for the response, when no session seals yet).
func (l *SessionLayer) Seal(key [32]byte, plain []byte) [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]byte
	for _, o := range l.s.seal(&key, plain, false, time.Now()) {
		out = append(out, o.b)
	}
	return out
}

// Open handles a packet: it returns its sender, a data packet's clear text
// (nil for handshakes and keepalives), and packets to send back to the
// sender (a handshake's answer, packets that waited for it).
func (l *SessionLayer) Open(pkt []byte) (from [32]byte, plain []byte, send [][]byte, err error) {
	o, err := wire.ParseOuter(pkt)
	if err != nil {
		return from, nil, nil, err
	}
	if o.Type == wire.TypeProbe {
		return o.Key, nil, nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	res, err := l.s.open(&o, time.Now(), func() bool { return true })
	for _, r := range res.reply {
		send = append(send, r.b)
	}
	for _, r := range res.flush {
		send = append(send, r.b)
	}
	if err != nil {
		return o.Key, nil, send, err
	}
	if len(res.plain) > 0 {
		plain = res.plain
	}
	return o.Key, plain, send, nil
}
