package peer

import (
	"log/slog"
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
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

	// limits: the bounds on what peers can make the node hold; zero
	// fields take the documented defaults of limits.go. Unexported: only
	// in-package tests set them (a flood test asserts at a bound of 64
	// what holds at 512, in an eighth of the handshakes).
	limits limits
}

// limits are a node's bounds that tests may lower (see Config.limits).
type limits struct {
	peers        int // address book entries and hints (maxPeers)
	sessionPeers int // keys sessions are held with (maxSessionPeers)
}

func (l limits) withDefaults() limits {
	if l.peers == 0 {
		l.peers = maxPeers
	}
	if l.sessionPeers == 0 {
		l.sessionPeers = maxSessionPeers
	}
	return l
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
