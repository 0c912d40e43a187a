package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/roomsnet"
	"github.com/p2pchat/p2pchat/transfer"
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
	suggest string       // interactive: text put on the next prompt (the prompt loop only)
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
	s.pr = newPrinter(cfg.Out, cfg.Interactive, s.shown)
	return s
}

// shown tells the node that the messages up to inbox index idx are out,
// right after the write that put them out (the printer's lock held: an
// error is reported by the next flush).
func (s *session) shown(idx uint64) {
	if err := s.node.Shown(idx); err != nil {
		s.markErr.CompareAndSwap(nil, &err)
	}
}

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

// flush writes the history and the output buffered so far.
func (s *session) flush() {
	s.tellHidden()
	if err := s.conv.flush(); err != nil {
		s.historyFailed(err)
	}
	s.pr.flush()
	if err := s.markErr.Load(); err != nil && !s.markFailed {
		s.markFailed = true
		s.userError("cannot record which messages were shown (" + (*err).Error() + "): after a restart some may be shown again")
	}
}

// printEvent shows one node event.
func (s *session) printEvent(e peer.Event) {
	if e.Kind == peer.EvRenamed && s.target != "" && e.PeerID == s.target {
		s.label = e.Peer // the target is the same peer under a new name
	}
	if s.hideEvent(e) {
		return
	}
	if e.Kind == peer.EvMessage {
		s.record(e.Time, e.Peer, e.To, e.Text)
	}
	if e.App != 0 { // the rooms' payload, on disk: marked shown in order (rooms.go)
		s.pr.markOnly(e.Idx)
		return
	}
	if s.cfg.JSON {
		s.notify(e, s.notifyWhy(e))
		s.pr.printMsg(encodeJSON(eventJSON(e, s.now())), false, e.Idx)
		return
	}
	why := s.notifyWhy(e)
	if why == "mention" && s.f.color {
		e.Text = highlight(Sanitize(e.Text), s.node.Name())
	}
	text, ok := s.f.event(e, s.now())
	if !ok {
		return
	}
	s.pr.printMsg(text, s.notify(e, why), e.Idx)
}

// userError reports a mistake of the user's in one line.
func (s *session) userError(text string) {
	if s.cfg.JSON {
		s.pr.print(encodeJSON(jsonText{Event: "error", Text: text}), false)
		return
	}
	s.pr.print("! "+Sanitize(oneLine(text)), false)
}

// info reports the result of a command.
func (s *session) info(text string) {
	if s.cfg.JSON {
		s.pr.print(encodeJSON(jsonText{Event: "info", Text: text}), false)
		return
	}
	s.pr.print("* "+oneLine(text), false)
}

// execute runs one input line; it reports whether the user wants to leave.
func (s *session) execute(line string) (quit bool) {
	if s.block != nil && s.blockLine(line) {
		return false
	}
	if s.roomCommand(line) { // rooms.go
		return false
	}
	cmd, err := Parse(line)
	if err != nil {
		s.userError(err.Error())
		return false
	}
	if s.pasted && len(cmd.Text) > peer.MaxTextBytes {
		switch cmd.Kind {
		case CmdSay:
			s.pasteTooLong(cmd.Text, s.targetName())
			return false
		case CmdTo:
			s.pasteTooLong(cmd.Text, cmd.Name)
			return false
		case CmdAll:
			s.pasteTooLong(cmd.Text, "")
			return false
		}
	}
	switch cmd.Kind {
	case CmdNone:
	case CmdSay:
		if s.target == "" {
			s.send("", "", cmd.Text)
		} else {
			s.send(s.target, s.targetName(), cmd.Text)
		}
	case CmdTo:
		if cmd.Text == "" {
			s.setTarget(cmd.Name)
		} else if s.checkText(cmd.Text) {
			if p, ok := s.resolve(cmd.Name); ok {
				s.send(p.ID, p.Name, cmd.Text)
			}
		}
	case CmdAll:
		if strings.TrimSpace(cmd.Text) == "" {
			s.setEveryone()
		} else {
			s.send("", "", cmd.Text)
		}
	case CmdPeers:
		s.peers()
	case CmdNick:
		s.nick(cmd.Name)
	case CmdWhois:
		s.whois(cmd.Name)
	case CmdTrust:
		s.trust(cmd.Name)
	case CmdUnsend:
		s.unsend(cmd.Name)
	case CmdHelp:
		if s.cfg.JSON {
			s.pr.print(encodeJSON(jsonText{Event: "help", Text: helpText}), false)
		} else {
			s.pr.print(helpText, false)
		}
	case CmdAway:
		s.setAway(cmd.Text)
	case CmdHistory:
		s.history(cmd.Name, cmd.Count)
	case CmdSend, CmdAccept, CmdReject, CmdCancel, CmdTransfers:
		s.execTransfer(cmd)
	case CmdSearch:
		s.search(cmd.Text)
	case CmdIgnore:
		s.ignore(cmd.Name)
	case CmdUnignore:
		s.unignore(cmd.Name)
	case CmdNotify:
		s.setNotify(cmd.Name)
	case CmdMe:
		s.send(s.target, s.targetName(), actionPrefix+cmd.Text)
	case CmdPaste:
		s.startBlock(cmd.Name)
	case CmdEnd:
		s.userError("/end without /paste: nothing to end")
	case CmdQuit:
		return true
	}
	return false
}

