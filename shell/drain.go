package shell

import (
	"io"
	"log/slog"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// Drain prints every event left on events until the channel closes, in the
// same form Run uses but without a prompt: for what a node reports while it
// shuts down (messages never acknowledged, the last deliveries).
func Drain(events <-chan peer.Event, out io.Writer, jsonMode bool) {
	s := &session{
		cfg: Config{Out: out, JSON: jsonMode},
		pr:  newPrinter(out, false),
		log: slog.New(slog.DiscardHandler),
		now: time.Now,
	}
	defer s.pr.close()
	for e := range events {
		s.printEvent(e)
		s.pr.flush() // shutting down: each line at once
	}
}
