package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

// Node is what the shell needs from a p2pchat node (*peer.Node implements it).
// Its methods are called from two goroutines (input completion and the
// command loop), so they must be safe for concurrent use.
//
// Peers are addressed by their stable id (PeerInfo.ID, Event.PeerID): a name
// the user types is resolved once, when the command is given, and the id is
// used from then on, so that a peer taking over a display name later never
// receives what was meant for another.
type Node interface {
	Name() string                               // own nickname
	SetName(name string) error                  // /nick; returns wrapped peer.ErrBadName
	Send(toID, text string) ([]uint64, error)   // toID == "" means everyone; ids of the queued messages (one per recipient)
	Peers() []peer.PeerInfo                     // sorted by Name
	Resolve(name string) (peer.PeerInfo, error) // what the user typed -> the peer; wraps peer.ErrUnknownPeer if none
	Peer(id string) (peer.PeerInfo, bool)       // the peer with this id, if the node still knows it
	Trust(id string) error                      // /trust NAME: accept that peer's (new) key for its nickname
	Unsend(id string) (int, error)              // /unsend NAME: drop what waits for that peer; how many
	Shown(idx uint64) error                     // messages up to Event.Idx are on the screen (or flushed)
	Fingerprint() string                        // own key fingerprint
	SetAway(text string) error                  // /away: "" = back
	Events() <-chan peer.Event                  // closed when the node closes
}

// Config says where the shell reads and writes and how.
//
// In interactive mode liner reads the process's standard input and writes
// its prompt to standard output whatever In says, so In must be os.Stdin and
// Out os.Stdout then; the other modes use In and Out only.
type Config struct {
	Node        Node
	In          io.Reader    // os.Stdin
	Out         io.Writer    // os.Stdout
	Interactive bool         // stdin and stdout are terminals -> liner
	JSON        bool         // -json: every event one JSON object per line on Out, no prompt
	Color       bool         // colour sender names (main sets false when NO_COLOR is set or not a terminal)
	Bell        bool         // ring the bell on direct messages and mentions
	Notify      string       // -notify: a program run with a title and a body on direct messages and mentions; "" = none
	HistoryFile string       // liner history (~/.config/p2pchat/history); "" = none
	LogFile     string       // conversation history for /history (~/.config/p2pchat/conversations.log); "" = none
	Logger      *slog.Logger // nil: discard
	Transfers   Transfers    // file transfers (transfers.go); nil: off
	Rooms       Rooms        // rooms (rooms.go); nil: off
}

// maxLine is the longest input line read in non-interactive mode: the
// longest message plus room for "/to NAME ".
const maxLine = peer.MaxTextBytes + 1024

// Run reads commands until /quit, end of input, or ctx is cancelled, and prints
// node events meanwhile. It returns nil on a normal end. It always restores the terminal.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Node == nil {
		return errors.New("shell: no node")
	}
	if cfg.In == nil {
		cfg.In = strings.NewReader("")
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.JSON {
		cfg.Interactive = false
	}
	if cfg.Interactive && !terminalSupported() {
		// TERM unset or dumb: no line editing, no escape codes.
		cfg.Logger.Debug("shell: terminal not supported, using plain input")
		cfg.Interactive = false
	}
	s := newSession(cfg)
	if cfg.Interactive {
		return s.runLiner(ctx)
	}
	if err := s.runPlain(ctx); err != nil {
		return err
	}
	if s.notSent > 0 {
		return fmt.Errorf("%w (%d)", ErrNotSent, s.notSent)
	}
	return nil
}

// ErrNotSent is what Run returns, without a terminal, at the end of an
// input in which a /send could not even be offered (no such peer, a file
// that cannot be read): a script's /send failed.
var ErrNotSent = errors.New("a /send could not be offered")

// session is one run of the shell.
//
// Concurrency: the command loop (the goroutine that runs Run: it takes
// lines, node, transfer and room events and ticks, and executes commands)
// owns every field not said otherwise. cfg, node, pr, f, log, now and conv
// are immutable after newSession (tests set now before Run), and pr, conv
// and filter have their own locks. Other goroutines touch only those:
// the prompt goroutine (liner.go) calls pr, filter and node (safe for
// concurrent use) and gets the prompt and suggest by value over a
// channel; the input filter's goroutine calls pr (onBig); and whoever
// writes a message line runs shownLocked under the printer's lock, which
// sets markErr (atomic).
type session struct {
	cfg        Config
	node       Node
	pr         *printer
	f          formatter
	log        *slog.Logger
	now        func() time.Time
	target     string // id of the peer plain lines go to; "" = everyone
	label      string // the target's display name as last seen (shown if the node forgets it)
	room       string // the room plain lines go to, folded ("#lunch"); "" = the peer target (rooms.go)
	conv       *convLog
	convOK     bool                  // a history error was reported already
	markErr    atomic.Pointer[error] // the first Shown error (set under the printer's lock)
	markFailed bool                  // it was reported

	filter  *inputFilter // interactive: what reads the terminal (paste.go)
	suggest string       // interactive: text put on the next prompt (the command loop only; next hands it over by value)
	pasted  bool         // the line being executed holds a paste

	block *pasteBlock // a /paste block being read (the command loop only)

	ignores      ignoreList   // /ignore (the command loop only)
	hiddenOffers map[int]bool // offers of ignored peers, rejected (the command loop only)
	notifyOff    bool         // /notify off (the command loop only)
	notifyFailed bool         // the notifier could not be run, said once

	progress map[int]*progressState // running transfers (transfers.go)
	sends    int                    // /send commands that went through
	notSent  int                    // /send commands that did not
}

// newSession prepares a run of the shell on cfg, with Run's defaults applied.
func newSession(cfg Config) *session {
	s := &session{
		cfg:  cfg,
		node: cfg.Node,
		f:    formatter{color: cfg.Color && cfg.Interactive},
		log:  cfg.Logger,
		now:  time.Now,
		conv: newConvLog(cfg.LogFile),
	}
	s.ignores.file = ignoreFile(cfg.LogFile)
	if err := s.ignores.load(); err != nil {
		s.log.Debug("shell: ignore list", "err", err)
	}
	s.pr = newPrinter(cfg.Out, cfg.Interactive, s.shownLocked)
	return s
}

// shownLocked tells the node that the messages up to inbox index idx are out,
// right after the write that put them out (the printer's lock held: an
// error is reported by the next flush).
func (s *session) shownLocked(idx uint64) {
	if err := s.node.Shown(idx); err != nil {
		s.markErr.CompareAndSwap(nil, &err)
	}
}
