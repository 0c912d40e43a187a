package shell

import (
	"time"

	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// The rooms' -json objects (doc.go documents them); field order is the
// order on the wire.

// jsonRoomMessage is a room message: a message event with "to" the room
// and, after text, the room, its id and the author's seq.
type jsonRoomMessage struct {
	Event     string `json:"event"`
	From      string `json:"from"`
	PeerID    string `json:"peer_id"`
	To        string `json:"to"`
	Text      string `json:"text"`
	Room      string `json:"room"`
	RoomID    string `json:"room_id"`
	AuthorSeq uint64 `json:"author_seq"`
	Earlier   bool   `json:"earlier,omitempty"`
	Time      string `json:"time"`
}

// jsonRoomMember serves room-joined, room-left and invited.
type jsonRoomMember struct {
	Event  string `json:"event"`
	Room   string `json:"room"`
	RoomID string `json:"room_id"`
	Name   string `json:"name"`
	PeerID string `json:"peer_id"`
	Reason string `json:"reason,omitempty"` // room-left: "kicked" when the creator removed us
	Time   string `json:"time"`
}

type jsonRoomTopic struct {
	Event   string `json:"event"`
	Room    string `json:"room"`
	RoomID  string `json:"room_id,omitempty"`
	Name    string `json:"name,omitempty"`
	PeerID  string `json:"peer_id,omitempty"`
	Text    string `json:"text"`
	Earlier bool   `json:"earlier,omitempty"`
	Time    string `json:"time,omitempty"`
}

type jsonRoomSent struct {
	Event     string `json:"event"`
	To        string `json:"to"`
	Room      string `json:"room"`
	RoomID    string `json:"room_id"`
	AuthorSeq uint64 `json:"author_seq"`
	Members   int    `json:"members"`
}

// jsonRoomDelivery serves delivered, pending and failed (once per member).
type jsonRoomDelivery struct {
	Event     string `json:"event"`
	To        string `json:"to"`
	PeerID    string `json:"peer_id"`
	Room      string `json:"room"`
	RoomID    string `json:"room_id"`
	AuthorSeq uint64 `json:"author_seq"`
	Code      string `json:"code,omitempty"`
	Time      string `json:"time"`
}

// jsonRoomWarning is a warning of the rooms: its code (roomsnet.Codes),
// the room and the file of the rooms folder concerned, if any, and the
// shell's words.
type jsonRoomWarning struct {
	Event string `json:"event"`
	Code  string `json:"code"`
	Room  string `json:"room,omitempty"`
	File  string `json:"file,omitempty"`
	Text  string `json:"text"`
	Time  string `json:"time"`
}

type jsonRoom struct {
	Room    string `json:"room"`
	RoomID  string `json:"room_id"`
	Private bool   `json:"private"`
	Members int    `json:"members"`
	Topic   string `json:"topic"`
	Joined  bool   `json:"joined"`
}

type jsonRooms struct {
	Event string     `json:"event"`
	Rooms []jsonRoom `json:"rooms"`
}

type jsonName struct {
	Name    string `json:"name"`
	PeerID  string `json:"peer_id"`
	Status  string `json:"status"`             // online, away, offline, you
	HasLast *bool  `json:"has_last,omitempty"` // whether it acknowledged our last message (omitted before we post)
}

type jsonNames struct {
	Event   string     `json:"event"`
	Room    string     `json:"room"`
	Members []jsonName `json:"members"`
}

func roomsJSON(list []rooms.Info) jsonRooms {
	out := jsonRooms{Event: "rooms", Rooms: []jsonRoom{}}
	for _, in := range list {
		if in.Private && !in.Joined {
			continue
		}
		out.Rooms = append(out.Rooms, jsonRoom{in.Name, in.ID.String(), in.Private, in.Members, in.Topic, in.Joined})
	}
	return out
}

func namesJSON(room string, ms []roomsnet.Member, posted bool) jsonNames {
	out := jsonNames{Event: "names", Room: room, Members: []jsonName{}}
	for _, m := range ms {
		n := jsonName{Name: m.Name, PeerID: m.PeerID, Status: m.Status}
		if m.Me {
			n.Status = "you"
		} else if posted {
			has := m.Has
			n.HasLast = &has
		}
		out.Members = append(out.Members, n)
	}
	return out
}

// roomEventJSON is the JSON object for a room event.
func roomEventJSON(e roomsnet.Event, now time.Time) any {
	ts := eventTime(e.Time, now)
	kind := string(e.Kind)
	switch e.Kind {
	case roomsnet.EvMessage:
		return jsonRoomMessage{kind, e.Peer, e.PeerID, e.Room, e.Text, e.Room, e.RoomID, e.Seq, e.Earlier, ts}
	case roomsnet.EvJoined, roomsnet.EvLeft, roomsnet.EvInvited:
		return jsonRoomMember{kind, e.Room, e.RoomID, e.Peer, e.PeerID, string(e.Code), ts}
	case roomsnet.EvTopic:
		return jsonRoomTopic{kind, e.Room, e.RoomID, e.Peer, e.PeerID, e.Text, e.Earlier, ts}
	case roomsnet.EvSent:
		return jsonRoomSent{kind, e.Room, e.Room, e.RoomID, e.Seq, e.Members}
	case roomsnet.EvDelivered, roomsnet.EvPending, roomsnet.EvFailed:
		return jsonRoomDelivery{kind, e.Peer, e.PeerID, e.Room, e.RoomID, e.Seq, string(e.Code), ts}
	case roomsnet.EvWarning:
		return jsonRoomWarning{kind, string(e.Code), e.Room, e.File, roomWarningWords(e), ts}
	default:
		return jsonText{Event: kind, Text: e.Text, Time: ts}
	}
}
