package shell

import (
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// at is a fixed local time for events; stamp shows it as 14:05.
var at = time.Date(2026, 3, 4, 14, 5, 6, 0, time.Local)

func TestEventLines(t *testing.T) {
	f := formatter{}
	tests := []struct {
		e    peer.Event
		want string // "" = not shown
	}{
		{peer.Event{Kind: peer.EvJoined, Peer: "bob", Addr: "10.0.0.5:7117"}, "14:05 * bob joined (10.0.0.5:7117)"},
		{peer.Event{Kind: peer.EvJoined, Peer: "bob"}, "14:05 * bob joined"},
		{peer.Event{Kind: peer.EvLeft, Peer: "bob", Code: peer.CodeQuit}, "14:05 * bob left (quit)"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "hi all"}, "14:05 bob: hi all"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "alice", Text: "psst"}, "14:05 bob → you: psst"},
		{peer.Event{Kind: peer.EvMessage, Peer: "小明", To: "all", Text: "你好"}, "14:05 小明: 你好"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "/me waves"}, "14:05 * bob waves"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "alice", Text: "/me winks"}, "14:05 * bob winks (to you)"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "/me\x1b[2J "}, "14:05 bob: /me "},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "one\ntwo\r\nthree\n"},
			"14:05 bob: one\n      two\n      three"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "hi\r14:06 carol: fake"},
			"14:05 bob: hi\n      14:06 carol: fake"},
		{peer.Event{Kind: peer.EvMessage, Peer: "bob\x1b[2J", To: "all", Text: "\x1b]0;pwned\x07ok\u202e"}, "14:05 bob: ok"},
		{peer.Event{Kind: peer.EvDelivered, Peer: "bob", ID: 3}, ""},
		{peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "b0b0b0b0b0b0b0b0", ID: 3, Reason: peer.ReasonNoAnswer, Text: "no answer (still trying)"},
			"14:05 ! not delivered to bob yet: no answer (still trying)"},
		{peer.Event{Kind: peer.EvPending, Peer: "bob", ID: 3, Reason: peer.ReasonPeerLeft, Text: "bob left (quit); it will be delivered if bob comes back"},
			"14:05 ! not delivered to bob yet: bob left (quit); it will be delivered if bob comes back"},
		{peer.Event{Kind: peer.EvPending, Peer: "bob", ID: 3, Reason: peer.ReasonNoAnswer}, "14:05 ! not delivered to bob yet"},
		{peer.Event{Kind: peer.EvFailed, Peer: "bob", ID: 3, Reason: peer.ReasonStopped, Text: "p2pchat stopped before it was acknowledged"},
			"14:05 ! not delivered to bob: p2pchat stopped before it was acknowledged"},
		{peer.Event{Kind: peer.EvFailed, Peer: "bob\x1b[2J", ID: 3, Reason: peer.ReasonStopped, Text: "dropped\r\n14:06 carol: fake"},
			"14:05 ! not delivered to bob: dropped 14:06 carol: fake"},
		{peer.Event{Kind: peer.EvRenamed, OldName: "bob", Peer: "robert"}, "14:05 * bob is now robert"},
		{peer.Event{Kind: peer.EvWarning, Text: "carol presents a new key"}, "14:05 ! carol presents a new key"},
		{peer.Event{Kind: peer.EvInfo, Text: "bob: switched to TCP"}, "14:05 * bob: switched to TCP"},
		{peer.Event{Kind: peer.EvWarning, Peer: "alice@laptop2", Code: peer.CodeNameOwn, Name: "alice"},
			"14:05 ! another peer also calls itself alice (your name); it is shown as alice@laptop2"},
		{peer.Event{Kind: peer.EvWarning, Peer: "bob@laptop2", Code: peer.CodeNameTaken, Name: "bob", Fingerprint: "ab12-cd34"},
			"14:05 ! another peer is already shown as bob: this one (key ab12-cd34) is shown as bob@laptop2. Compare '/whois bob@laptop2' in person; '/trust bob@laptop2' gives it the name."},
		{peer.Event{Kind: peer.EvWarning, Peer: "bob@laptop2", Code: peer.CodeKeyChanged, Name: "bob"},
			"14:05 ! a peer with a DIFFERENT KEY claims the name bob: it is shown as bob@laptop2, not as bob. " +
				"It may be an impostor, or bob reinstalled p2pchat. Compare '/whois bob@laptop2' with bob in person, then '/trust bob@laptop2' to accept the new key."},
		{peer.Event{Kind: peer.EvVersion, Peer: "bob", Addr: "10.0.0.2:7117", Version: 1}, "14:05 ! bob runs an older p2pchat (protocol 1): update it to talk"},
		{peer.Event{Kind: peer.EvVersion, Addr: "10.0.0.2:7117", Version: 1}, "14:05 ! the p2pchat at 10.0.0.2:7117 runs an older p2pchat (protocol 1): update it to talk"},
		{peer.Event{Kind: peer.EvVersion, Addr: "10.0.0.2:7117", Version: 3}, "14:05 ! the p2pchat at 10.0.0.2:7117 runs a newer p2pchat (protocol 3, this one speaks 2): update this one to talk"},
		{peer.Event{Kind: "typing", Peer: "bob"}, "14:05 * typing bob"},
	}
	for _, tt := range tests {
		tt.e.Time = at
		got, ok := f.event(tt.e, at)
		if tt.want == "" {
			if ok {
				t.Errorf("%v event shown as %q, want hidden", tt.e.Kind, got)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("event %+v:\n got %q\nwant %q", tt.e, got, tt.want)
		}
	}
}