// record adds a message to the conversation history (written by flush).
func (s *session) record(t time.Time, from, to, text string) {
	if err := s.conv.add(t, from, to, text); err != nil {
		s.historyFailed(err)
	}
}

// historyFailed reports, once, that the history cannot be written.
func (s *session) historyFailed(err error) {
	if !s.convOK {
		s.convOK = true
		s.userError(fmt.Sprintf("%v; conversations are not being saved", err))
	}
}

func (s *session) setAway(text string) {
	if err := s.node.SetAway(text); err != nil {
		s.userError(err.Error())
		return
	}
	if text == "" {
		s.info("you are back")
	} else {
		s.info("you are away: " + text)
	}
}

func (s *session) history(name string, n int) {
	if n == 0 {
		n = defaultHistoryN
	}
	if s.conv == nil {
		s.userError("no conversation history is kept (no home directory)")
		return
	}
	entries, err := s.conv.last(name, n)
	if err != nil {
		s.userError(err.Error())
		return
	}
	if s.cfg.JSON {
		s.pr.print(encodeJSON(historyJSON(entries)), false)
		return
	}
	if len(entries) == 0 {
		if name != "" {
			s.info("no messages with " + name + " yet")
		} else {
			s.info("no messages yet")
		}
		return
	}
	for _, e := range entries {
		s.pr.print(s.savedLine(e.when, e), false)
	}
}

// search is /search TEXT: the saved conversations' lines holding TEXT.
func (s *session) search(query string) {
	if s.conv == nil {
		s.userError("no conversation history is kept (no home directory)")
		return
	}
	entries, err := s.conv.search(query)
	if err != nil {
		s.userError(err.Error())
		return
	}
	if s.cfg.JSON {
		s.pr.print(encodeJSON(searchJSON(query, entries)), false)
		return
	}
	if len(entries) == 0 {
		s.info("no saved message holds " + oneLine(query))
		return
	}
	if len(entries) == maxSearchResults {
		s.info(fmt.Sprintf("the last %d matches:", maxSearchResults))
	}
	for _, e := range entries {
		when := e.when
		if len(when) > len("2006-01-02 15:04") {
			when = when[:len("2006-01-02 15:04")]
		}
		s.pr.print(s.savedLine(when, e), false)
	}
}

// savedLine is a line of the saved history as /history and /search show
// it: "WHEN alice → bob: TEXT", or for a /me action "WHEN * alice → bob TEXT".
func (s *session) savedLine(when string, e historyEntry) string {
	from, to := s.nameColored(Sanitize(e.from)), oneLine(e.to)
	if act, ok := actionText(e.text); ok {
		return fmt.Sprintf("%s * %s → %s %s", when, from, to, multiLine(act))
	}
	return fmt.Sprintf("%s %s → %s: %s", when, from, to, multiLine(e.text))
}

