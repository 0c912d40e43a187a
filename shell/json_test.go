package shell

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

func TestEventJSON(t *testing.T) {
	ts := time.Date(2026, 3, 4, 14, 5, 6, 0, time.FixedZone("CST", 8*3600))
	const T = `"time":"2026-03-04T14:05:06+08:00"`
	tests := []struct {
		e    peer.Event
		want string
	}{
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "hi <all> & you"},
			`{"event":"message","from":"bob","to":"all","text":"hi <all> & you",` + T + `}`},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "alice", Text: "你好\n\x1b[31m"},
			`{"event":"message","from":"bob","to":"alice","text":"你好\n\u001b[31m",` + T + `}`},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", Text: "x\u2028y\xff"},
			`{"event":"message","from":"bob","to":"all","text":"x\u2028y\ufffd",` + T + `}`},
		{peer.Event{Kind: peer.EvJoined, Peer: "bob", Addr: "10.0.0.5:7117"},
			`{"event":"joined","name":"bob","addr":"10.0.0.5:7117",` + T + `}`},
		{peer.Event{Kind: peer.EvLeft, Peer: "bob", Text: "no answer"},
			`{"event":"left","name":"bob","reason":"no answer",` + T + `}`},
		{peer.Event{Kind: peer.EvDelivered, Peer: "bob", ID: 42},
			`{"event":"delivered","to":"bob","id":42,` + T + `}`},
		{peer.Event{Kind: peer.EvFailed, Peer: "bob", ID: 18446744073709551615, Text: "no answer"},
			`{"event":"failed","to":"bob","id":18446744073709551615,"reason":"no answer",` + T + `}`},
		{peer.Event{Kind: peer.EvRenamed, OldName: "bob", Peer: "robert"},
			`{"event":"renamed","old":"bob","name":"robert",` + T + `}`},
		{peer.Event{Kind: peer.EvWarning, Text: "carol: new key"},
			`{"event":"warning","text":"carol: new key",` + T + `}`},
		{peer.Event{Kind: peer.EvInfo, Text: "bob: using TCP"},
			`{"event":"info","text":"bob: using TCP",` + T + `}`},
		{peer.Event{Kind: "typing", Peer: "bob"},
			`{"event":"typing","name":"bob",` + T + `}`},
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
