package rooms

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Saved is what the store keeps of one room we are in, so that a restart
// shows nothing twice and loses nothing: taken messages and the
// positions they advance go to disk in one commit, before the stream
// message that brought them is acknowledged. Messages held ahead of a
// gap are not kept (a relay brings them again).
type Saved struct {
	Name    string // folded
	Private bool
	List    []byte // private rooms: the newest member list, encoded
	Joined  int64  // Unix ms, when we joined
	Invited bool   // entered by an invitation the user has not /join-ed yet
	Topic   string
	TopicAt int64
	TopicBy SignKey
	Members []Member      // open rooms: who joined and has not parted (Added unused)
	Parted  []Key         // private rooms: members whose last message was a part
	Authors []SavedAuthor // in key order
	Log     []SavedMsg    // oldest first
}

// SavedAuthor is one author's position in a room.
type SavedAuthor struct {
	Author   SignKey
	Identity Key
	Nick     string
	Pos      uint64
	Last     int64 // Unix ms, when we last took one of its messages
}

// SavedMsg is one message of a room's log.
type SavedMsg struct {
	Msg []byte // encoded
	At  int64  // Unix ms, when it was taken
}

// Export is what the store should keep of room id.
func (s *State) Export(id ID) (*Saved, error) {
	r := s.rooms[id]
	if r == nil {
		return nil, ErrNotJoined
	}
	sv := &Saved{Name: r.name, Private: r.private, Joined: r.joined.UnixMilli(), Invited: r.invited,
		Topic: r.topic, TopicAt: r.topicAt, TopicBy: r.topicBy}
	if r.private {
		sv.List = r.list.AppendEncode(nil)
	}
	for k, sk := range r.members {
		sv.Members = append(sv.Members, Member{Identity: k, Signing: sk})
	}
	slices.SortFunc(sv.Members, func(a, b Member) int { return cmp.Compare(string(a.Identity[:]), string(b.Identity[:])) })
	for k := range r.parted {
		sv.Parted = append(sv.Parted, k)
	}
	slices.SortFunc(sv.Parted, func(a, b Key) int { return cmp.Compare(string(a[:]), string(b[:])) })
	for k, a := range r.authors {
		sv.Authors = append(sv.Authors, SavedAuthor{Author: k, Identity: a.identity, Nick: a.nick, Pos: a.pos, Last: a.last.UnixMilli()})
	}
	slices.SortFunc(sv.Authors, func(a, b SavedAuthor) int { return cmp.Compare(string(a.Author[:]), string(b.Author[:])) })
	for _, e := range r.log {
		sv.Log = append(sv.Log, SavedMsg{Msg: e.m.AppendEncode(nil), At: e.at.UnixMilli()})
	}
	return sv, nil
}

// Restore takes back a room the store kept (before the node starts).
// What is damaged is refused whole (a bad name or list), or skipped and
// counted as Malformed (a log message, an author), within the same bounds
// as at run time.
func (s *State) Restore(sv *Saved, now time.Time) (ID, error) {
	if !canonicalName(sv.Name) {
		return ID{}, ErrNotCanonical
	}
	var list *List
	id := OpenID(sv.Name)
	if sv.Private {
		l, err := DecodeList(sv.List)
		if err != nil {
			return ID{}, fmt.Errorf("member list: %w", err)
		}
		if l.Name != sv.Name {
			return ID{}, fmt.Errorf("member list: %w", ErrBadField)
		}
		list, id = l, l.Room
	}
	if s.rooms[id] != nil {
		return id, ErrAlreadyJoined
	}
	if len(s.rooms) >= MaxRooms {
		return id, ErrRoomsFull
	}
	r := s.newRoom(id, sv.Name, sv.Private, time.UnixMilli(sv.Joined))
	r.list, r.invited = list, sv.Invited && sv.Private
	if len(sv.Topic) <= MaxTopicBytes {
		r.topic, r.topicAt, r.topicBy = sv.Topic, sv.TopicAt, sv.TopicBy
	}
	for _, m := range sv.Members {
		if len(r.members) < MaxMembers && !sv.Private {
			r.members[m.Identity] = m.Signing
		}
	}
	for _, k := range sv.Parted {
		if sv.Private && len(r.parted) < MaxMembers {
			r.parted[k] = true
		}
	}
	for _, a := range sv.Authors {
		if len(r.authors) >= MaxAuthors || a.Pos == 0 {
			s.stats.Malformed++
			continue
		}
		r.authors[a.Author] = &author{identity: a.Identity, nick: a.Nick, pos: a.Pos, last: time.UnixMilli(a.Last)}
	}
	for _, e := range sv.Log {
		m, err := DecodeMessage(e.Msg)
		if err != nil || m.Room != id || m.Name != r.name {
			s.stats.Malformed++
			continue
		}
		a := r.authors[m.Author]
		if a == nil || m.Seq > a.pos {
			s.stats.Malformed++ // a log message beyond its author's position
			continue
		}
		size := m.Size()
		r.log = append(r.log, logEntry{m: m, at: time.UnixMilli(e.At), size: size})
		r.logSize += size
		a.logged++
		for len(r.log) > MaxLog || r.logSize > MaxLogBytes {
			s.evictOldest(r)
		}
	}
	for len(r.log) > 0 && now.Sub(r.log[0].at) > MaxAge {
		s.evictOldest(r)
	}
	return id, nil
}

// Replay takes again a message of room id that the store journaled once
// it was taken (delivered to the user, or our own), at the time it was
// taken: after Restore, before the node starts. Its signature and
// membership were checked when it was first taken (the store's records
// are checksummed). A message at or below its author's position (in the
// snapshot already, or a record replayed twice) is a duplicate, dropped
// (ErrDuplicate, not counted: a crash between a snapshot and the
// journal's truncation replays what the snapshot holds); one that does
// not decode or is not of the room is counted as Malformed.
func (s *State) Replay(id ID, b []byte, at time.Time) error {
	r := s.rooms[id]
	if r == nil {
		return ErrNotJoined
	}
	m, err := DecodeMessage(b)
	if err != nil {
		s.stats.Malformed++
		return err
	}
	if m.Room != id || m.Name != r.name || m.Private != r.private {
		s.stats.Malformed++
		return fmt.Errorf("%w: room name or kind", ErrBadField)
	}
	a := r.authors[m.Author]
	if a == nil {
		if a = s.newAuthor(r, m, at); a == nil {
			return ErrAuthorsFull
		}
	}
	if m.Seq <= a.pos {
		return ErrDuplicate
	}
	if k, ok := r.members[m.Identity]; ok && k != m.Author && !r.private {
		delete(r.members, m.Identity) // as Receive did: the owner's key won
	}
	var out []Delivery
	s.take(r, a, m, false, at, &out)
	return nil
}