// nameColored is a name from the saved history, coloured as its peer's
// (the peer now known under that name), else by the name.
func (s *session) nameColored(name string) string {
	if !s.f.color {
		return oneLine(name)
	}
	for _, p := range s.node.Peers() {
		if p.Name == name {
			return s.f.peer(name, p.ID)
		}
	}
	return s.f.name(name)
}

// checkText reports whether text can be sent, or says why not.
func (s *session) checkText(text string) bool {
	switch {
	case strings.TrimSpace(text) == "":
		s.userError("empty message, nothing sent")
		return false
	case len(text) > peer.MaxTextBytes:
		s.userError(fmt.Sprintf("message too long: %d bytes, at most %d; nothing sent", len(text), peer.MaxTextBytes))
		return false
	case !utf8.ValidString(text):
		s.userError("message is not valid UTF-8; nothing sent")
		return false
	}
	return true
}

// send sends text to the peer with id (label: its display name) or, with
// id == "", to everyone; or says why not.
func (s *session) send(id, label, text string) {
	if !s.checkText(text) {
		return
	}
	if _, err := s.node.Send(id, text); err != nil {
		s.sendError(id, label, text, err)
		return
	}
	dest := label
	if id == "" {
		dest = "all"
	}
	s.record(s.now(), s.node.Name(), dest, text)
	if s.pasted && s.cfg.Interactive && strings.Contains(text, "\n") {
		// The line on the screen shows ␤ or a summary: show the message.
		s.pr.print(stamp(time.Time{}, s.now())+" you → "+oneLine(dest)+": "+multiLine(text), false)
	}
	// Text mode prints nothing: the typed line is still on the screen. In
	// -json mode the node's "sent" event says when the message is saved
	// and on its way.
}

func nonNil(ids []uint64) []uint64 {
	if ids == nil {
		return []uint64{}
	}
	return ids
}

// sendError turns an error from Node.Send into one line for the user.
func (s *session) sendError(id, label, text string, err error) {
	who := oneLine(label)
	if id == "" {
		who = "everyone"
	}
	switch {
	case errors.Is(err, peer.ErrUnknownPeer):
		// Resolved a moment ago, or the target: the node has forgotten it.
		s.userError("not sent: " + who + " is no longer in the address book (/peers lists who is)")
	case errors.Is(err, peer.ErrNoPeers):
		s.userError("no peers yet, nothing sent (peers appear by themselves when someone on this network starts p2pchat)")
	case errors.Is(err, peer.ErrEmpty):
		s.userError("empty message, nothing sent")
	case errors.Is(err, peer.ErrTooLong):
		s.userError(fmt.Sprintf("message too long: %d bytes, at most %d; nothing sent", len(text), peer.MaxTextBytes))
	case errors.Is(err, peer.ErrQueueFull):
		s.userError("not sent: too many messages waiting for " + who + "; try again when they are delivered")
	case errors.Is(err, peer.ErrClosed):
		s.userError("not sent: p2pchat is shutting down")
	default:
		s.userError("not sent to " + who + ": " + err.Error())
	}
}

// noPeer is the error text for a name that is not in the address book,
// with a suggestion when one peer's name is close.
func (s *session) noPeer(name string) string {
	msg := "no peer named " + oneLine(name)
	var names []string
	for _, p := range s.node.Peers() {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return msg + " (no peers yet)"
	}
	if near, ok := closest(name, names); ok {
		return msg + " (did you mean " + oneLine(near) + "?)"
	}
	return msg + " (/peers lists them)"
}

// resolve looks up the peer the user calls name, or says why there is none.
func (s *session) resolve(name string) (peer.PeerInfo, bool) {
	p, err := s.node.Resolve(name)
	switch {
	case err == nil:
		return p, true
	case errors.Is(err, peer.ErrUnknownPeer):
		s.userError(s.noPeer(name))
	default:
		s.userError(err.Error())
	}
	return peer.PeerInfo{}, false
}

// setTarget makes the peer the user calls name where plain lines go: by id,
// so the lines keep going to that peer whatever it or others are called later.
func (s *session) setTarget(name string) {
	p, ok := s.resolve(name)
	if !ok {
		return
	}
	s.target, s.label, s.room = p.ID, p.Name, ""
	if !s.cfg.Interactive {
		s.info("messages now go to " + p.Name) // else the prompt shows it
	}
}

