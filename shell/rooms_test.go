package shell

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// roomJSONSamples are one of each room line the encoder writes (also
// TestDocMatchesEncoder's).
func roomJSONSamples(ts time.Time) []any {
	ev := func(k roomsnet.EventKind, earlier bool, code string) roomsnet.Event {
		return roomsnet.Event{Kind: k, Room: "#lunch", RoomID: "0011223344556677", Peer: "bob", PeerID: "b0b0b0b0b0b0b0b0",
			Text: "t", Time: ts, Seq: 3, Earlier: earlier, Members: 2, Code: code}
	}
	return []any{
		roomEventJSON(ev(roomsnet.EvMessage, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvMessage, true, ""), ts),
		roomEventJSON(ev(roomsnet.EvJoined, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvLeft, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvLeft, false, "kicked"), ts),
		roomEventJSON(ev(roomsnet.EvInvited, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvTopic, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvTopic, true, ""), ts),
		jsonRoomTopic{Event: "topic", Room: "#lunch", Text: "t"},
		roomEventJSON(ev(roomsnet.EvSent, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvDelivered, false, ""), ts),
		roomEventJSON(ev(roomsnet.EvPending, false, "peer-left"), ts),
		roomEventJSON(ev(roomsnet.EvFailed, false, "stopped"), ts),
		roomEventJSON(ev(roomsnet.EvWarning, false, "damaged"), ts),
		roomsJSON(nil),
		namesJSON("#lunch", nil, false),
	}
}

// Every room line the encoder writes has the keys doc.go documents for
// its kind, in that order.
func TestRoomsDocMatchesEncoder(t *testing.T) {
	ts := time.Date(2026, 3, 4, 14, 5, 6, 0, time.UTC)
	samples := roomJSONSamples(ts)
	docs := docTemplates(t)
	for _, v := range samples {
		line := encodeJSON(v)
		keys, err := topKeys(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		kind := eventKind(line)
		if !slices.ContainsFunc(docs[kind], func(d []string) bool { return slices.Equal(d, keys) }) {
			t.Errorf("the encoder writes %v for %q, doc.go documents %v", keys, kind, docs[kind])
		}
	}
	for _, c := range []struct {
		line, start string
	}{
		{encodeJSON(jsonRoom{}), `{"room":ROOM,"room_id"`},
		{encodeJSON(jsonName{HasLast: new(bool)}), `{"name":NAME,"peer_id":ID,"status"`},
	} {
		keys, _ := topKeys(c.line)
		if !strings.Contains(docText(t), c.start) || len(keys) == 0 {
			t.Errorf("doc.go lacks %s (encoder: %v)", c.start, keys)
		}
	}
}

func docText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoomWordsEveryCode: every code of package rooms has its own words,
// not the bare code.
func TestRoomWordsEveryCode(t *testing.T) {
	codes := []rooms.Code{rooms.ErrNameEmpty, rooms.ErrNameNoHash, rooms.ErrNameLong, rooms.ErrNameChar, rooms.ErrNameNotUTF8,
		rooms.ErrNotCanonical, rooms.ErrShort, rooms.ErrTrailing, rooms.ErrVersion, rooms.ErrBadField, rooms.ErrTooBig,
		rooms.ErrWrongID, rooms.ErrSignature, rooms.ErrNotJoined, rooms.ErrNotMember, rooms.ErrInviteOnly, rooms.ErrRoomsFull,
		rooms.ErrMembersFull, rooms.ErrAuthorsFull, rooms.ErrAlreadyJoined, rooms.ErrOpenExists, rooms.ErrNotCreator,
		rooms.ErrKeyMismatch, rooms.ErrStale, rooms.ErrDuplicate, rooms.ErrHeldFull, rooms.ErrTooFarAhead, rooms.ErrEmpty}
	for _, c := range codes {
		w := roomWords("#secret", c)
		if w == string(c) || w == "" {
			t.Errorf("code %s has no words", c)
		}
	}
	if w := roomWords("#secret", rooms.ErrInviteOnly); !strings.Contains(w, "#secret is invite-only") {
		t.Errorf("invite-only: %q", w)
	}
	if w := roomWords("#x", errors.Join(rooms.ErrRoomsFull)); !strings.Contains(w, "32 rooms") {
		t.Errorf("rooms full: %q", w)
	}
}
