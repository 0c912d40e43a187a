package shell

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/transfer"
)

// topKeys is the top-level keys of a JSON object, in order.
func topKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	var keys []string
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, err
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			expectKey = depth == 1 && v != '['
			continue
		case string:
			if depth == 1 && expectKey {
				keys = append(keys, v)
				expectKey = false
				continue
			}
		}
		expectKey = depth == 1
	}
}

// docTemplates are the JSON lines doc.go documents, as event kind -> the
// key lists documented for it.
func docTemplates(t *testing.T) map[string][][]string {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	keyRE := regexp.MustCompile(`"([a-z0-9_]+)":`)
	kindRE := regexp.MustCompile(`^\{"event":"([a-z-]+)"`)
	out := map[string][][]string{}
	for _, l := range strings.Split(string(src), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, "//"))
		m := kindRE.FindStringSubmatch(l)
		if m == nil || strings.Contains(l, "fields...") {
			continue
		}
		obj := l[:strings.Index(l, "}")+1]
		if strings.Contains(obj, "[") || strings.Contains(l[1:], "{") { // peers, history: PEER and LINE are placeholders; stats: objects inside
			obj = l[:strings.LastIndex(l, "}")+1]
		}
		var keys []string
		for _, k := range keyRE.FindAllStringSubmatch(obj, -1) {
			keys = append(keys, k[1])
		}
		out[m[1]] = append(out[m[1]], keys)
	}
	return out
}

// Every line the encoder writes has the keys doc.go documents for its
// kind, in that order, and doc.go documents no kind the shell never writes.
func TestDocMatchesEncoder(t *testing.T) {
	ts := time.Date(2026, 3, 4, 14, 5, 6, 0, time.UTC)
	full := func(k peer.EventKind) peer.Event {
		return peer.Event{Kind: k, Time: ts, Peer: "bob", PeerID: "b0b0b0b0b0b0b0b0", Addr: "1.2.3.4:5", To: "all",
			Text: "t", ID: 1, OldName: "bobby", Reason: peer.ReasonNoAnswer, Version: 1}
	}
	samples := []any{
		readyJSON(Ready{Name: "alice", ID: "a0a0a0a0a0a0a0a0", Port: 7117, Fingerprint: "fp"}),
		mustStatsJSON(t, StatsLine{Transfer: struct{ A uint64 }{}, Discovery: struct{ B uint64 }{}, Rooms: []any{struct{ C uint64 }{}}}),
		jsonSent{Event: "sent", To: "bob", PeerID: "b0b0b0b0b0b0b0b0", IDs: []uint64{1}},
		peersJSON(nil),
		jsonWhoami{"whois", "alice", true, "fp"},
		historyJSON(nil),
		searchJSON("x", nil),
		jsonIgnoreList{"ignored", []jsonIgnored{{"bob", "b0b0b0b0b0b0b0b0", 1}}},
		jsonText{Event: "info", Text: "x"},
		jsonText{Event: "error", Text: "x"},
		jsonText{Event: "help", Text: "x"},
		jsonTransfers{Event: "transfers", Transfers: []jsonTransferInfo{}},
	}
	for _, k := range []transfer.EventKind{transfer.EvOffer, transfer.EvOffered, transfer.EvAccepted, transfer.EvProgress,
		transfer.EvResumed, transfer.EvDone, transfer.EvFailed} {
		samples = append(samples, transferJSON(transfer.Event{Kind: k, Time: ts, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b0b0b0b0b0b0b0",
			Files: []string{"a"}, Bytes: 1, Total: 2, Path: "/x/a", SHA256: "00", Code: transfer.CodeLinkLost, Resumable: true, Note: transfer.NotePaused,
			Err: &transfer.Error{Cause: transfer.CauseConn, Err: errors.New("t")}}))
	}
	// A failure without a cause.
	samples = append(samples, transferJSON(transfer.Event{Kind: transfer.EvFailed, Time: ts, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b0b0b0b0b0b0b0",
		Total: 2, Code: transfer.CodeRejected, Note: transfer.NotePeerRejected}))
	for _, k := range []peer.EventKind{peer.EvMessage, peer.EvJoined, peer.EvLeft, peer.EvRenamed, peer.EvDelivered,
		peer.EvPending, peer.EvFailed, peer.EvWarning, peer.EvInfo, peer.EvVersion} {
		samples = append(samples, eventJSON(full(k), ts))
	}
	action := full(peer.EvMessage)
	action.Text = "/me waves"
	samples = append(samples, eventJSON(action, ts))
	samples = append(samples, roomJSONSamples(ts)...) // rooms_test.go
	docs := docTemplates(t)
	written := map[string]bool{}
	for _, v := range samples {
		line := encodeJSON(v)
		keys, err := topKeys(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		kind := eventKind(line)
		written[kind] = true
		if !slices.ContainsFunc(docs[kind], func(d []string) bool { return slices.Equal(d, keys) }) {
			t.Errorf("the encoder writes %v for %q, doc.go documents %v", keys, kind, docs[kind])
		}
	}
	for kind := range docs {
		if !written[kind] && kind != "whois" { // whois NAME: "PEER fields..."
			t.Errorf("doc.go documents %q, which no sample writes", kind)
		}
	}
	// The PEER and LINE entries.
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(src), "\n//\t ", "") // PEER spans lines
	keyRE := regexp.MustCompile(`"([a-z0-9_]+)":`)
	for _, c := range []struct {
		v     any
		start string
	}{
		{peerJSON(peer.PeerInfo{}), `{"name":NAME,"nick"`},
		{jsonHistoryLine{}, `{"time":"YYYY`},
	} {
		i := strings.Index(text, c.start)
		if i < 0 {
			t.Errorf("doc.go lacks the entry %s...", c.start)
			continue
		}
		entry := text[i : i+strings.Index(text[i:], "}")]
		var doc []string
		for _, k := range keyRE.FindAllStringSubmatch(entry, -1) {
			doc = append(doc, k[1])
		}
		if keys, _ := topKeys(encodeJSON(c.v)); !slices.Equal(keys, doc) {
			t.Errorf("the encoder writes %v, doc.go documents %v", keys, doc)
		}
	}
}

// The README's example lines are real: each has the documented keys of its
// kind, in order.
func TestReadmeJSONExample(t *testing.T) {
	src, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	docs := docTemplates(t)
	n := 0
	for _, l := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(l, `{"event":`) {
			continue
		}
		keys, err := topKeys(l)
		if err != nil {
			continue // an abbreviated line ("...")
		}
		n++
		kind := eventKind(l)
		if !slices.ContainsFunc(docs[kind], func(d []string) bool { return slices.Equal(d, keys) }) {
			t.Errorf("README line %s has keys %v; doc.go documents %v", l, keys, docs[kind])
		}
	}
	if n < 10 {
		t.Errorf("only %d JSON example lines found in README.md", n)
	}
}

// eventKind is the "event" of a JSON line.
func eventKind(line string) string {
	var kind struct{ Event string }
	json.Unmarshal([]byte(line), &kind)
	return kind.Event
}