// setEveryone makes everyone the target of plain lines.
func (s *session) setEveryone() {
	s.target, s.label, s.room = "", "", ""
	if !s.cfg.Interactive {
		s.info("messages now go to everyone")
	}
}

// targetName is the current display name of the target: the node's
// current label for its id, or the last one seen if the node forgot it.
func (s *session) targetName() string {
	if p, ok := s.node.Peer(s.target); ok && p.Name != "" {
		s.label = p.Name
	}
	return s.label
}

func (s *session) peers() {
	ps := s.node.Peers()
	if s.cfg.JSON {
		s.pr.print(encodeJSON(peersJSON(ps)), false)
		return
	}
	s.pr.print(strings.Join(peersTable(ps, s.now()), "\n"), false)
}

func (s *session) nick(name string) {
	if err := peer.ValidName(name); err != nil {
		s.userError("bad nickname, unchanged: " + err.Error())
		return
	}
	if err := s.node.SetName(name); err != nil {
		s.userError("bad nickname, unchanged: " + err.Error())
		return
	}
	s.info("you are now " + s.node.Name())
}

func (s *session) whois(name string) {
	if name == "" {
		s.whoami()
		return
	}
	p, err := s.node.Resolve(name)
	if err != nil {
		if name == s.node.Name() {
			s.whoami()
			return
		}
		if errors.Is(err, peer.ErrUnknownPeer) {
			s.userError(s.noPeer(name))
		} else {
			s.userError(err.Error())
		}
		return
	}
	if s.cfg.JSON {
		s.pr.print(encodeJSON(jsonWhois{"whois", peerJSON(p)}), false)
		return
	}
	s.pr.print(strings.Join(whoisLines(p, s.now()), "\n"), false)
}

// whoami is /whois alone: our own name and fingerprint.
func (s *session) whoami() {
	if s.cfg.JSON {
		s.pr.print(encodeJSON(jsonWhoami{"whois", s.node.Name(), true, s.node.Fingerprint()}), false)
		return
	}
	s.pr.print("you are "+oneLine(s.node.Name())+"\n"+strings.Join(columns([][]string{{"  fingerprint", oneLine(s.node.Fingerprint())}}), "\n"), false)
}

func (s *session) trust(name string) {
	p, ok := s.resolve(name)
	if !ok {
		return
	}
	if err := s.node.Trust(p.ID); err != nil {
		if errors.Is(err, peer.ErrUnknownPeer) {
			s.userError(s.noPeer(name))
		} else {
			s.userError("cannot trust " + p.Name + ": " + err.Error())
		}
		return
	}
	msg := "trusted the current key of " + p.Name
	if p.Fingerprint != "" {
		msg += " (fingerprint " + p.Fingerprint + ")"
	}
	s.info(msg)
}

// unsend drops the messages waiting for a peer.
func (s *session) unsend(name string) {
	p, ok := s.resolve(name)
	if !ok {
		return
	}
	n, err := s.node.Unsend(p.ID)
	switch {
	case errors.Is(err, peer.ErrUnknownPeer):
		s.userError(s.noPeer(name))
	case err != nil:
		s.userError("cannot unsend to " + p.Name + ": " + err.Error())
	case n == 0:
		s.info("nothing waits for " + p.Name)
	default:
		s.info(fmt.Sprintf("dropped %d messages waiting for %s (any already on the way may still arrive)", n, p.Name))
	}
}

// prompt is the interactive prompt: the target, and on systems where lines
// are held while typing, how many wait.
func (s *session) prompt() string {
	t := "all"
	if s.target != "" {
		t = promptSafe(s.targetName())
	}
	if s.room != "" {
		t = promptSafe(s.room)
	}
	if n := s.pr.heldCount(); n > 0 {
		return fmt.Sprintf("[%s] (%d new)> ", t, n)
	}
	return "[" + t + "]> "
}

// promptSafe keeps a name printable for liner (which refuses a prompt with
// any Unicode control or format character) and short enough to leave room
// for typing.
func promptSafe(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.C, r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, oneLine(name))
	if r := []rune(name); len(r) > 16 {
		name = string(r[:15]) + "…"
	}
	return name
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