func TestEventTimeDefaultsToNow(t *testing.T) {
	got, _ := formatter{}.event(peer.Event{Kind: peer.EvInfo, Text: "x"}, at)
	if got != "14:05 * x" {
		t.Errorf("got %q", got)
	}
}

func TestColourNames(t *testing.T) {
	f := formatter{color: true}
	bob1, bob2, carol := f.name("bob"), f.name("bob"), f.name("carol")
	if bob1 != bob2 {
		t.Errorf("colour of bob not stable: %q vs %q", bob1, bob2)
	}
	if !strings.HasPrefix(bob1, "\x1b[") || !strings.HasSuffix(bob1, "bob\x1b[0m") {
		t.Errorf("bob not coloured: %q", bob1)
	}
	if bob1 == carol[:len(bob1)] {
		t.Errorf("expected bob and carol in different colours: %q %q", bob1, carol)
	}
	// A name's own escape sequences are removed before colouring.
	if got := f.name("eve\x1b[0m"); strings.Count(got, "\x1b") != 2 {
		t.Errorf("name escapes not stripped: %q", got)
	}
	got, _ := f.event(peer.Event{Kind: peer.EvMessage, Peer: "bob", To: "all", Text: "hi", Time: at}, at)
	if got != "14:05 "+bob1+": hi" {
		t.Errorf("coloured message = %q", got)
	}
}

func TestAgo(t *testing.T) {
	now := at
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(500 * time.Millisecond), "just now"},
		{now.Add(-300 * time.Millisecond), "just now"},
		{now.Add(-3 * time.Second), "3s ago"},
		{now.Add(-59 * time.Second), "59s ago"},
		{now.Add(-2*time.Minute - 10*time.Second), "2m ago"},
		{now.Add(-5 * time.Hour), "5h ago"},
		{now.Add(-47 * time.Hour), "47h ago"},
		{now.Add(-72 * time.Hour), "3d ago"},
	}
	for _, tt := range tests {
		if got := ago(tt.t, now); got != tt.want {
			t.Errorf("ago(%v) = %q, want %q", now.Sub(tt.t), got, tt.want)
		}
	}
}

func TestPeersTable(t *testing.T) {
	now := at
	tests := []struct {
		name  string
		peers []peer.PeerInfo
		want  []string
	}{
		{"none", nil, []string{"* no peers yet (they appear by themselves when someone on this network starts p2pchat)"}},
		{"mixed", []peer.PeerInfo{
			{Name: "bob", Addr: "10.0.0.5:7117", Transport: "udp", LastSeen: now.Add(-3 * time.Second), Online: true},
			{Name: "carol", Addr: "10.0.0.6:7117", Transport: "tcp", LastSeen: now.Add(-2 * time.Minute), Online: true, Pending: 2, Away: "lunch"},
			{Name: "dave", Addr: "10.0.0.17:7117", Transport: "udp", LastSeen: now.Add(-time.Hour), Pending: 1},
			{Name: "小明", Addr: "10.0.0.8:7117", Transport: "udp", Online: true},
		}, []string{
			"name   address         transport  last seen",
			"bob    10.0.0.5:7117   udp        3s ago",
			"carol  10.0.0.6:7117   tcp        2m ago     2 pending (away: lunch)",
			"dave   10.0.0.17:7117  udp        1h ago     offline 1 pending",
			"小明   10.0.0.8:7117   udp        never",
		}},
		{"hostile strings", []peer.PeerInfo{
			{Name: "eve\x1b[2J", Addr: "1.2.3.4:1\r\n", Transport: "udp", LastSeen: now, Online: true, Away: "\x1b]0;x\x07gone\nfishing"},
		}, []string{
			"name  address     transport  last seen",
			"eve   1.2.3.4:1   udp        just now   (away: gone fishing)",
		}},
	}
	for _, tt := range tests {
		got := peersTable(tt.peers, now)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

func TestWhoisLines(t *testing.T) {
	p := peer.PeerInfo{
		Name: "bob@laptop2", Nick: "bob", Host: "laptop2", ID: "k3f9a1", Addr: "10.0.0.5:7117",
		Transport: "udp", Via: "mdns", LastSeen: at.Add(-4 * time.Second), Fingerprint: "ABCD EF01 2345",
		Online: true, Pending: 1, Away: "brb",
	}
	want := []string{
		"bob@laptop2",
		"  id           k3f9a1",
		"  nick         bob on laptop2",
		"  address      10.0.0.5:7117 (udp)",
		"  fingerprint  ABCD EF01 2345",
		"  learned via  mdns",
		"  last seen    4s ago",
		"  status       online, 1 pending, away: brb",
	}
	got := whoisLines(p, at)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
