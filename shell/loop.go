package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/roomsnet"
	"github.com/p2pchat/p2pchat/transfer"
)

// input is one line from the user, or why there is none.
type input struct {
	line   string
	err    error
	pasted bool // the line holds a paste, or line breaks typed by hand
}

// runPlain reads lines from cfg.In without a prompt (pipe, file, -json).
func (s *session) runPlain(ctx context.Context) error {
	defer s.pr.close()
	lines := make(chan input)
	done := make(chan struct{})
	defer close(done)
	go func() {
		r := bufio.NewReaderSize(s.cfg.In, 64*1024)
		send := func(in input) bool {
			select {
			case lines <- in:
				return true
			case <-done:
				return false
			}
		}
		for {
			line, err := readLine(r, maxLine)
			switch {
			case err == nil:
				if !send(input{line: line}) {
					return
				}
			case errors.Is(err, errLineTooLong):
				if !send(input{err: err}) {
					return
				}
			default:
				if line != "" && !send(input{line: line}) { // last line had no "\n"
					return
				}
				send(input{err: err})
				return
			}
		}
	}()
	return s.loop(ctx, lines, func() {})
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its "\n". A line longer than limit is
// read to its end and dropped: the error says how long it was. At end of
// input a last unterminated line comes back with io.EOF.
func readLine(r *bufio.Reader, limit int) (string, error) {
	var buf []byte
	n := 0
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if len(buf)+len(chunk) <= limit+1 { // +1: the "\n"
			buf = append(buf, chunk...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil && n == 0:
			return "", err
		}
		line := strings.TrimSuffix(string(buf), "\n")
		if n > limit+1 || len(line) > limit {
			return "", fmt.Errorf("%w: %d bytes, at most %d", errLineTooLong, n, limit)
		}
		return line, err
	}
}

// loop is the heart of Run: it prints events and executes lines until the
// user leaves, input ends, the node closes or ctx is cancelled. next asks
// for the next line (the interactive prompt).
func (s *session) loop(ctx context.Context, lines <-chan input, next func()) error {
	defer s.flush()
	events := s.node.Events()
	var tevents <-chan transfer.Event
	if s.cfg.Transfers != nil {
		tevents = s.cfg.Transfers.Events()
	}
	var revents <-chan roomsnet.Event
	if s.cfg.Rooms != nil {
		revents = s.cfg.Rooms.Events()
	}
	ended := false // input ended: waiting for our transfers (a script's /send)
	for {
		if ended && (s.cfg.Transfers == nil || !s.cfg.Transfers.Live()) {
			// Our transfers ended, and every event about them is in the
			// channel (Live): show those before returning.
			for tevents != nil {
				select {
				case te, ok := <-tevents:
					if !ok {
						return nil
					}
					s.printTransfer(te)
				default:
					return nil
				}
			}
			return nil
		}
		var (
			te  transfer.Event
			tok bool
			re  roomsnet.Event
			rok bool
		)
		var tick <-chan time.Time
		if ended {
			tick = time.After(time.Second) // check whether our transfers ended
		}
		var (
			e     peer.Event
			in    input
			evOK  bool
			which source // what is ready (fromNothing: nothing yet)
		)
		select { // whatever is ready, without waiting
		case <-ctx.Done():
			return nil
		case e, evOK = <-events:
			which = fromNode
		case in = <-lines:
			which = fromInput
		case te, tok = <-tevents:
			which = fromTransfers
		case re, rok = <-revents:
			which = fromRooms
		default:
		}
		if which == fromNothing {
			// Nothing is waiting: write out what was buffered, then wait.
			s.flush()
			select {
			case <-ctx.Done():
				return nil
			case e, evOK = <-events:
				which = fromNode
			case in = <-lines:
				which = fromInput
			case te, tok = <-tevents:
				which = fromTransfers
			case re, rok = <-revents:
				which = fromRooms
			case <-tick:
				continue
			}
		}
		if which == fromRooms {
			if !rok {
				revents = nil // closed
			} else {
				s.printRoomEvent(re)
			}
			continue
		}
		if which == fromTransfers {
			if !tok {
				tevents = nil // closed
			} else {
				s.printTransfer(te)
			}
			continue
		}
		if which == fromNode {
			if !evOK {
				s.log.Debug("shell: node closed its events")
				return nil
			}
			s.printEvent(e)
			continue
		}
		switch {
		case in.err == nil:
		case errors.Is(in.err, errLineTooLong):
			s.userError(in.err.Error() + ", ignored")
			next()
			continue
		case errors.Is(in.err, errPromptAborted):
			next()
			continue
		case in.err == io.EOF:
			s.endOfInput()
			if s.sends > 0 && s.cfg.Transfers != nil && s.cfg.Transfers.Live() {
				// A script's /send: wait until its transfers end.
				ended, lines = true, nil
				continue
			}
			return nil
		default:
			return fmt.Errorf("shell: reading input: %w", in.err)
		}
		s.pasted = in.pasted
		if s.execute(in.line) {
			return nil
		}
		next()
	}
}

// source is what the shell's loop took its next item from.
type source int

const (
	fromNothing   source = iota
	fromNode             // an event of the node
	fromInput            // a line of input
	fromTransfers        // an event of the transfers
	fromRooms            // an event of the rooms
)
