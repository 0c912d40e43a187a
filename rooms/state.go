package rooms

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Stats counts what was dropped or refused; one field per counter.
type Stats struct {
	Malformed      uint64 // room messages, summaries or lists that did not decode (or named a room other than theirs)
	Forged         uint64 // messages whose signature did not verify under their author's key (forged or altered relays), dropped
	KeyMismatch    uint64 // messages signed by a key other than the one bound to their author's identity, dropped
	NotJoined      uint64 // messages for rooms we are not in, dropped
	NotMember      uint64 // messages of a private room by a non-member (or a removed one), dropped
	Stale          uint64 // messages older than MaxAge, dropped
	Duplicates     uint64 // messages already taken or already held, dropped
	TooFarAhead    uint64 // messages more than MaxAhead past their author's position, not taken (a later relay brings them)
	HeldFull       uint64 // messages ahead of a gap not held for want of room (MaxHeld, MaxHeldBytes, MaxHeldPerAuthor), not taken
	AuthorsFull    uint64 // messages of a new author not taken: the room tracks MaxAuthors and none could go
	MembersFull    uint64 // joins taken without making the author a member: the room had MaxMembers
	FutureTopics   uint64 // topic messages dated more than MaxSkew ahead, taken without changing the topic
	Skipped        uint64 // seqs given up after waiting GapWait for them (the messages after the gap were shown)
	LogEvicted     uint64 // messages dropped from a room's log by its bounds (MaxLog, MaxLogBytes, MaxAge), oldest first
	KnownEvicted   uint64 // open rooms heard of forgotten for newer ones (MaxKnownRooms)
	BadLists       uint64 // member lists refused: malformed, bad signature, wrong id
	StaleLists     uint64 // member lists not newer than the one we hold
	Uninvited      uint64 // member lists of private rooms we are not in that do not list us
	InvitesRefused uint64 // invitations not taken: MaxRooms rooms, or MaxInvitedRooms not yet joined by the user
	RelayRefused   uint64 // summaries of a private room from a non-member, answered with nothing
}

// Delivery is a message taken, to show: every author's messages come out
// once each, in its seq order.
type Delivery struct {
	Msg     *Message
	Earlier bool // relayed by another member (catch-up or history), not from its author
}

// State is a node's rooms: the pure core. It does no I/O, starts no
// goroutine and reads no clock: every call that needs the time is given
// it. It is not safe for concurrent use (the caller holds one lock).
type State struct {
	signer *Signer
	nick   string
	// Bound, if set, gives the signing key bound to an identity in that
	// peer's own hello (VerifyBinding); a message whose author claims
	// that identity with another key is dropped (KeyMismatch).
	Bound func(id Key) (SignKey, bool)
	// NextSeq, if set, gives a floor for our next seq in a room, as the
	// store kept it: when we left (Part returns it), or past every seq
	// we may have used before a crash (our seq in a restored room is the
	// larger of it and the one after our last): 1 for a room we were
	// never in, 0 if not known. In a room we are not in, with 0 or
	// without NextSeq, our seqs start at the time in Unix ms, past any
	// seq we could have used (a rejoin with seqs from 1 would be taken
	// by the members as duplicates).
	NextSeq func(id ID) uint64
	rooms   map[ID]*room
	known   map[ID]*known
	stats   Stats
}

// New is an empty State for the node with signer's keys and nickname
// nick (wire.ValidName).
func New(signer *Signer, nick string) *State {
	return &State{signer: signer, nick: nick, rooms: make(map[ID]*room), known: make(map[ID]*known)}
}

// SetNick changes the nickname our next messages carry.
func (s *State) SetNick(nick string) { s.nick = nick }

// Stats returns the counters.
func (s *State) Stats() Stats { return s.stats }

type room struct {
	id      ID
	name    string
	private bool
	list    *List           // private rooms: the newest list
	members map[Key]SignKey // open rooms: who joined and has not left (identity -> signing key)
	parted  map[Key]bool    // private rooms: members whose last message was a part
	authors map[SignKey]*author
	log     []logEntry // oldest first, each author's messages in seq order
	logSize int        // encoded bytes in log
	held    int        // messages held ahead of gaps
	heldSz  int        // their encoded bytes
	topic   string
	topicAt int64
	topicBy SignKey
	joined  time.Time
	invited bool // entered by an invitation the user has not /join-ed yet
	hist    history
}

