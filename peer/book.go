package peer

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// peerState is one address-book entry: everything the node knows about a
// peer, keyed by its public key. Guarded by Node.mu.
type peerState struct {
	key     [32]byte
	shared  *[32]byte // precomputed box key
	id      string
	nick    string // the name it claims
	host    string
	display string // unique name shown to the user
	addr    netip.AddrPort
	via     string
	away    string

	online        bool
	lastSeen      time.Time
	boot          uint64 // the peer's current process
	win           replayWindow
	tcpMode       bool      // the peer asked for TCP only
	udpOK         bool      // our UDP reaches it (false after UDP went unanswered)
	lastUDPAnswer time.Time // last ack or pong that came back over UDP
	warned        bool      // impostor warning given
	awayAnswered  bool      // our away text was sent to it

	// heartbeats
	nextPing time.Time
	pingID   uint64
	pingSent time.Time
	knock    time.Duration // interval of hellos to it while it is gone
	srtt     time.Duration

	// outgoing stream: our messages to this peer, in seq order
	nextSeq uint64
	out     []*outMsg

	// incoming stream: the peer's messages to us
	inBoot uint64
	inNext uint64
	inBuf  map[uint64]Payload
}

// book is the address book: the seed texts' "dictionary of everyone's ip and
// port", keyed by public key, with unique display names on top.
type book struct {
	self  *Identity
	peers map[[32]byte]*peerState
	names map[string]*peerState
	pins  *pins
}

// byID finds a peer by its node id.
func (b *book) byID(id string) *peerState {
	if len(id) != 16 {
		return nil
	}
	for _, p := range b.peers {
		if p.id == id {
			return p
		}
	}
	return nil
}

// byName finds a peer by display name; a plain nickname also matches when
// exactly one peer claims it.
func (b *book) byName(name string) *peerState {
	if p := b.names[name]; p != nil {
		return p
	}
	var found *peerState
	for _, p := range b.peers {
		if p.nick == name {
			if found != nil {
				return nil
			}
			found = p
		}
	}
	return found
}

// assignNames recomputes every display name: a peer whose key holds the pin
// on its nickname (or first claims a free one) is shown by the nickname; any
// other claimant is nick@host, or nick@id when that is taken too. It returns
// the peers that claim a name pinned to another key and were not yet warned
// about.
func (b *book) assignNames(own string) (impostors []*peerState) {
	b.names = map[string]*peerState{}
	list := b.sorted(func(p *peerState) string { return p.id })
	// Pin holders first, then everybody else.
	var rest []*peerState
	for _, p := range list {
		if p.nick == "" {
			continue
		}
		key, pinned := b.pins.lookup(p.nick)
		if !pinned && p.nick != own {
			_ = b.pins.pin(p.nick, p.key)
			key, pinned = p.key, true
		}
		if pinned && key == p.key && p.nick != own {
			p.display = p.nick
			b.names[p.display] = p
			continue
		}
		rest = append(rest, p)
	}
	for _, p := range rest {
		name := p.nick + "@" + hostLabel(p.host)
		if p.host == "" || b.names[name] != nil {
			name = p.nick + "@" + p.id[:8]
		}
		p.display = name
		b.names[name] = p
		if !p.warned {
			p.warned = true
			impostors = append(impostors, p)
		}
	}
	return impostors
}

// hostLabel turns a peer-reported host name into something safe to type.
func hostLabel(h string) string {
	h, _, _ = strings.Cut(h, ".")
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "host"
	}
	return b.String()
}

func (b *book) sorted(key func(*peerState) string) []*peerState {
	list := make([]*peerState, 0, len(b.peers))
	for _, p := range b.peers {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	return list
}

// info snapshots a peer for the user interface.
func (p *peerState) info(tcpOnly bool) PeerInfo {
	transport := "udp"
	if tcpOnly || p.tcpMode || !p.udpOK {
		transport = "tcp"
	}
	addr := ""
	if p.addr.IsValid() {
		addr = p.addr.String()
	}
	return PeerInfo{
		Name: p.display, Nick: p.nick, Host: p.host, ID: p.id, Addr: addr,
		Transport: transport, Via: p.via, LastSeen: p.lastSeen,
		Fingerprint: Fingerprint(&p.key), Pending: len(p.out), Online: p.online, Away: p.away,
	}
}

func (p *peerState) String() string { return fmt.Sprintf("%s(%s)", p.display, p.id) }
