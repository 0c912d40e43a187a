package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// Rooms is what the shell needs of the rooms (*roomsnet.Runner implements
// it). Room names are as the user typed them ("#Lunch"); the answers give
// the folded name ("#lunch").
type Rooms interface {
	Join(name string, private bool) (string, error)
	Part(name string) (string, error)
	Post(name, text string, topic bool) error
	Topic(name string) (room, topic string, err error)
	Rooms() []rooms.Info
	Names(name string) (room string, members []roomsnet.Member, posted bool, err error)
	History(name string, n int) (string, []roomsnet.Event, error)
	Invite(peerID, name string) (string, error)
	Kick(peerID, name string) (string, error)
	Known(name string) (peerID, label string, err error)
	Events() <-chan roomsnet.Event
	Waiting() int
}

// roomCommands are the rooms' command words (handled before Parse).
var roomCommands = map[string]bool{"join": true, "part": true, "leave": true, "rooms": true, "names": true,
	"topic": true, "invite": true, "kick": true}

// roomCommand runs line if it is a rooms command, or plain text while a
// room is the target, or /to and /history naming a room; it reports
// whether it did.
func (s *session) roomCommand(line string) bool {
	line = strings.TrimSuffix(line, "\r")
	if strings.TrimSpace(line) == "" {
		return false
	}
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		if s.room == "" {
			return false
		}
		if strings.HasPrefix(line, "//") {
			line = line[1:]
		}
		s.roomPost(s.room, line)
		return true
	}
	word, rest := cutSpace(line[1:])
	word = strings.ToLower(word)
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	arg, tail := cutSpace(rest)
	tail = strings.TrimLeftFunc(tail, unicode.IsSpace)
	switch {
	case (word == "to" || word == "msg" || word == "w") && strings.HasPrefix(arg, "#"):
		if s.cfg.Rooms == nil {
			s.userError("rooms are off")
			return true
		}
		if tail == "" {
			s.roomTarget(arg)
		} else {
			s.roomPost(arg, tail)
		}
		return true
	case word == "history" && strings.HasPrefix(arg, "#"):
		n := 0
		if tail != "" {
			v, err := strconv.Atoi(strings.TrimSpace(tail))
			if err != nil || v < 1 {
				s.userError("usage: /history #ROOM [N] (N at least 1)")
				return true
			}
			n = v
		}
		s.roomHistory(arg, n)
		return true
	case !roomCommands[word]:
		return false
	}
	if s.cfg.Rooms == nil {
		s.userError("rooms are off")
		return true
	}
	switch word {
	case "join":
		s.roomJoin(arg, strings.TrimSpace(tail))
	case "part", "leave":
		s.roomPart(arg)
	case "rooms":
		s.roomList()
	case "names":
		s.roomNames(s.roomArg(arg))
	case "topic":
		s.roomTopic(arg, tail, rest)
	case "invite", "kick":
		if arg == "" || !strings.HasPrefix(strings.TrimSpace(tail), "#") {
			s.userError("usage: /" + word + " NAME #ROOM")
			return true
		}
		s.roomMember(word == "invite", arg, strings.TrimSpace(tail))
	}
	return true
}

// roomArg is the room a command names, or the target room.
func (s *session) roomArg(arg string) string {
	if arg == "" {
		return s.room
	}
	return arg
}