// history is a newcomer's request for the room's recent history: while
// we are fresh (FreshFor after our join), one member at a time is sent a
// fresh summary; the others get plain ones.
type history struct {
	from     Key          // the member asked (valid while asking)
	asking   bool         // from was asked and has not answered yet
	answered bool         // from's answer came in: only from is sent fresh summaries
	at       time.Time    // when from was asked
	tried    map[Key]bool // members asked so far (at most MaxMembers)
}

type author struct {
	identity Key
	nick     string
	pos      uint64          // highest contiguous seq taken
	held     map[uint64]held // ahead of a gap
	waiting  time.Time       // since when the gap after pos is waited on (held non-empty)
	last     time.Time       // when we last took one of its messages
	logged   int             // its messages in the log
}

type held struct {
	m       *Message
	relayed bool
}

type logEntry struct {
	m    *Message
	at   time.Time // when it was taken
	size int
}

type known struct {
	name    string
	private bool
	members int
	topic   string
	heard   time.Time
}

// Info is a room as /rooms lists it.
type Info struct {
	ID      ID
	Name    string
	Private bool
	Members int
	Topic   string
	Joined  bool
}

// Join joins the open room name (creating it if nobody is in it yet: an
// open room is its name) and returns its id and our join message, to be
// fanned out to its members.
func (s *State) Join(name string, now time.Time) (ID, *Message, error) {
	name, err := ParseName(name)
	if err != nil {
		return ID{}, nil, err
	}
	id := OpenID(name)
	if s.rooms[id] != nil {
		return id, nil, ErrAlreadyJoined
	}
	// With no open room of that name known, the name may be a private
	// room's: ours (then it is only made the target), or another's.
	if _, open := s.known[id]; !open {
		if r := s.find(name); r != nil {
			r.invited = false // the user takes the invitation
			return r.id, nil, ErrAlreadyJoined
		}
		for _, k := range s.known {
			if k.private && k.name == name {
				return ID{}, nil, ErrInviteOnly
			}
		}
	}
	if len(s.rooms) >= MaxRooms {
		return ID{}, nil, ErrRoomsFull
	}
	if k := s.known[id]; k != nil && k.members >= MaxMembers {
		return ID{}, nil, ErrMembersFull
	}
	r := s.newRoom(id, name, false, now)
	delete(s.known, id)
	m, err := s.post(r, KindJoin, "", now)
	return id, m, err
}

// CreatePrivate makes a private room (nonce: 16 random bytes the caller
// draws) with us as its creator and only member; it returns the first
// member list and our join message.
func (s *State) CreatePrivate(name string, nonce [16]byte, now time.Time) (*List, *Message, error) {
	name, err := ParseName(name)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := s.known[OpenID(name)]; ok {
		return nil, nil, ErrOpenExists
	}
	if r := s.find(name); r != nil {
		if !r.private {
			return nil, nil, ErrOpenExists
		}
		return nil, nil, ErrAlreadyJoined
	}
	if len(s.rooms) >= MaxRooms {
		return nil, nil, ErrRoomsFull
	}
	l, err := NewList(s.signer, name, nonce, now)
	if err != nil {
		return nil, nil, err
	}
	r := s.newRoom(l.Room, name, true, now)
	r.list = l
	m, err := s.post(r, KindJoin, "", now)
	return l, m, err
}

func (s *State) newRoom(id ID, name string, private bool, now time.Time) *room {
	r := &room{id: id, name: name, private: private, members: make(map[Key]SignKey), parted: make(map[Key]bool),
		authors: make(map[SignKey]*author), joined: now}
	s.rooms[id] = r
	return r
}

// find is the room we are in by that folded name, the open one first.
func (s *State) find(name string) *room {
	if r := s.rooms[OpenID(name)]; r != nil {
		return r
	}
	for _, r := range s.rooms {
		if r.name == name {
			return r
		}
	}
	return nil
}

// Find is the id of the room we are in by that name (open first).
func (s *State) Find(name string) (ID, bool) {
	name, err := ParseName(name)
	if err != nil {
		return ID{}, false
	}
	if r := s.find(name); r != nil {
		return r.id, true
	}
	return ID{}, false
}

// Part leaves a room: it returns our part message (to fan out) and our
// next seq in the room (for the store to keep, for a later Join), and
// forgets the room.
func (s *State) Part(id ID, reason string, now time.Time) (*Message, uint64, error) {
	r := s.rooms[id]
	if r == nil {
		return nil, 0, ErrNotJoined
	}
	m, err := s.post(r, KindPart, reason, now)
	if err != nil {
		return nil, 0, err
	}
	delete(s.rooms, id)
	return m, m.Seq + 1, nil
}

