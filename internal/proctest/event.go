package proctest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Flex is a JSON value that may be a number or a string (the "id" field is
// a string node id in "ready" and "peers" but a number message id in
// "delivered", "pending" and "failed"); it keeps the text form.
type Flex string

// UnmarshalJSON accepts a JSON string or number.
func (f *Flex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = Flex(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id %s is neither string nor number", b)
	}
	*f = Flex(n.String())
	return nil
}

// PeerEntry is one element of a "peers" event.
type PeerEntry struct {
	Name        string          `json:"name"`
	Nick        string          `json:"nick"`
	ID          Flex            `json:"id"`
	Addr        string          `json:"addr"`
	Transport   string          `json:"transport"`
	Via         string          `json:"via"`
	LastSeen    json.RawMessage `json:"last_seen"`
	Online      bool            `json:"online"`
	Pending     int             `json:"pending"`
	Fingerprint string          `json:"fingerprint"`
}

// Event is one line of a process's JSON output (p2pchat -json, or a helper
// program printing the same kind of lines). Fields not used by an event
// kind are zero; Decode reads fields this type does not have. Lines that
// are not JSON objects are kept with Event == "" and Err set, so that they
// show up in failure reports.
type Event struct {
	Event  string          `json:"event"`
	Name   string          `json:"name"`
	ID     Flex            `json:"id"`
	Port   int             `json:"port"`
	Addr   string          `json:"addr"`
	Time   json.RawMessage `json:"time"`
	Reason string          `json:"reason"`
	Code   string          `json:"code"`    // pending, failed: machine-readable reason
	PeerID string          `json:"peer_id"` // the stable id of the peer an event concerns
	From   string          `json:"from"`
	To     string          `json:"to"`
	Text   string          `json:"text"`
	IDs    []Flex          `json:"ids"`
	Peers  []PeerEntry     `json:"peers"`
	Ifaces []string        `json:"ifaces"` // ready: the interfaces discovery runs on

	Raw string    `json:"-"` // the line as printed
	Err error     `json:"-"` // why the line did not decode
	Seq int       `json:"-"` // position in the Proc's event log, from 0
	At  time.Time `json:"-"` // when the driver read it
}

// parseEvent decodes one output line read at at.
func parseEvent(line string, at time.Time) Event {
	var e Event
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		e = Event{Err: err}
	}
	e.Raw, e.At = line, at
	return e
}

// Decode unmarshals the whole line into v, for fields Event does not have.
func (e Event) Decode(v any) error { return json.Unmarshal([]byte(e.Raw), v) }

func (e Event) String() string {
	s := fmt.Sprintf("#%d %s %s", e.Seq, e.At.Format("15:04:05.000"), TrimForLog(e.Raw, 300))
	if e.Err != nil {
		s += fmt.Sprintf(" [not JSON: %v]", e.Err)
	}
	return s
}

// TrimForLog shortens s to n bytes for a log line, saying how long it was.
func TrimForLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
}

// Matchers for Proc.Wait and friends.

// IsKind matches any event of kind.
func IsKind(kind string) func(Event) bool {
	return func(e Event) bool { return e.Event == kind }
}

// IsJoined matches the "joined" event of the peer shown as name.
func IsJoined(name string) func(Event) bool {
	return func(e Event) bool { return e.Event == "joined" && e.Name == name }
}

// IsLeft matches the "left" event of name with reason.
func IsLeft(name, reason string) func(Event) bool {
	return func(e Event) bool { return e.Event == "left" && e.Name == name && e.Reason == reason }
}

// IsMessage matches a message from from to to ("all" or the receiver's
// name) with exactly text.
func IsMessage(from, to, text string) func(Event) bool {
	return func(e Event) bool {
		return e.Event == "message" && e.From == from && e.To == to && e.Text == text
	}
}

// IsDelivered matches the "delivered" event of message id to to.
func IsDelivered(to string, id Flex) func(Event) bool {
	return func(e Event) bool { return e.Event == "delivered" && e.To == to && e.ID == id }
}

// IsSent matches a "sent" answer for to.
func IsSent(to string) func(Event) bool {
	return func(e Event) bool { return e.Event == "sent" && e.To == to }
}