// roomWords is what the user reads for an error of the rooms' commands:
// words for each rooms.Code and roomsnet's errors, never their Error
// text.
func roomWords(name string, err error) string {
	var c rooms.Code
	if !errors.As(err, &c) {
		switch {
		case errors.Is(err, roomsnet.ErrNoBinding):
			return "that peer's signing key is not known yet: it must be online once (then it is kept across restarts)"
		case errors.Is(err, roomsnet.ErrAmbiguous):
			return "more than one peer met before had that name"
		case errors.Is(err, peer.ErrUnknownPeer):
			return "no such peer"
		case errors.Is(err, peer.ErrQueueFull):
			return "too many messages wait for a member: " + peerErrWords(err)
		}
		// peer's other errors, the store's, the operating system's; the
		// text of any other error is not shown ("an unknown error").
		return peerErrWords(err)
	}
	room := oneLine(name)
	switch c {
	case rooms.ErrNameEmpty:
		return "a room name needs 1 to 32 letters, digits, '-' or '_' after '#'"
	case rooms.ErrNameNoHash:
		return "a room name starts with '#': " + room
	case rooms.ErrNameLong:
		return "room name too long (at most 32 characters after '#'): " + room
	case rooms.ErrNameChar:
		return "a room name has only letters, digits, '-' and '_' after '#': " + room
	case rooms.ErrNameNotUTF8, rooms.ErrNotCanonical:
		return "not a valid room name: " + room
	case rooms.ErrShort, rooms.ErrTrailing, rooms.ErrVersion, rooms.ErrBadField, rooms.ErrWrongID, rooms.ErrSignature:
		return "a damaged room message was dropped"
	case rooms.ErrTooBig:
		return fmt.Sprintf("too long: a room message has at most %d bytes, a topic %d", rooms.MaxTextBytes, rooms.MaxTopicBytes)
	case rooms.ErrNotJoined:
		if name == "" {
			return "no room given, and no room is the target (/join #ROOM first)"
		}
		return "you are not in " + room + " (/join " + room + ")"
	case rooms.ErrNotMember:
		return "that peer is not a member of " + room
	case rooms.ErrInviteOnly:
		return room + " is invite-only: ask its creator for an /invite"
	case rooms.ErrRoomsFull:
		return fmt.Sprintf("you are in %d rooms already, the most there can be: /part one first", rooms.MaxRooms)
	case rooms.ErrMembersFull:
		return fmt.Sprintf("%s has %d members, the most a room can have", room, rooms.MaxMembers)
	case rooms.ErrAuthorsFull:
		return room + " tracks too many authors to take a new one"
	case rooms.ErrAlreadyJoined:
		return "you are in " + room + " already"
	case rooms.ErrOpenExists:
		return "an open room " + room + " exists: a private room cannot take its name"
	case rooms.ErrNotCreator:
		return "only the creator of a private room invites and removes members (" + room + ")"
	case rooms.ErrKeyMismatch:
		return "a message signed by another key than its author's was dropped"
	case rooms.ErrStale:
		return "an outdated room message or member list was dropped"
	case rooms.ErrDuplicate:
		return "a room message came twice and was shown once"
	case rooms.ErrHeldFull, rooms.ErrTooFarAhead:
		return "a room message far ahead of its author's others waits for them"
	case rooms.ErrEmpty:
		return "empty message, nothing sent"
	}
	return "refused (" + string(c) + ")"
}

func (s *session) roomError(name string, err error) { s.userError(roomWords(name, err)) }

func (s *session) roomTarget(name string) {
	room, _, err := s.cfg.Rooms.Topic(name)
	if err != nil {
		s.roomError(name, err)
		return
	}
	s.room = room
	if !s.cfg.Interactive {
		s.info("messages now go to " + room)
	}
}

func (s *session) roomJoin(name, opt string) {
	if name == "" {
		s.userError("usage: /join #ROOM [private]")
		return
	}
	private := strings.EqualFold(opt, "private")
	if opt != "" && !private {
		s.userError("usage: /join #ROOM [private]")
		return
	}
	room, err := s.cfg.Rooms.Join(name, private)
	if errors.Is(err, rooms.ErrAlreadyJoined) && room != "" && !private {
		s.room = room // already in it (or invited): it becomes the target
		if !s.cfg.Interactive {
			s.info("messages now go to " + room)
		}
		return
	}
	if err != nil {
		s.roomError(name, err)
		return
	}
	s.room = room
	if _, topic, err := s.cfg.Rooms.Topic(room); err == nil && topic != "" {
		s.info("topic of " + room + ": " + topic)
	}
	if !s.cfg.Interactive {
		s.info("messages now go to " + room)
	}
}

func (s *session) roomPart(name string) {
	name = s.roomArg(name)
	room, err := s.cfg.Rooms.Part(name)
	if err != nil {
		s.roomError(name, err)
		return
	}
	if s.room == room {
		s.room = ""
		if !s.cfg.Interactive {
			s.info("messages now go to everyone")
		}
	}
}