// Post makes, signs and takes our own message of kind (KindText or
// KindTopic) in room id; the caller saves it and fans it out to
// Recipients(id).
func (s *State) Post(id ID, kind Kind, text string, now time.Time) (*Message, error) {
	r := s.rooms[id]
	if r == nil {
		return nil, ErrNotJoined
	}
	if kind != KindText && kind != KindTopic {
		return nil, fmt.Errorf("%w: post of kind %s", ErrBadField, kind)
	}
	return s.post(r, kind, text, now)
}

// post makes our next message in r and takes it.
func (s *State) post(r *room, kind Kind, text string, now time.Time) (*Message, error) {
	me := r.authors[s.signer.Public]
	var seq uint64
	if me != nil {
		seq = me.pos + 1
	}
	if s.NextSeq != nil {
		seq = max(seq, s.NextSeq(r.id))
	}
	if seq == 0 {
		seq = uint64(max(now.UnixMilli(), 1))
	}
	m := &Message{Kind: kind, Private: r.private, Room: r.id, Seq: seq, Time: now.UnixMilli(),
		Name: r.name, Nick: s.nick, Text: text}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.Sign(s.signer)
	if me == nil {
		if me = s.newAuthor(r, m, now); me == nil {
			return nil, ErrAuthorsFull
		}
	}
	var out []Delivery
	s.take(r, me, m, false, now, &out)
	return m, nil
}

// Recipients are the members of room id other than us: who our messages
// in it are fanned out to.
func (s *State) Recipients(id ID) []Key {
	r := s.rooms[id]
	if r == nil {
		return nil
	}
	var keys []Key
	if r.private {
		for _, m := range r.list.Members {
			if m.Identity != s.signer.Identity && !r.parted[m.Identity] {
				keys = append(keys, m.Identity)
			}
		}
		return keys
	}
	for k := range r.members {
		if k != s.signer.Identity {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b Key) int { return cmp.Compare(string(a[:]), string(b[:])) })
	return keys
}

// IsMember reports whether identity id is a member of room id.
// In reports whether we are in room id (joined, or entered by an
// invitation not yet /join-ed), and whether it is private.
func (s *State) In(id ID) (in, private bool) {
	r := s.rooms[id]
	if r == nil {
		return false, false
	}
	return true, r.private
}

func (s *State) IsMember(rid ID, id Key) bool {
	r := s.rooms[rid]
	if r == nil {
		return false
	}
	if r.private {
		_, ok := r.list.Member(id)
		return ok
	}
	_, ok := r.members[id]
	return ok
}

// Topic is the topic of room id.
func (s *State) Topic(id ID) string {
	if r := s.rooms[id]; r != nil {
		return r.topic
	}
	return ""
}

