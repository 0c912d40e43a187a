package shell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// The JSON objects of -json mode; doc.go documents them. Field order here
// is the order on the wire, and the same in every line of a kind: fields are
// omitted only where doc.go says so. "peer_id" is the stable id of the peer
// an event concerns (the "id" of its entry in /peers); "id" is a message id
// in delivered/pending/failed and a node id elsewhere.

type jsonMessage struct {
	Event  string `json:"event"`
	From   string `json:"from"`
	PeerID string `json:"peer_id"`
	To     string `json:"to"`
	Text   string `json:"text"`
	Action bool   `json:"action,omitempty"` // /me: Text is what the sender does
	Time   string `json:"time"`
}

type jsonJoined struct {
	Event  string `json:"event"`
	Name   string `json:"name"`
	PeerID string `json:"peer_id"`
	Addr   string `json:"addr"`
	Time   string `json:"time"`
}

type jsonLeft struct {
	Event  string `json:"event"`
	Name   string `json:"name"`
	PeerID string `json:"peer_id"`
	Reason string `json:"reason"`
	Time   string `json:"time"`
}

type jsonDelivered struct {
	Event  string `json:"event"`
	To     string `json:"to"`
	PeerID string `json:"peer_id"`
	ID     uint64 `json:"id"`
	Time   string `json:"time"`
}