func (s *session) roomPost(name, text string) {
	if s.cfg.Rooms == nil {
		s.userError("rooms are off")
		return
	}
	if strings.TrimSpace(text) == "" {
		s.userError("empty message, nothing sent")
		return
	}
	if err := s.cfg.Rooms.Post(name, text, false); err != nil {
		s.roomError(name, err)
		return
	}
	s.record(s.now(), s.node.Name(), name, text)
}

func (s *session) roomTopic(arg, tail, rest string) {
	name, text := arg, tail
	if !strings.HasPrefix(arg, "#") {
		name, text = s.room, rest
	}
	if text == "" {
		room, topic, err := s.cfg.Rooms.Topic(name)
		if err != nil {
			s.roomError(name, err)
			return
		}
		if s.cfg.JSON {
			s.pr.print(encodeJSON(jsonRoomTopic{Event: "topic", Room: room, Text: topic}), false)
			return
		}
		if topic == "" {
			s.info(room + " has no topic")
		} else {
			s.info("topic of " + room + ": " + topic)
		}
		return
	}
	if err := s.cfg.Rooms.Post(name, text, true); err != nil {
		s.roomError(name, err)
	}
}

func (s *session) roomList() {
	list := s.cfg.Rooms.Rooms()
	if s.cfg.JSON {
		s.pr.print(encodeJSON(roomsJSON(list)), false)
		return
	}
	if len(list) == 0 {
		s.info("no rooms known yet (/join #ROOM makes one)")
		return
	}
	rows := [][]string{{"  ROOM", "MEMBERS", "", "TOPIC"}}
	for _, in := range list {
		if in.Private && !in.Joined {
			continue // a private room we are not in is no business of ours
		}
		var flags []string
		if in.Joined {
			flags = append(flags, "joined")
		}
		if in.Private {
			flags = append(flags, "private")
		}
		rows = append(rows, []string{"  " + oneLine(in.Name), strconv.Itoa(in.Members), strings.Join(flags, ","), oneLine(in.Topic)})
	}
	s.pr.print(strings.Join(columns(rows), "\n"), false)
}

func (s *session) roomNames(name string) {
	room, ms, posted, err := s.cfg.Rooms.Names(name)
	if err != nil {
		s.roomError(name, err)
		return
	}
	if s.cfg.JSON {
		s.pr.print(encodeJSON(namesJSON(room, ms, posted)), false)
		return
	}
	rows := [][]string{{"  " + room, "", ""}}
	for _, m := range ms {
		has := ""
		if posted && !m.Me {
			if m.Has {
				has = "has your last message"
			} else {
				has = "does not have your last message yet"
			}
		}
		status := m.Status
		if m.Me {
			status = "you"
		}
		rows = append(rows, []string{"  " + oneLine(m.Name), status, has})
	}
	s.pr.print(strings.Join(columns(rows), "\n"), false)
}

func (s *session) roomHistory(name string, n int) {
	if s.cfg.Rooms == nil {
		s.userError("rooms are off")
		return
	}
	if n == 0 {
		n = defaultHistoryN
	}
	room, evs, err := s.cfg.Rooms.History(name, n)
	if err != nil {
		s.roomError(name, err)
		return
	}
	if s.cfg.JSON {
		for _, e := range evs {
			s.pr.print(encodeJSON(roomEventJSON(e, s.now())), false)
		}
		return
	}
	if len(evs) == 0 {
		s.info("no messages in " + room + " yet")
		return
	}
	for _, e := range evs {
		s.pr.print(fmt.Sprintf("%s %s %s: %s", stamp(e.Time, s.now()), oneLine(e.Room), s.f.name(e.Peer), multiLine(e.Text)), false)
	}
}

func (s *session) roomMember(invite bool, who, name string) {
	id, label, ok := s.roomPeer(who)
	if !ok {
		return
	}
	var room string
	var err error
	if invite {
		room, err = s.cfg.Rooms.Invite(id, name)
	} else {
		room, err = s.cfg.Rooms.Kick(id, name)
	}
	if err != nil {
		s.roomError(name, err)
		return
	}
	if invite {
		s.info(oneLine(label) + " is now a member of " + room)
	} else {
		s.info(oneLine(label) + " is no longer a member of " + room)
	}
}