// Receive takes a room message that arrived from peer from (its author,
// or another member relaying it; batch: in a relay batch, an answer to
// our summary, rather than fanned out live by its author) and returns
// what is now to be shown (Earlier when batch or relayed):
// the message, and those held behind it that it releases, in each
// author's order. A message that is dropped returns its Code (and is
// counted); a message held ahead of a gap returns nothing and no error.
func (s *State) Receive(from Key, b []byte, batch bool, now time.Time) ([]Delivery, error) {
	m, err := DecodeMessage(b)
	if err != nil {
		s.stats.Malformed++
		return nil, err
	}
	r := s.rooms[m.Room]
	if r == nil {
		s.stats.NotJoined++
		return nil, ErrNotJoined
	}
	if m.Name != r.name || m.Private != r.private {
		s.stats.Malformed++
		return nil, fmt.Errorf("%w: room name or kind", ErrBadField)
	}
	if err := m.Verify(); err != nil {
		s.stats.Forged++
		return nil, err
	}
	verified := false // the author's binding is known first-hand
	if s.Bound != nil {
		k, ok := s.Bound(m.Identity)
		if ok && k != m.Author {
			s.stats.KeyMismatch++
			return nil, ErrKeyMismatch
		}
		verified = ok
	}
	if r.private {
		if mem, ok := r.list.Member(m.Identity); !ok || mem.Signing != m.Author {
			s.stats.NotMember++
			return nil, ErrNotMember
		}
	} else if k, ok := r.members[m.Identity]; ok && k != m.Author {
		if !verified {
			s.stats.KeyMismatch++
			return nil, ErrKeyMismatch
		}
		// Someone claimed this identity with its own key before its
		// owner spoke here: the owner's key, known first-hand, wins.
		delete(r.members, m.Identity)
	}
	if m.Time < now.Add(-MaxAge).UnixMilli() {
		s.stats.Stale++
		return nil, ErrStale
	}
	relayed := batch || from != m.Identity
	if batch && r.hist.asking && from == r.hist.from && (m.Identity != from || m.Kind != KindJoin) {
		// The member asked for history answers (its batch is of messages
		// that verify: sealed by it, signed by their authors; its own
		// join alone is what it sends a plain summary, not history).
		r.hist.asking, r.hist.answered = false, true
	}
	a := r.authors[m.Author]
	if a == nil {
		// An author we have never seen: its messages before this one
		// were said before we were in the room (each source sends an
		// author's messages in its order), so this one is its first.
		if a = s.newAuthor(r, m, now); a == nil {
			return nil, ErrAuthorsFull
		}
	}
	if _, dup := a.held[m.Seq]; dup || m.Seq <= a.pos {
		s.stats.Duplicates++
		return nil, ErrDuplicate
	}
	var out []Delivery
	if m.Seq == a.pos+1 {
		s.take(r, a, m, relayed, now, &out)
		s.release(r, a, now, &out)
		return out, nil
	}
	// Ahead of a gap: held, within bounds. A join far ahead is its
	// author starting again past every seq it could have used (it lost
	// its state): what was missing before it is given up at once.
	restart := m.Seq-a.pos > MaxAhead && m.Kind == KindJoin
	if m.Seq-a.pos > MaxAhead && !restart {
		s.stats.TooFarAhead++
		return nil, ErrTooFarAhead
	}
	size := m.Size()
	if r.held >= MaxHeld || r.heldSz+size > MaxHeldBytes || len(a.held) >= MaxHeldPerAuthor {
		s.stats.HeldFull++
		return nil, ErrHeldFull
	}
	if a.held == nil {
		a.held = make(map[uint64]held)
	}
	if len(a.held) == 0 {
		a.waiting = now
	}
	a.held[m.Seq] = held{m, relayed}
	r.held++
	r.heldSz += size
	if restart {
		for a.pos < m.Seq {
			s.skipGap(r, a, now, &out)
		}
	}
	return out, nil
}

// newAuthor adds m's author to r, its position just before m; when r
// tracks MaxAuthors it makes room by forgetting the author taken from
// longest ago that is not a member and has nothing held or logged, or
// returns nil (counted).
func (s *State) newAuthor(r *room, m *Message, now time.Time) *author {
	if len(r.authors) >= MaxAuthors {
		var victim SignKey
		var oldest *author
		for k, a := range r.authors {
			if a.logged > 0 || len(a.held) > 0 || s.member(r, a.identity) || k == s.signer.Public {
				continue
			}
			if oldest == nil || a.last.Before(oldest.last) {
				victim, oldest = k, a
			}
		}
		if oldest == nil {
			s.stats.AuthorsFull++
			return nil
		}
		delete(r.authors, victim)
	}
	a := &author{identity: m.Identity, nick: m.Nick, pos: m.Seq - 1, last: now}
	r.authors[m.Author] = a
	return a
}

func (s *State) member(r *room, id Key) bool {
	if r.private {
		_, ok := r.list.Member(id)
		return ok
	}
	_, ok := r.members[id]
	return ok
}

// take applies m, the next message of a, and logs it.
func (s *State) take(r *room, a *author, m *Message, relayed bool, now time.Time, out *[]Delivery) {
	// Share one copy of the room's name and the author's nick among
	// the logged messages.
	m.Name = r.name
	if m.Nick == a.nick {
		m.Nick = a.nick
	}
	a.pos, a.nick, a.last = m.Seq, m.Nick, now
	switch m.Kind {
	case KindPart:
		if r.private {
			r.parted[m.Identity] = true
		} else {
			delete(r.members, m.Identity)
		}
	case KindJoin:
		delete(r.parted, m.Identity)
	case KindTopic:
		// The latest topic wins, but none dated more than MaxSkew ahead
		// of our clock: it would stay for ever.
		if m.Time > now.Add(MaxSkew).UnixMilli() {
			s.stats.FutureTopics++
		} else if m.Time > r.topicAt || (m.Time == r.topicAt && keyLess(r.topicBy, m.Author)) {
			r.topic, r.topicAt, r.topicBy = m.Text, m.Time, m.Author
		}
	}
	if m.Kind != KindPart && !r.private {
		if _, ok := r.members[m.Identity]; !ok {
			if len(r.members) < MaxMembers {
				r.members[m.Identity] = m.Author
			} else if m.Kind == KindJoin {
				s.stats.MembersFull++
			}
		}
	}
	size := m.Size()
	r.log = append(r.log, logEntry{m: m, at: now, size: size})
	r.logSize += size
	a.logged++
	for len(r.log) > MaxLog || r.logSize > MaxLogBytes {
		s.evictOldest(r)
	}
	*out = append(*out, Delivery{Msg: m, Earlier: relayed})
}

