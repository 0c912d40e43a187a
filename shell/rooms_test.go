package shell

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
)

// roomJSONSamples are one of each room line the encoder writes (also
// TestDocMatchesEncoder's).
func roomJSONSamples(ts time.Time) []any {
	ev := func(k roomsnet.EventKind, earlier bool, code roomsnet.Code) roomsnet.Event {
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

// fakeRooms records what the shell asks of the rooms.
type fakeRooms struct {
	joined map[string]bool
	calls  []string
	events chan roomsnet.Event
}

func newFakeRooms() *fakeRooms {
	return &fakeRooms{joined: map[string]bool{}, events: make(chan roomsnet.Event)}
}

func fold(name string) (string, error) { return rooms.ParseName(name) }

func (f *fakeRooms) Join(name string, private bool) (string, error) {
	n, err := fold(name)
	if err != nil {
		return "", err
	}
	f.calls = append(f.calls, "join "+n)
	if n == "#secret" {
		return "", rooms.ErrInviteOnly
	}
	f.joined[n] = true
	return n, nil
}

func (f *fakeRooms) Part(name string) (string, error) {
	n, _ := fold(name)
	if !f.joined[n] {
		return "", rooms.ErrNotJoined
	}
	delete(f.joined, n)
	f.calls = append(f.calls, "part "+n)
	return n, nil
}

func (f *fakeRooms) Post(name, text string, topic bool) error {
	n, _ := fold(name)
	if !f.joined[n] {
		return rooms.ErrNotJoined
	}
	kind := "say"
	if topic {
		kind = "topic"
	}
	f.calls = append(f.calls, kind+" "+n+" "+text)
	return nil
}

func (f *fakeRooms) Topic(name string) (string, string, error) {
	n, _ := fold(name)
	if !f.joined[n] {
		return "", "", rooms.ErrNotJoined
	}
	return n, "", nil
}
func (f *fakeRooms) Rooms() []rooms.Info { return nil }
func (f *fakeRooms) Names(name string) (string, []roomsnet.Member, bool, error) {
	return "", nil, false, rooms.ErrNotJoined
}
func (f *fakeRooms) History(name string, n int) (string, []roomsnet.Event, error) {
	return "", nil, rooms.ErrNotJoined
}
func (f *fakeRooms) Invite(peerID, name string) (string, error) {
	n, _ := fold(name)
	switch {
	case !f.joined[n]:
		return "", rooms.ErrNotCreator
	case peerID == "k8":
		return "", roomsnet.ErrNoBinding
	}
	f.calls = append(f.calls, "invite "+peerID+" "+n)
	return n, nil
}
func (f *fakeRooms) Kick(peerID, name string) (string, error) { return "", rooms.ErrNotCreator }

// Known: dan (k9) and gone (k8) were met in an earlier run; two peers
// called eve were.
func (f *fakeRooms) Known(name string) (string, string, error) {
	switch name {
	case "dan":
		return "k9", "dan", nil
	case "gone":
		return "k8", "gone", nil
	case "eve":
		return "", "", roomsnet.ErrAmbiguous
	}
	return "", "", peer.ErrUnknownPeer
}
func (f *fakeRooms) Events() <-chan roomsnet.Event { return f.events }
func (f *fakeRooms) Waiting() int                  { return 0 }

// TestRoomCommandsPlain: /join makes the room the target of plain lines
// (folded name), /to #ROOM says without switching, /topic sets, a refused
// /join is an error in words, /part gives the target back to everyone.
func TestRoomCommandsPlain(t *testing.T) {
	n := newFakeNode(testPeers()...)
	fr := newFakeRooms()
	got := run(t, n, Config{Rooms: fr}, strings.Join([]string{
		"/join #Lunch",
		"hello room",
		"/to #LUNCH said without switching",
		"/topic pizza at noon",
		"/join #secret",
		"/join lunch",
		"/to #nowhere hi",
		"/part",
		"hello everyone",
	}, "\n"))
	wantOut := strings.Join([]string{
		"* messages now go to #lunch",
		"! #secret is invite-only: ask its creator for an /invite",
		"! a room name starts with '#': lunch",
		"! you are not in #nowhere (/join #nowhere)",
		"* messages now go to everyone",
	}, "\n") + "\n"
	if got != wantOut {
		t.Errorf("output\n%s\nwant\n%s", got, wantOut)
	}
	wantCalls := []string{"join #lunch", "say #lunch hello room", "say #lunch said without switching", "topic #lunch pizza at noon",
		"join #secret", "part #lunch"}
	if !slices.Equal(fr.calls, wantCalls) {
		t.Errorf("rooms calls %q, want %q", fr.calls, wantCalls)
	}
	if len(n.sent) != 1 || n.sent[0] != (sendCall{To: "", Text: "hello everyone"}) {
		t.Errorf("node sends %+v", n.sent)
	}
}

// TestRoomLines: room events in words.
func TestRoomLines(t *testing.T) {
	s := newSession(Config{})
	at := time.Date(2026, 3, 4, 12, 5, 0, 0, time.Local)
	s.now = func() time.Time { return at }
	cases := []struct {
		e    roomsnet.Event
		want string
	}{
		{roomsnet.Event{Kind: roomsnet.EvMessage, Room: "#lunch", Peer: "bob", Text: "pizza?", Time: at}, "12:05 #lunch bob: pizza?"},
		{roomsnet.Event{Kind: roomsnet.EvMessage, Room: "#lunch", Peer: "bob", Text: "noon", Time: at, Earlier: true}, "12:05 #lunch bob: noon (earlier)"},
		{roomsnet.Event{Kind: roomsnet.EvJoined, Room: "#lunch", Peer: "carol", Time: at}, "12:05 #lunch * carol joined"},
		{roomsnet.Event{Kind: roomsnet.EvLeft, Room: "#lunch", Peer: "carol", Time: at}, "12:05 #lunch * carol left"},
		{roomsnet.Event{Kind: roomsnet.EvTopic, Room: "#lunch", Peer: "bob", Text: "pizza", Time: at}, "12:05 #lunch * bob set the topic: pizza"},
		{roomsnet.Event{Kind: roomsnet.EvMessage, Room: "#lunch", Peer: "bob", Text: "\x1b[2Jgone", Time: at}, "12:05 #lunch bob: gone"},
	}
	for _, c := range cases {
		got, ok := s.roomLine(c.e)
		if !ok || got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.e, got, c.want)
		}
	}
	if _, ok := s.roomLine(roomsnet.Event{Kind: roomsnet.EvDelivered}); ok {
		t.Error("delivered shown in text mode")
	}
}