// jsonUndelivered serves pending (still trying) and failed (given up).
type jsonUndelivered struct {
	Event  string `json:"event"`
	To     string `json:"to"`
	PeerID string `json:"peer_id"`
	ID     uint64 `json:"id"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
	Time   string `json:"time"`
}

type jsonRenamed struct {
	Event  string `json:"event"`
	Old    string `json:"old"`
	Name   string `json:"name"`
	PeerID string `json:"peer_id"`
	Time   string `json:"time"`
}

// jsonVersion is a peer that speaks another protocol version: named when
// known, else only by its address.
type jsonVersion struct {
	Event   string `json:"event"`
	Name    string `json:"name,omitempty"`
	PeerID  string `json:"peer_id,omitempty"`
	Addr    string `json:"addr"`
	Version int    `json:"version"`
	Ours    int    `json:"ours"`
	Time    string `json:"time"`
}

// jsonText serves warning, info (with time, and the peer if one is
// concerned) and error, help, info answers (without).
type jsonText struct {
	Event  string `json:"event"`
	Name   string `json:"name,omitempty"`
	PeerID string `json:"peer_id,omitempty"`
	Text   string `json:"text"`
	Time   string `json:"time,omitempty"`
}

// jsonOther is an event kind this shell does not know yet.
type jsonOther struct {
	Event  string `json:"event"`
	Name   string `json:"name,omitempty"`
	PeerID string `json:"peer_id,omitempty"`
	Text   string `json:"text,omitempty"`
	Time   string `json:"time"`
}

// jsonReady is the first line of -json mode.
type jsonReady struct {
	Event       string   `json:"event"`
	Name        string   `json:"name"`
	ID          string   `json:"id"`
	Port        int      `json:"port"`
	Fingerprint string   `json:"fingerprint"`
	Ifaces      []string `json:"ifaces"`
}

// jsonStats is the last line of -json mode: "event", then the peer's
// counters at the top level (every field of peer.Stats: a counter added
// there reaches the line by itself; the first keys are kept as scripts
// read them), then the "transfer", "discovery" and "rooms" objects.
type jsonStats struct {
	Peer      counters
	Transfer  counters
	Discovery counters
	Rooms     counters
}

// peerKeys are the keys of peer.Stats fields whose JSON key is not their
// name in snake case (kept from the first stats lines).
var peerKeys = map[string]string{
	"UnknownBudget": "not_opened",
	"Backpressure":  "held_back",
	"EventsDropped": "notices_dropped",
}

// MarshalJSON writes the line as one object, the peer's counters first.
func (js jsonStats) MarshalJSON() ([]byte, error) {
	b := []byte(`{"event":"stats"`)
	for _, c := range js.Peer {
		b = append(b, ',')
		b = strconv.AppendQuote(b, c.key)
		b = append(b, ':')
		b = strconv.AppendUint(b, c.n, 10)
	}
	for _, part := range []struct {
		key string
		cs  counters
	}{{"transfer", js.Transfer}, {"discovery", js.Discovery}, {"rooms", js.Rooms}} {
		if part.cs == nil {
			continue
		}
		v, _ := part.cs.MarshalJSON()
		b = append(b, `,"`+part.key+`":`...)
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

type jsonSent struct {
	Event  string   `json:"event"`
	To     string   `json:"to"`
	PeerID string   `json:"peer_id,omitempty"` // omitted for "all"
	IDs    []uint64 `json:"ids"`
}

type jsonPeer struct {
	Name        string `json:"name"`
	Nick        string `json:"nick"`
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	Transport   string `json:"transport"`
	Via         string `json:"via"`
	LastSeen    string `json:"last_seen"`
	Online      bool   `json:"online"`
	Pending     int    `json:"pending"`
	Fingerprint string `json:"fingerprint"`
	Host        string `json:"host"`
	Away        string `json:"away"`
}

type jsonPeers struct {
	Event string     `json:"event"`
	Peers []jsonPeer `json:"peers"`
}

type jsonWhois struct {
	Event string `json:"event"`
	jsonPeer
}

type jsonWhoami struct {
	Event       string `json:"event"`
	Name        string `json:"name"`
	Self        bool   `json:"self"`
	Fingerprint string `json:"fingerprint"`
}

// rfc3339 formats t, or now if t is zero; "" stays "" for never.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func eventTime(t, now time.Time) string {
	if t.IsZero() {
		t = now
	}
	return t.Format(time.RFC3339)
}

// eventJSON is the JSON object for a node event.
func eventJSON(e peer.Event, now time.Time) any {
	ts := eventTime(e.Time, now)
	kind := string(e.Kind)
	switch e.Kind {
	case peer.EvMessage:
		to := e.To
		if to == "" {
			to = "all"
		}
		text, action := actionText(e.Text)
		return jsonMessage{kind, e.Peer, e.PeerID, to, text, action, ts}
	case peer.EvJoined:
		return jsonJoined{kind, e.Peer, e.PeerID, e.Addr, ts}
	case peer.EvLeft:
		return jsonLeft{kind, e.Peer, e.PeerID, leftJSON(e.Code), ts}
	case peer.EvDelivered:
		return jsonDelivered{kind, e.Peer, e.PeerID, e.ID, ts}
	case peer.EvSent:
		return jsonSent{Event: kind, To: e.Peer, PeerID: e.PeerID, IDs: nonNil(e.IDs)}
	case peer.EvPending, peer.EvFailed:
		return jsonUndelivered{kind, e.Peer, e.PeerID, e.ID, string(e.Reason), undeliveredText(e), ts}
	case peer.EvRenamed:
		return jsonRenamed{kind, e.OldName, e.Peer, e.PeerID, ts}
	case peer.EvWarning, peer.EvInfo:
		return jsonText{kind, e.Peer, e.PeerID, peerText(e), ts}
	case peer.EvVersion:
		return jsonVersion{kind, e.Peer, e.PeerID, e.Addr, e.Version, int(wire.Version), ts}
	default:
		return jsonOther{kind, e.Peer, e.PeerID, e.Text, ts}
	}
}

func readyJSON(r Ready) jsonReady {
	ifaces := r.Ifaces
	if ifaces == nil {
		ifaces = []string{} // always an array
	}
	return jsonReady{"ready", r.Name, r.ID, r.Port, r.Fingerprint, ifaces}
}

func statsJSON(sl StatsLine) (jsonStats, error) {
	var js jsonStats
	var err error
	if js.Peer, err = countersOf(sl.Peer); err != nil {
		return js, fmt.Errorf("peer: %w", err)
	}
	for i, c := range js.Peer {
		if k, ok := peerKeys[c.field]; ok {
			js.Peer[i].key = k
		}
	}
	if js.Transfer, err = countersOf(sl.Transfer); err != nil {
		return js, fmt.Errorf("transfer: %w", err)
	}
	if js.Discovery, err = countersOf(sl.Discovery); err != nil {
		return js, fmt.Errorf("discovery: %w", err)
	}
	for _, st := range sl.Rooms {
		cs, err := countersOf(st)
		if err != nil {
			return js, fmt.Errorf("rooms: %w", err)
		}
		js.Rooms = append(js.Rooms, cs...)
	}
	return js, nil
}

// counters are a package's counters as a JSON object, in field order.
type counters []counter

type counter struct {
	field, key string // the Go field, its JSON key
	n          uint64
}

// countersOf reads the counters of a package's Stats struct (or a pointer
// to one; nil gives none): every exported field must be an unsigned
// integer, and its key is its json tag if it has one, else its name in
// snake case (EventsDropped: events_dropped).
func countersOf(stats any) (counters, error) {
	if stats == nil {
		return nil, nil
	}
	v := reflect.ValueOf(stats)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct of counters", v.Type())
	}
	cs := counters{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			key := snakeCase(f.Name)
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				key = tag
			}
			cs = append(cs, counter{f.Name, key, v.Field(i).Uint()})
		default:
			return nil, fmt.Errorf("%s.%s is a %s, not a counter", v.Type(), f.Name, f.Type)
		}
	}
	return cs, nil
}

// MarshalJSON writes the counters as one object, in their order.
func (cs counters) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c.key)
		b = append(b, ':')
		b = strconv.AppendUint(b, c.n, 10)
	}
	return append(b, '}'), nil
}

// snakeCase turns a Go field name into a JSON key: TCPSends is tcp_sends,
// QueriesOverCap queries_over_cap.
func snakeCase(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func peerJSON(p peer.PeerInfo) jsonPeer {
	return jsonPeer{
		Name: p.Name, Nick: p.Nick, ID: p.ID, Addr: p.Addr, Transport: p.Transport,
		Via: p.Via, LastSeen: rfc3339(p.LastSeen), Online: p.Online, Pending: p.Pending,
		Fingerprint: p.Fingerprint, Host: p.Host, Away: p.Away,
	}
}

func peersJSON(ps []peer.PeerInfo) jsonPeers {
	out := jsonPeers{Event: "peers", Peers: make([]jsonPeer, 0, len(ps))}
	for _, p := range ps {
		out.Peers = append(out.Peers, peerJSON(p))
	}
	return out
}

// encodeJSON renders v as one line without the trailing newline. "<", ">"
// and "&" stay readable; control characters, invalid UTF-8, U+2028 and
// U+2029 are escaped by encoding/json, so a line can never be split or
// reach a terminal as a control sequence.
func encodeJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only unsupported types fail; all of ours are plain structs.
		return `{"event":"error","text":"internal: cannot encode event"}`
	}
	return escapeControls(string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))))
}

// escapeControls writes as \uXXXX what encoding/json leaves raw but a
// terminal may act on: DEL, the C1 controls (U+0080-U+009F, e.g. the 8-bit
// CSI U+009B) and the bidi controls. Inside a JSON string these escapes mean
// the same characters, so consumers see the exact text.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, needsEscape) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if needsEscape(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

type jsonHistoryLine struct {
	Time string `json:"time"`
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
}

type jsonHistory struct {
	Event string            `json:"event"`
	Lines []jsonHistoryLine `json:"lines"`
}

func historyJSON(entries []historyEntry) jsonHistory {
	h := jsonHistory{Event: "history", Lines: []jsonHistoryLine{}}
	for _, e := range entries {
		h.Lines = append(h.Lines, jsonHistoryLine{Time: e.when, From: e.from, To: e.to, Text: e.text})
	}
	return h
}

type jsonSearch struct {
	Event string            `json:"event"`
	Text  string            `json:"text"`
	Lines []jsonHistoryLine `json:"lines"`
}

func searchJSON(query string, entries []historyEntry) jsonSearch {
	return jsonSearch{Event: "search", Text: query, Lines: historyJSON(entries).Lines}
}