func (s *State) evictOldest(r *room) {
	e := r.log[0]
	r.log[0] = logEntry{}
	r.log = r.log[1:]
	r.logSize -= e.size
	if a := r.authors[e.m.Author]; a != nil {
		a.logged--
	}
	s.stats.LogEvicted++
	if len(r.log) == 0 {
		r.log = nil
	}
}

// release takes a's held messages that now follow its position.
func (s *State) release(r *room, a *author, now time.Time, out *[]Delivery) {
	for len(a.held) > 0 {
		h, ok := a.held[a.pos+1]
		if !ok {
			a.waiting = now
			return
		}
		delete(a.held, h.m.Seq)
		r.held--
		r.heldSz -= h.m.Size()
		s.take(r, a, h.m, h.relayed, now, out)
	}
}

// Tick does what time decides: a gap waited on for GapWait is given up
// (the messages held after it are taken and returned, the missing seqs
// counted as Skipped), a member asked for history that has not answered
// in HistoryWait is asked no more (NeedsHistory), and messages taken more than MaxAge ago leave the
// logs. The caller calls it every few seconds.
func (s *State) Tick(now time.Time) []Delivery {
	var out []Delivery
	for _, r := range s.sortedRooms() {
		if r.hist.asking && now.Sub(r.hist.at) >= HistoryWait {
			r.hist.asking = false // ask another (NeedsHistory)
		}
		for len(r.log) > 0 && now.Sub(r.log[0].at) > MaxAge {
			s.evictOldest(r)
		}
		keys := make([]SignKey, 0, len(r.authors))
		for k, a := range r.authors {
			if len(a.held) > 0 && now.Sub(a.waiting) >= GapWait {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b SignKey) int { return cmp.Compare(string(a[:]), string(b[:])) })
		for _, k := range keys {
			s.skipGap(r, r.authors[k], now, &out)
		}
	}
	return out
}

// skipGap gives up the seqs between a's position and its lowest held
// message, and takes what follows.
func (s *State) skipGap(r *room, a *author, now time.Time, out *[]Delivery) {
	low := uint64(0)
	for seq := range a.held {
		if low == 0 || seq < low {
			low = seq
		}
	}
	if low == 0 {
		return
	}
	s.stats.Skipped += low - a.pos - 1
	a.pos = low - 1
	s.release(r, a, now, out)
}

func (s *State) sortedRooms() []*room {
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *room) int { return cmp.Compare(string(a.id[:]), string(b.id[:])) })
	return rs
}

// Summary is what we hold of room id, for member to, whom we meet. It is
// fresh (send the room's recent history) while we joined less than
// FreshFor ago, but only to one member at a time: the first we send a
// summary to after joining (it is then asked), and again to it for more
// once it answered; the others get plain summaries (only what is newer
// than our join). An ask that goes unanswered (PeerGone, or HistoryWait
// in Tick) lets the next summary, to another member, be fresh.
func (s *State) Summary(id ID, to Key, now time.Time) (*Summary, error) {
	r := s.rooms[id]
	if r == nil {
		return nil, ErrNotJoined
	}
	fresh := now.Before(r.joined.Add(FreshFor))
	if fresh {
		h := &r.hist
		switch {
		case (h.asking || h.answered) && h.from == to:
		case h.asking || h.answered:
			fresh = false
		default:
			h.from, h.asking, h.at = to, true, now
			if h.tried == nil {
				h.tried = make(map[Key]bool)
			}
			if len(h.tried) < MaxMembers {
				h.tried[to] = true
			}
		}
	}
	sum := &Summary{Room: id, Fresh: fresh, Since: r.joined.UnixMilli(), Authors: make([]Pos, 0, len(r.authors))}
	for k, a := range r.authors {
		sum.Authors = append(sum.Authors, Pos{Author: PrefixOf(k), Seq: a.pos})
	}
	slices.SortFunc(sum.Authors, func(a, b Pos) int {
		return cmp.Or(bytes.Compare(a.Author[:], b.Author[:]), cmp.Compare(a.Seq, b.Seq))
	})
	// Two authors sharing a prefix (see PrefixLen): listed once, at the
	// lower position (sorted first), so that we are sent more, not less.
	sum.Authors = slices.CompactFunc(sum.Authors, func(a, b Pos) bool { return a.Author == b.Author })
	// MaxSummaryAuthors == MaxAuthors: every author fits.
	return sum, nil
}