// roomPeer finds the peer an /invite or /kick names: one the node knows
// (met in this run, or its name pinned), else one met in an earlier run
// whose signing key the rooms kept (so that it can be invited while it
// is offline); or says why there is none.
func (s *session) roomPeer(name string) (id, label string, ok bool) {
	p, err := s.node.Resolve(name)
	if err == nil {
		return p.ID, p.Name, true
	}
	if !errors.Is(err, peer.ErrUnknownPeer) {
		s.userError(peerErrWords(err))
		return "", "", false
	}
	id, label, kerr := s.cfg.Rooms.Known(name)
	switch {
	case kerr == nil:
		return id, label, true
	case errors.Is(kerr, roomsnet.ErrAmbiguous):
		s.userError("more than one peer met before was called " + oneLine(name) + ": invite the one you mean while it is online")
	default:
		s.userError(s.noPeer(name))
	}
	return "", "", false
}

// printRoomEvent shows one room event.
func (s *session) printRoomEvent(e roomsnet.Event) {
	if e.Kind == roomsnet.EvLeft && e.Code == roomsnet.CodeKicked && s.room == e.Room {
		s.room = ""
	}
	if e.Kind == roomsnet.EvMessage && !e.Mine {
		s.record(e.Time, e.Peer, e.Room, e.Text)
	}
	// A room message naming us calls for a notification like a mention
	// in /all (not our own, nor history shown as earlier).
	why := ""
	if e.Kind == roomsnet.EvMessage && !e.Mine && !e.Earlier && mentions(e.Text, s.node.Name()) {
		why = "mention"
	}
	asMsg := peer.Event{Kind: peer.EvMessage, Peer: e.Peer, PeerID: e.PeerID, To: e.Room, Text: e.Text, Time: e.Time}
	if s.cfg.JSON {
		s.notify(asMsg, why)
		s.pr.print(encodeJSON(roomEventJSON(e, s.now())), false)
		return
	}
	if text, ok := s.roomLine(e); ok {
		s.pr.print(text, s.notify(asMsg, why))
	}
}

// roomLine is a room event in words (ok false: not shown in text mode).
func (s *session) roomLine(e roomsnet.Event) (string, bool) {
	room := oneLine(e.Room)
	var body string
	switch e.Kind {
	case roomsnet.EvMessage:
		body = room + " " + s.f.name(e.Peer) + ": " + multiLine(e.Text)
	case roomsnet.EvJoined:
		body = room + " * " + s.f.name(e.Peer) + " joined"
	case roomsnet.EvLeft:
		body = room + " * " + s.f.name(e.Peer) + " left"
		if e.Code == roomsnet.CodeKicked {
			body = room + " * you were removed from " + room + " by its creator"
		}
	case roomsnet.EvTopic:
		body = room + " * " + s.f.name(e.Peer) + " set the topic: " + oneLine(e.Text)
		if e.Text == "" {
			body = room + " * " + s.f.name(e.Peer) + " cleared the topic"
		}
	case roomsnet.EvInvited:
		body = room + " * " + s.f.name(e.Peer) + " invited you to " + room + " (/join " + room + " to talk there)"
	case roomsnet.EvPending:
		body = fmt.Sprintf("! %s: not delivered to %s yet", room, s.f.name(e.Peer))
	case roomsnet.EvFailed:
		body = fmt.Sprintf("! %s: never delivered to %s", room, s.f.name(e.Peer))
	case roomsnet.EvWarning:
		body = "! rooms: " + roomWarningWords(e)
	default: // sent, delivered
		return "", false
	}
	if e.Earlier {
		body += " (earlier)"
	}
	return stamp(e.Time, s.now()) + " " + body, true
}

// markOnly records that an event with inbox index idx, which shows
// nothing (an application payload the rooms took), is out as far as the
// lines before it are (p.mu taken).
func (p *printer) markOnly(idx uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
	case !p.term && p.buf.Len() > 0:
		p.bufIdx = max(p.bufIdx, idx)
	case p.term && len(p.held) > 0:
		p.heldIdx = max(p.heldIdx, idx)
	default:
		p.marksLocked(max(idx, p.bufIdx))
	}
}
