package shell

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

func TestEventJSON(t *testing.T) {
	ts := time.Date(2026, 3, 4, 14, 5, 6, 0, time.FixedZone("CST", 8*3600))
	const T = `"time":"2026-03-04T14:05:06+08:00"`
	const B = `"peer_id":"b0b0b0b0b0b0b0b0"`
	bob := func(e peer.Event) peer.Event { e.Peer, e.PeerID = "bob", "b0b0b0b0b0b0b0b0"; return e }
	tests := []struct {
		e    peer.Event
		want string
	}{
		{bob(peer.Event{Kind: peer.EvMessage, To: "all", Text: "hi <all> & you"}),
			`{"event":"message","from":"bob",` + B + `,"to":"all","text":"hi <all> & you",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvMessage, To: "alice", Text: "你好\n\x1b[31m"}),
			`{"event":"message","from":"bob",` + B + `,"to":"alice","text":"你好\n\u001b[31m",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvMessage, Text: "x\u2028y\xff"}),
			`{"event":"message","from":"bob",` + B + `,"to":"all","text":"x\u2028y\ufffd",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvMessage, To: "all", Text: "/me waves\nat all"}),
			`{"event":"message","from":"bob",` + B + `,"to":"all","text":"waves\nat all","action":true,` + T + `}`},
		{bob(peer.Event{Kind: peer.EvMessage, To: "all", Text: "/me "}),
			`{"event":"message","from":"bob",` + B + `,"to":"all","text":"/me ",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvJoined, Addr: "10.0.0.5:7117"}),
			`{"event":"joined","name":"bob",` + B + `,"addr":"10.0.0.5:7117",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvLeft, Code: peer.CodeNoAnswer}),
			`{"event":"left","name":"bob",` + B + `,"reason":"no answer",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvDelivered, ID: 42}),
			`{"event":"delivered","to":"bob",` + B + `,"id":42,` + T + `}`},
		{bob(peer.Event{Kind: peer.EvPending, ID: 43, Reason: peer.ReasonNoAnswer, Text: "no answer (still trying)"}),
			`{"event":"pending","to":"bob",` + B + `,"id":43,"code":"no-answer","reason":"no answer (still trying)",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvPending, ID: 44, Reason: peer.ReasonPeerLeft, Text: "bob left (quit); it will be delivered if bob comes back"}),
			`{"event":"pending","to":"bob",` + B + `,"id":44,"code":"peer-left","reason":"bob left (quit); it will be delivered if bob comes back",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvFailed, ID: 18446744073709551615, Reason: peer.ReasonStopped, Text: "p2pchat stopped before it was acknowledged"}),
			`{"event":"failed","to":"bob",` + B + `,"id":18446744073709551615,"code":"stopped","reason":"p2pchat stopped before it was acknowledged",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvFailed, ID: 45, Reason: peer.ReasonStopped}),
			`{"event":"failed","to":"bob",` + B + `,"id":45,"code":"stopped","reason":"",` + T + `}`},
		{peer.Event{Kind: peer.EvRenamed, OldName: "bob", Peer: "robert", PeerID: "b0b0b0b0b0b0b0b0"},
			`{"event":"renamed","old":"bob","name":"robert",` + B + `,` + T + `}`},
		{peer.Event{Kind: peer.EvWarning, Text: "carol: new key"},
			`{"event":"warning","text":"carol: new key",` + T + `}`},
		{peer.Event{Kind: peer.EvWarning, Peer: "carol", PeerID: "c0c0c0c0c0c0c0c0", Text: "carol: new key"},
			`{"event":"warning","name":"carol","peer_id":"c0c0c0c0c0c0c0c0","text":"carol: new key",` + T + `}`},
		{peer.Event{Kind: peer.EvInfo, Text: "bob: using TCP"},
			`{"event":"info","text":"bob: using TCP",` + T + `}`},
		{bob(peer.Event{Kind: peer.EvInfo, Text: "bob is offline: the message waits until bob is back"}),
			`{"event":"info","name":"bob",` + B + `,"text":"bob is offline: the message waits until bob is back",` + T + `}`},
		{peer.Event{Kind: "typing", Peer: "bob"},
			`{"event":"typing","name":"bob",` + T + `}`},
		{bob(peer.Event{Kind: "typing"}),
			`{"event":"typing","name":"bob",` + B + `,` + T + `}`},
	}
	for _, tt := range tests {
		tt.e.Time = ts
		got := encodeJSON(eventJSON(tt.e, ts))
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.e.Kind, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: invalid JSON %s", tt.e.Kind, got)
		}
	}
}

func TestReadyStatsSentJSON(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{readyJSON(Ready{Name: "alice", ID: "a81234c80fc808fb", Port: 7117, Fingerprint: "a812 34c8", Ifaces: []string{"eth0", "wlan0"}}),
			`{"event":"ready","name":"alice","id":"a81234c80fc808fb","port":7117,"fingerprint":"a812 34c8","ifaces":["eth0","wlan0"]}`},
		{jsonSent{Event: "sent", To: "bob", PeerID: "b0b0b0b0b0b0b0b0", IDs: []uint64{3}},
			`{"event":"sent","to":"bob","peer_id":"b0b0b0b0b0b0b0b0","ids":[3]}`},
		{jsonSent{Event: "sent", To: "all", IDs: []uint64{1, 2}},
			`{"event":"sent","to":"all","ids":[1,2]}`},
	}
	for _, tt := range tests {
		if got := encodeJSON(tt.v); got != tt.want {
			t.Errorf("\n got %s\nwant %s", got, tt.want)
		}
	}
}

func TestWriteReadyStats(t *testing.T) {
	var b strings.Builder
	if err := WriteReady(&b, Ready{Name: "小明", ID: "0123456789abcdef", Port: 1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteStats(&b, StatsLine{Peer: peer.Stats{Dropped: 9}}); err != nil {
		t.Fatal(err)
	}
	want := `{"event":"ready","name":"小明","id":"0123456789abcdef","port":1,"fingerprint":"","ifaces":[]}` + "\n" +
		`{"event":"stats","retransmits":0,"tcp_sends":0,"dropped":9,"replayed":0,"unauthentic":0,"duplicates":0,"not_opened":0,"held_back":0,"no_room":0,"notices_dropped":0,"leads_dropped":0,`
	if !strings.HasPrefix(b.String(), want) || !strings.HasSuffix(b.String(), "}\n") {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
	if err := WriteReady(failWriter{}, Ready{}); err == nil || !strings.Contains(err.Error(), "ready") {
		t.Errorf("WriteReady to a failing writer: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPeersJSON(t *testing.T) {
	seen := time.Date(2026, 3, 4, 14, 5, 6, 0, time.UTC)
	ps := []peer.PeerInfo{
		{Name: "bob", Nick: "bob", Host: "laptop", ID: "k1", Addr: "10.0.0.5:7117", Transport: "udp", Via: "mdns",
			LastSeen: seen, Fingerprint: "FP1", Pending: 2, Online: true, Away: "lunch"},
		{Name: "carol", Nick: "carol", ID: "k2", Addr: "10.0.0.6:7117", Transport: "tcp", Via: "traffic"},
	}
	want := `{"event":"peers","peers":[` +
		`{"name":"bob","nick":"bob","id":"k1","addr":"10.0.0.5:7117","transport":"udp","via":"mdns","last_seen":"2026-03-04T14:05:06Z","online":true,"pending":2,"fingerprint":"FP1","host":"laptop","away":"lunch"},` +
		`{"name":"carol","nick":"carol","id":"k2","addr":"10.0.0.6:7117","transport":"tcp","via":"traffic","last_seen":"","online":false,"pending":0,"fingerprint":"","host":"","away":""}]}`
	if got := encodeJSON(peersJSON(ps)); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	if got := encodeJSON(peersJSON(nil)); got != `{"event":"peers","peers":[]}` {
		t.Errorf("no peers: %s", got)
	}
	if got := encodeJSON(jsonWhois{"whois", peerJSON(ps[1])}); got != `{"event":"whois","name":"carol","nick":"carol","id":"k2","addr":"10.0.0.6:7117","transport":"tcp","via":"traffic","last_seen":"","online":false,"pending":0,"fingerprint":"","host":"","away":""}` {
		t.Errorf("whois: %s", got)
	}
}

func TestJSONEscapesTerminalControls(t *testing.T) {
	text := "a\x7fb\u009b2Jc\u202eevil\u0085d 你好"
	line := encodeJSON(jsonText{Event: "info", Text: text})
	for _, r := range line {
		if r < 0x20 || needsEscape(r) {
			t.Fatalf("raw control %U in %q", r, line)
		}
	}
	var back jsonText
	if err := json.Unmarshal([]byte(line), &back); err != nil || back.Text != text {
		t.Fatalf("round trip: %q %v", back.Text, err)
	}
}

func mustStatsJSON(t *testing.T, sl StatsLine) jsonStats {
	t.Helper()
	js, err := statsJSON(sl)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