// PeerGone notes that peer went away (or could not be sent our summary):
// in every room where we asked it for history and its answer is not in,
// the next summary to another member is fresh.
func (s *State) PeerGone(peer Key) {
	for _, r := range s.rooms {
		if r.hist.asking && r.hist.from == peer {
			r.hist.asking = false
		}
	}
}

// NeedsHistory lists the rooms, in id order, that are still fresh and
// ask nobody for their history (the member asked went away or did not
// answer within HistoryWait, and no summary went to another since): the
// caller sends a summary to a member online that was not asked before
// (Asked), which makes it the one asked.
func (s *State) NeedsHistory(now time.Time) []ID {
	var out []ID
	for _, r := range s.sortedRooms() {
		if !r.hist.asking && !r.hist.answered && len(r.hist.tried) > 0 && now.Before(r.joined.Add(FreshFor)) {
			out = append(out, r.id)
		}
	}
	return out
}

// Asked reports whether member k of room id was asked for its history
// since we joined.
func (s *State) Asked(id ID, k Key) bool {
	r := s.rooms[id]
	return r != nil && r.hist.tried[k]
}

// Relay answers peer's summary (b, encoded): the messages of our log it
// lacks, oldest first, at most MaxRelayMsgs and MaxRelayBytes (it sends
// another summary for more). Messages whose author has left are sent
// like any other. An open room's newcomer (a fresh summary) is sent the
// last LateJoinHistory messages of the log not by itself; of an author the summary does not list,
// nothing older than the peer's join (but our own join when we have said
// nothing since: the peer learns that we are a member); a private room's member nothing
// older than its invitation, and a non-member nothing at all.
func (s *State) Relay(peer Key, b []byte, now time.Time) ([]*Message, error) {
	sum, err := DecodeSummary(b)
	if err != nil {
		s.stats.Malformed++
		return nil, err
	}
	return s.RelaySummary(peer, sum, now)
}

// RelaySummary is Relay of a summary decoded already (DecodeSummary:
// its authors in key order).
func (s *State) RelaySummary(peer Key, sum *Summary, now time.Time) ([]*Message, error) {
	r := s.rooms[sum.Room]
	if r == nil {
		return nil, ErrNotJoined
	}
	var since int64 = -1 << 63 // private: nothing before the invitation
	if r.private {
		mem, ok := r.list.Member(peer)
		if !ok {
			s.stats.RelayRefused++
			return nil, ErrNotMember
		}
		since = mem.Added
	}
	// What the peer holds of an author: its authors are in key order
	// (DecodeSummary), so a binary search, no map built per answer.
	has := func(a SignKey) (uint64, bool) {
		pa := PrefixOf(a)
		i, ok := slices.BinarySearchFunc(sum.Authors, pa, func(p Pos, a Prefix) int { return bytes.Compare(p.Author[:], a[:]) })
		if !ok {
			return 0, false
		}
		return sum.Authors[i].Seq, true
	}
	start := 0
	if sum.Fresh && !r.private {
		// The last LateJoinHistory messages not by the newcomer (its
		// own join, which the member asked may hold by now, is not
		// history).
		start = len(r.log)
		for n := 0; start > 0 && n < LateJoinHistory; start-- {
			if r.log[start-1].m.Identity != peer {
				n++
			}
		}
	}
	// Our own join, if we have said nothing since, goes to a peer that
	// does not list us even when it is older than the peer's join: a
	// newcomer asks one member for history (Summary), and that one may
	// not have our join yet; so it learns every member that is quiet.
	var ownJoin uint64
	if me := r.authors[s.signer.Public]; me != nil {
		ownJoin = me.pos
	}
	var batch []*Message
	size := 0
	for _, e := range r.log[start:] {
		m := e.m
		pos, listed := has(m.Author)
		ours := !listed && m.Author == s.signer.Public && m.Kind == KindJoin && m.Seq == ownJoin
		if m.Seq <= pos || m.Time < since || (!listed && !sum.Fresh && m.Time < sum.Since && !ours) {
			continue
		}
		if len(batch) == MaxRelayMsgs || size+e.size > MaxRelayBytes {
			break
		}
		batch = append(batch, m)
		size += e.size
	}
	return batch, nil
}

