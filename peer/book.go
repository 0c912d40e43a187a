package peer

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// peerState is one address-book entry: everything the node knows about a
// peer, keyed by its public key. Every field, with its outStream and
// inStream, is guarded by Node.mu (the peers a stranger's packet makes,
// strangerLocked, too); no goroutine keeps one across the lock's release.
type peerState struct {
	key   [32]byte
	id    string
	nick  string // the name it claims
	host  string
	label string // the unique name shown to the user ("" until its first hello)
	addr  netip.AddrPort
	via   string
	away  string

	online        bool
	lastSeen      time.Time
	win           replayWindow // its packets so far; win.boot is its current process
	tcpMode       bool         // the peer asked for TCP only
	udpOK         bool         // our UDP reaches it (false after UDP went unanswered)
	lastUDPAnswer time.Time    // last ack or pong that came back over UDP
	pinned        string       // the nickname this run saw pinned to it ("" before a message was exchanged)
	awayAnswered  bool         // our away text was sent to it

	// heartbeats
	nextPing time.Time
	pingID   uint64
	pingSent time.Time
	knock    time.Duration // interval of hellos to it while it is gone
	srtt     time.Duration

	out    outStream // our messages to it
	in     inStream  // its messages to us
	queued int       // bytes of its messages in the event queue
	saving int       // bytes of its messages on their way to disk (durable.go)

	parked     bool   // put in the book to queue messages for it, not heard in this run yet: treated as a stranger until it answers a challenge
	inSaved    uint64 // with a Store: its seqs below this are on disk (acknowledged when they come again)
	saveWarned bool   // told the user its messages cannot be saved

	learned int       // peer-exchange leads taken from it while online (exchange.go)
	shareAt time.Time // when to send it our book next (zero: sent, or not online)
	books   int       // books sent to it since it came online (exchange.go)
}

// boot is the peer's current process (its start time), 0 before any packet.
func (p *peerState) boot() uint64 { return p.win.boot }

// labelChange is a peer's label changing: old is "" for a peer's first label.
type labelChange struct {
	p        *peerState
	old, new string
	// why the peer is not shown by its nickname, if it is not
	clash clashKind
}

type clashKind int

const (
	noClash     clashKind = iota
	clashPinned           // the nickname is pinned to another key
	clashTaken            // another peer already shows as the nickname
	clashOwn              // the nickname is ours
)

// tombstone is what the book keeps of a peer it forgot to make room: where
// its stream to us stood, so that messages it sends again after coming back
// are recognised as shown.
type tombstone struct {
	stream, next uint64
	forgot       time.Time // when it was forgotten: only a challenge made since takes it back
	at           uint64    // when it was made, in forgets: tells its tombOrder entry from stale ones
}

// tombRef is a tombstone's place in the order they were made.
type tombRef struct {
	key [32]byte
	at  uint64
}

// book is the address book: the seed texts' "dictionary of everyone's ip and
// port", keyed by public key, with unique, stable labels on top. A label
// never changes behind the user's back: every change is returned to the
// caller, which tells the user.
//
// Concurrency: a book is not safe for concurrent use; a Node's is guarded
// by Node.mu, all but pins, which has its own lock (pins.mu, taken under
// Node.mu or without it; never the other way round).
type book struct {
	max    int // peers at most
	peers  map[[32]byte]*peerState
	ids    map[string]*peerState
	labels map[string]*peerState
	pins   *pins

	tombs     map[[32]byte]tombstone
	tombOrder []tombRef // oldest first; an entry whose at is not its key's tombstone's is stale
	tombCount uint64    // tombstones made so far
	maxTombs  int
	now       func() time.Time
}

func newBook(ps *pins, maxPeers, maxTombs int) *book {
	return &book{
		max: maxPeers, maxTombs: maxTombs, pins: ps,
		peers: map[[32]byte]*peerState{}, ids: map[string]*peerState{}, labels: map[string]*peerState{},
		tombs: map[[32]byte]tombstone{}, now: time.Now,
	}
}

