package shell

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// What p2pchat prints before Run and after it: in -json mode these lines
// come from the same encoder as the rest (json.go), so every line of the
// stream has the key order doc.go documents.

// Ready is what the "ready" line says about this node.
type Ready struct {
	Name        string   // own nickname
	ID          string   // own node id (what peers see as our peer_id)
	Port        int      // UDP and TCP port
	Fingerprint string   // own key fingerprint
	Ifaces      []string // network interfaces discovery runs on (none: discovery off or no usable interface)
}

// WriteReady writes the "ready" line of -json mode: the first line, before
// Run.
func WriteReady(w io.Writer, r Ready) error {
	if _, err := io.WriteString(w, encodeJSON(readyJSON(r))+"\n"); err != nil {
		return fmt.Errorf("shell: writing ready: %w", err)
	}
	return nil
}

// StatsLine is what the "stats" line of -json mode reports: the counters
// of each package (see doc.go). Transfer and Discovery take those
// packages' Stats structs (transfer.Manager.Stats, discovery.Stats; a
// value or a pointer, nil for none): every field must be an unsigned
// integer, reported under its json tag or else its name in snake case.
type StatsLine struct {
	Peer      peer.Stats
	Transfer  any   // transfer's Stats: the "transfer" object
	Discovery any   // discovery's Stats: the "discovery" object
	Rooms     []any // the rooms' Stats structs (runner, core): one "rooms" object
}

// WriteStats writes the "stats" line of -json mode: the last line, after
// Drain.
func WriteStats(w io.Writer, sl StatsLine) error {
	js, err := statsJSON(sl)
	if err != nil {
		return fmt.Errorf("shell: stats: %w", err)
	}
	if _, err := io.WriteString(w, encodeJSON(js)+"\n"); err != nil {
		return fmt.Errorf("shell: writing stats: %w", err)
	}
	return nil
}

// Drain prints every event left on events until the channel closes, in the
// same form Run uses but without a prompt: for what a node reports while it
// shuts down (messages never acknowledged, the last deliveries).
func Drain(events <-chan peer.Event, out io.Writer, jsonMode bool) {
	s := &session{
		cfg: Config{Out: out, JSON: jsonMode},
		pr:  newPrinter(out, false, nil),
		log: slog.New(slog.DiscardHandler),
		now: time.Now,
	}
	defer s.pr.close()
	for e := range events {
		s.printEvent(e)
		s.pr.flush() // shutting down: each line at once
	}
}