// Ahead reports whether peer's summary sum (of a room we are in) lists
// messages we lack, other than peer's own when it is a member of an open
// room for us (its author sends those to every member it knows): only
// then is our summary worth sending back.
func (s *State) Ahead(peer Key, sum *Summary) bool {
	r := s.rooms[sum.Room]
	if r == nil {
		return false
	}
	own, member := r.members[peer]
	// Our position for each author listed (the lower one if two of ours
	// share its prefix), found by binary search: nothing allocated.
	var seen [MaxSummaryAuthors]bool
	var low [MaxSummaryAuthors]uint64
	for k, a := range r.authors {
		pk := PrefixOf(k)
		i, ok := slices.BinarySearchFunc(sum.Authors, pk, func(p Pos, a Prefix) int { return bytes.Compare(p.Author[:], a[:]) })
		if ok && i < MaxSummaryAuthors && (!seen[i] || a.pos < low[i]) {
			seen[i], low[i] = true, a.pos
		}
	}
	for i, p := range sum.Authors {
		if member && p.Author == PrefixOf(own) {
			continue
		}
		if i >= MaxSummaryAuthors || !seen[i] || low[i] < p.Seq {
			return true
		}
	}
	return false
}

// Invite adds peer (identity id, signing key sk, from its hello) to the
// private room rid we created: it returns the new list, for the caller
// to send to every member, the new one included.
func (s *State) Invite(rid ID, id Key, sk SignKey, now time.Time) (*List, error) {
	return s.changeList(rid, func(l *List) (*List, error) { return l.Invite(s.signer, id, sk, now) })
}

// Kick removes id from the private room rid we created: it returns the
// new list, for the caller to send to every member and to id.
func (s *State) Kick(rid ID, id Key, now time.Time) (*List, error) {
	return s.changeList(rid, func(l *List) (*List, error) { return l.Kick(s.signer, id, now) })
}

func (s *State) changeList(rid ID, change func(*List) (*List, error)) (*List, error) {
	r := s.rooms[rid]
	if r == nil {
		return nil, ErrNotJoined
	}
	if !r.private {
		return nil, fmt.Errorf("%w: an open room", ErrNotCreator)
	}
	l, err := change(r.list)
	if err != nil {
		return nil, err
	}
	r.list = l
	return l, nil
}

// ListResult says what a member list did to us.
type ListResult int

// ApplyList outcomes.
const (
	ListUpdated ListResult = iota // a newer list of a room we are in
	ListInvited                   // we are now in the room: it was joined
	ListRemoved                   // we are no longer in it: the room was left and forgotten
)

// ApplyList takes a private room's member list (b, encoded) from any
// member: only a list its creator signed, newer than ours, is taken. When
// it invites us, the room is joined and our join message returned (to
// fan out).
func (s *State) ApplyList(b []byte, now time.Time) (ID, ListResult, *Message, error) {
	l, err := DecodeList(b)
	if err != nil {
		s.stats.BadLists++
		return ID{}, 0, nil, err
	}
	_, in := l.Member(s.signer.Identity)
	r := s.rooms[l.Room]
	if r == nil {
		if !in {
			s.stats.Uninvited++
			return l.Room, 0, nil, ErrNotMember
		}
		if len(s.rooms) >= MaxRooms {
			s.stats.InvitesRefused++
			return l.Room, 0, nil, ErrRoomsFull
		}
		n := 0
		for _, r := range s.rooms {
			if r.invited {
				n++
			}
		}
		if n >= MaxInvitedRooms {
			s.stats.InvitesRefused++
			return l.Room, 0, nil, ErrRoomsFull
		}
		r = s.newRoom(l.Room, l.Name, true, now)
		r.list, r.invited = l, true
		m, err := s.post(r, KindJoin, "", now)
		return l.Room, ListInvited, m, err
	}
	if !r.private || l.Name != r.name {
		s.stats.BadLists++
		return l.Room, 0, nil, ErrBadField
	}
	if l.Version <= r.list.Version {
		s.stats.StaleLists++
		return l.Room, 0, nil, ErrStale
	}
	if !in {
		delete(s.rooms, l.Room)
		return l.Room, ListRemoved, nil, nil
	}
	r.list = l
	return l.Room, ListUpdated, nil, nil
}