// byID finds a peer by its node id.
func (b *book) byID(id string) *peerState { return b.ids[id] }

// byName finds a peer by label; a plain nickname also matches when exactly
// one peer claims it.
func (b *book) byName(name string) *peerState {
	if p := b.labels[name]; p != nil {
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

// admit takes p into the book, forgetting the peer seen longest ago that is
// offline and owes or is owed nothing if the book is full. It reports false
// when there is no room. A peer forgotten earlier gets its stream back.
func (b *book) admit(p *peerState) bool {
	if len(b.peers) >= b.max && !b.evict() {
		return false
	}
	b.peers[p.key] = p
	b.ids[p.id] = p
	if t, ok := b.tombs[p.key]; ok {
		p.in.id, p.in.next = t.stream, t.next
		delete(b.tombs, p.key)
	}
	return true
}

// mayReturn reports whether a key answering a challenge made at made may
// enter: not if the book forgot that key after the challenge was made (the
// answer was recorded before, and is replayed).
func (b *book) mayReturn(key [32]byte, made time.Time) bool {
	t, ok := b.tombs[key]
	// made is rounded down to a tick: the challenge was made in [made,
	// made+tick). Only one surely made after the forget lets the key in;
	// an honest peer answers the next challenge, a tick later.
	return !ok || made.After(t.forgot)
}

// evict forgets one peer to make room, keeping a tombstone of it.
func (b *book) evict() bool {
	var oldest *peerState
	for _, p := range b.peers {
		if p.online || p.out.len() > 0 || len(p.in.buf) > 0 {
			continue
		}
		if oldest == nil || p.lastSeen.Before(oldest.lastSeen) {
			oldest = p
		}
	}
	if oldest == nil {
		return false
	}
	b.forget(oldest)
	return true
}

func (b *book) forget(p *peerState) {
	delete(b.peers, p.key)
	delete(b.ids, p.id)
	if b.labels[p.label] == p {
		delete(b.labels, p.label)
	}
	// A key that came back and is forgotten again has an earlier,
	// stale entry in tombOrder: it must not drop this newer tombstone.
	b.tombCount++
	b.tombOrder = append(b.tombOrder, tombRef{p.key, b.tombCount})
	b.tombs[p.key] = tombstone{stream: p.in.id, next: p.in.next, forgot: b.now(), at: b.tombCount}
	for len(b.tombs) > b.maxTombs && len(b.tombOrder) > 0 {
		old := b.tombOrder[0]
		b.tombOrder = b.tombOrder[1:]
		if b.tombs[old.key].at == old.at {
			delete(b.tombs, old.key)
		}
	}
	if len(b.tombOrder) > 2*b.maxTombs { // keys that came back left holes
		b.tombOrder = b.compactTombOrder()
	}
}

func (b *book) compactTombOrder() []tombRef {
	kept := make([]tombRef, 0, len(b.tombs))
	for _, r := range b.tombOrder {
		if t, ok := b.tombs[r.key]; ok && t.at == r.at {
			kept = append(kept, r)
		}
	}
	return kept
}

// unlabel takes p's label away, as if p had none yet.
func (b *book) unlabel(p *peerState) {
	if b.labels[p.label] == p {
		delete(b.labels, p.label)
	}
	p.label = ""
}

// setNick records the nickname p claims (own is ours) and gives p a label if
// it has none or the nickname changed. Other peers keep theirs, except that
// the holder of the nickname's pin takes the plain nickname from a peer
// that shows as it without holding the pin. The changes are returned.
func (b *book) setNick(p *peerState, nick, own string) []labelChange {
	if p.label != "" && p.nick == nick {
		return nil
	}
	p.nick = nick
	return b.relabel(p, own)
}

// relabel gives p the best label it may have now.
func (b *book) relabel(p *peerState, own string) []labelChange {
	var changes []labelChange
	label, clash := b.labelFor(p, own)
	if clash == noClash {
		if holder := b.labels[label]; holder != nil && holder != p {
			// The pin holder takes its name back from a peer without the pin.
			delete(b.labels, label)
			holder.label = ""
			hl, hc := b.labelFor(holder, own)
			changes = append(changes, b.setLabel(holder, label, hl, hc))
		}
	}
	if label == p.label {
		return changes
	}
	old := p.label
	if b.labels[old] == p {
		delete(b.labels, old)
	}
	return append(changes, b.setLabel(p, old, label, clash))
}

func (b *book) setLabel(p *peerState, old, label string, clash clashKind) labelChange {
	p.label = label
	b.labels[label] = p
	return labelChange{p: p, old: old, new: label, clash: clash}
}

// labelFor is the label p should have: its nickname when p holds the
// nickname's pin, or nobody holds the pin and no other peer shows as it;
// else nick@host, or nick@id when that is taken too.
func (b *book) labelFor(p *peerState, own string) (string, clashKind) {
	key, pinned := b.pins.lookup(p.nick)
	clash := noClash
	switch {
	case p.nick == own:
		clash = clashOwn
	case pinned && key != p.key:
		clash = clashPinned
	case !pinned:
		if h := b.labels[p.nick]; h != nil && h != p {
			clash = clashTaken
		}
	}
	if clash == noClash {
		return p.nick, noClash
	}
	if p.label != "" && p.label != p.nick && strings.HasPrefix(p.label, p.nick+"@") {
		return p.label, clash // it keeps the label it has
	}
	label := p.nick + "@" + hostLabel(p.host)
	if p.host == "" || b.takenBy(label, p) {
		label = p.nick + "@" + p.id[:8]
		// Another peer's host may have been chosen to look like this id.
		for i := 2; b.takenBy(label, p); i++ {
			label = fmt.Sprintf("%s@%s-%d", p.nick, p.id[:8], i)
		}
	}
	return label, clash
}

// takenBy reports whether a peer other than p shows as label.
func (b *book) takenBy(label string, p *peerState) bool {
	h := b.labels[label]
	return h != nil && h != p
}

// exchanged records that a message went between us and p under its current
// nickname: that is when a nickname is pinned to a key (trust on first
// message), if nobody holds it yet. A key holds one pin at most, so a peer
// that passes through names pins only the last it used. Only a peer shown
// as its plain nickname pins it: a message with bob@laptop2, while another
// peer shows as bob, went under bob@laptop2, not under bob. It reports
// whether the pins changed.
func (b *book) exchanged(p *peerState, own string, now time.Time) bool {
	if p.nick == "" || p.nick == own || p.label != p.nick || p.pinned == p.nick {
		return false
	}
	key, pinned := b.pins.lookup(p.nick)
	if pinned && key != p.key {
		return false
	}
	p.pinned = p.nick
	return b.pins.pin(p.nick, p.key, now, false)
}

// trust pins p's nickname to p's key on the user's word, taking the
// nickname from whoever held it; the label changes are returned.
func (b *book) trust(p *peerState, own string, now time.Time) []labelChange {
	b.pins.pin(p.nick, p.key, now, true)
	p.pinned = p.nick
	return b.relabel(p, own)
}

// sorted lists the peers ordered by key.
func (b *book) sorted(key func(*peerState) string) []*peerState {
	list := make([]*peerState, 0, len(b.peers))
	for _, p := range b.peers {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	return list
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
		Name: p.label, Nick: p.nick, Host: p.host, ID: p.id, Addr: addr,
		Transport: transport, Via: p.via, LastSeen: p.lastSeen,
		Fingerprint: Fingerprint(&p.key), Pending: p.out.len(), Online: p.online, Away: p.away,
	}
}

func (p *peerState) String() string { return fmt.Sprintf("%s(%s)", p.label, p.id) }