// TestBellOnRoomMentions: a room message that names the user rings the
// bell like a mention in /all; one that does not, our own, and history
// (earlier) do not.
func TestBellOnRoomMentions(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 5, 0, 0, time.Local)
	for _, tt := range []struct {
		text          string
		mine, earlier bool
		want          bool
	}{
		{"hey Alice, lunch?", false, false, true},
		{"/me pokes alice", false, false, true},
		{"lunch?", false, false, false},
		{"malice", false, false, false},
		{"alice: noted", true, false, false},
		{"alice, earlier", false, true, false},
	} {
		var b strings.Builder
		s := &session{cfg: Config{Interactive: true, Bell: true}, node: newFakeNode(), pr: newPrinter(&b, true, nil), now: func() time.Time { return at }}
		s.printRoomEvent(roomsnet.Event{Kind: roomsnet.EvMessage, Room: "#lunch", Peer: "bob", Text: tt.text, Time: at, Mine: tt.mine, Earlier: tt.earlier})
		if got := strings.Contains(b.String(), "\a"); got != tt.want {
			t.Errorf("%+v: bell %v in %q", tt, got, b.String())
		}
	}
}

// TestInviteByName: /invite finds a peer the node knows (bob), else one
// the rooms kept from an earlier run (dan, offline: invited at once);
// a name nobody had, one that several peers had, and one whose signing
// key is lost are errors in words, and nothing is invited for them.
func TestInviteByName(t *testing.T) {
	n := newFakeNode(testPeers()...)
	fr := newFakeRooms()
	got := run(t, n, Config{Rooms: fr}, strings.Join([]string{
		"/join #team private",
		"/invite bob #team",
		"/invite dan #team",
		"/invite zed #team",
		"/invite eve #team",
		"/invite gone #team",
	}, "\n"))
	wantOut := strings.Join([]string{
		"* messages now go to #team",
		"* bob is now a member of #team",
		"* dan is now a member of #team",
		"! no peer named zed (/peers lists them)",
		"! more than one peer met before was called eve: invite the one you mean while it is online",
		"! that peer's signing key is not known yet: it must be online once (then it is kept across restarts)",
	}, "\n") + "\n"
	if got != wantOut {
		t.Errorf("output\n%s\nwant\n%s", got, wantOut)
	}
	wantCalls := []string{"join #team", "invite k1 #team", "invite k9 #team"}
	if !slices.Equal(fr.calls, wantCalls) {
		t.Errorf("rooms calls %q, want %q", fr.calls, wantCalls)
	}
}