// Heard notes an open or private room another node says it is in (for
// /rooms, and so that /join of a private room's name is refused). At
// most MaxKnownRooms are kept: the one heard of longest ago goes first.
func (s *State) Heard(id ID, name string, private bool, members int, topic string, now time.Time) error {
	if !canonicalName(name) {
		return ErrNotCanonical
	}
	if !private && id != OpenID(name) {
		return ErrWrongID
	}
	if len(topic) > MaxTopicBytes || !utf8.ValidString(topic) {
		return fmt.Errorf("%w: topic", ErrTooBig)
	}
	if _, in := s.rooms[id]; in {
		return nil
	}
	if k := s.known[id]; k != nil {
		k.members, k.topic, k.heard = min(max(members, 0), MaxMembers), topic, now
		return nil
	}
	if len(s.known) >= MaxKnownRooms {
		var oldest ID
		var ok *known
		for id, k := range s.known {
			if ok == nil || k.heard.Before(ok.heard) {
				oldest, ok = id, k
			}
		}
		delete(s.known, oldest)
		s.stats.KnownEvicted++
	}
	s.known[id] = &known{name: name, private: private, members: min(max(members, 0), MaxMembers), topic: topic, heard: now}
	return nil
}

// Rooms lists the rooms we are in and those heard of, by name (an open
// room before a private one of the same name).
func (s *State) Rooms() []Info {
	var out []Info
	for _, r := range s.rooms {
		n := len(r.members)
		if r.private {
			n = len(r.list.Members)
		}
		out = append(out, Info{ID: r.id, Name: r.name, Private: r.private, Members: n, Topic: r.topic, Joined: true})
	}
	for id, k := range s.known {
		out = append(out, Info{ID: id, Name: k.name, Private: k.private, Members: k.members, Topic: k.topic})
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if a.Private != b.Private {
			if a.Private {
				return 1
			}
			return -1
		}
		return cmp.Compare(string(a.ID[:]), string(b.ID[:]))
	})
	return out
}

// Log is room id's log, oldest first (for /history and the store).
func (s *State) Log(id ID) []*Message {
	r := s.rooms[id]
	if r == nil {
		return nil
	}
	out := make([]*Message, len(r.log))
	for i, e := range r.log {
		out[i] = e.m
	}
	return out
}

// OwnSince is our own text and topic messages in open room id's log
// dated since (Unix ms) or later whose seq is through or lower, oldest
// first: what a member we learn of only now may have missed, if we spoke
// before we knew it was there (nil for a private room: its members are
// known from its signed list before we speak). The end is a seq, not a
// time (OwnLast when we first heard the member): what we said in the
// very millisecond we heard it, or before a clock step back, is told
// apart by its seq.
func (s *State) OwnSince(id ID, since int64, through uint64) []*Message {
	r := s.rooms[id]
	if r == nil || r.private {
		return nil
	}
	var out []*Message
	for _, e := range r.log {
		if e.m.Identity == s.signer.Identity && e.m.Time >= since && e.m.Seq <= through && (e.m.Kind == KindText || e.m.Kind == KindTopic) {
			out = append(out, e.m)
		}
	}
	return out
}

// OwnLast is the highest seq of our own messages in room id (0 if we
// said nothing in it or are not in it): each message we post later has
// a higher one.
func (s *State) OwnLast(id ID) uint64 {
	r := s.rooms[id]
	if r == nil {
		return 0
	}
	var last uint64
	if me := r.authors[s.signer.Public]; me != nil {
		last = me.pos
	}
	for _, e := range r.log {
		if e.m.Identity == s.signer.Identity {
			last = max(last, e.m.Seq)
		}
	}
	return last
}

// MemberInfo is a member as /names lists it.
type MemberInfo struct {
	Identity Key
	Signing  SignKey
	Nick     string // the nickname on its last message we took ("" if none yet)
}

// Members lists room id's members in identity order (us included).
func (s *State) Members(id ID) []MemberInfo {
	r := s.rooms[id]
	if r == nil {
		return nil
	}
	var out []MemberInfo
	add := func(k Key, sk SignKey) {
		mi := MemberInfo{Identity: k, Signing: sk}
		if a := r.authors[sk]; a != nil {
			mi.Nick = a.nick
		}
		out = append(out, mi)
	}
	if r.private {
		for _, m := range r.list.Members {
			if !r.parted[m.Identity] {
				add(m.Identity, m.Signing)
			}
		}
	} else {
		for k, sk := range r.members {
			add(k, sk)
		}
	}
	slices.SortFunc(out, func(a, b MemberInfo) int { return cmp.Compare(string(a.Identity[:]), string(b.Identity[:])) })
	return out
}

// OwnNext is our next seq in room id (the one after our last message in
// it), 0 if we are not in it or have said nothing in it.
func (s *State) OwnNext(id ID) uint64 {
	r := s.rooms[id]
	if r == nil {
		return 0
	}
	if me := r.authors[s.signer.Public]; me != nil {
		return me.pos + 1
	}
	return 0
}
