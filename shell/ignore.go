package shell

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/transfer"
)

// ignoreFileName is the file, in the home next to known_peers and
// conversations.log, that lists ignored peers: one "ID NAME" line each.
const ignoreFileName = "ignored"

// maxIgnored bounds the ignore list.
const maxIgnored = 1000

// ignored is a peer the user ignores: by its key (the peer id), so that
// it stays ignored under another name, and the name it had, to list it.
type ignored struct {
	id, name string
	hidden   int // messages and offers hidden this session
}

// ignoreList is the ignore list and where it is kept (the command loop
// only).
type ignoreList struct {
	file    string // "" = not kept
	peers   []ignored
	loaded  bool
	hidden  int  // hidden this session, all peers
	told    bool // the user was told how many were hidden
	pending bool // hidden since the last flush, not told yet
}

// ignoreFile is the ignore list's file for a conversation log's home.
func ignoreFile(logFile string) string {
	if logFile == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(logFile), ignoreFileName)
}

// load reads the list once; a missing file is an empty list.
func (l *ignoreList) load() error {
	if l.loaded || l.file == "" {
		l.loaded = true
		return nil
	}
	l.loaded = true
	f, err := os.Open(l.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the ignore list: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(l.peers) < maxIgnored {
		id, name, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if id != "" && !l.has(id) {
			l.peers = append(l.peers, ignored{id: id, name: name})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the ignore list %s: %w", l.file, err)
	}
	return nil
}

// save writes the list (a new file renamed over the old one).
func (l *ignoreList) save() error {
	if l.file == "" {
		return nil
	}
	dir := filepath.Dir(l.file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving the ignore list: %w", err)
	}
	f, err := os.CreateTemp(dir, ".ignored-*")
	if err != nil {
		return fmt.Errorf("saving the ignore list: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, p := range l.peers {
		fmt.Fprintf(w, "%s %s\n", p.id, p.name)
	}
	werr := w.Flush()
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), l.file)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("saving the ignore list %s: %w", l.file, werr)
	}
	return nil
}

func (l *ignoreList) has(id string) bool {
	return slices.ContainsFunc(l.peers, func(p ignored) bool { return p.id == id })
}

// hide counts one hidden message or offer from id; it reports whether id
// is ignored.
func (l *ignoreList) hide(id string) bool {
	if id == "" || len(l.peers) == 0 {
		return false
	}
	i := slices.IndexFunc(l.peers, func(p ignored) bool { return p.id == id })
	if i < 0 {
		return false
	}
	l.peers[i].hidden++
	l.hidden++
	l.pending = true
	return true
}

// ignore is /ignore NAME (NAME "": list).
func (s *session) ignore(name string) {
	if err := s.ignores.load(); err != nil {
		s.userError(err.Error())
	}
	if name == "" {
		s.listIgnored()
		return
	}
	p, ok := s.resolve(name)
	if !ok {
		return
	}
	if s.ignores.has(p.ID) {
		s.info(p.Name + " is ignored already")
		return
	}
	if len(s.ignores.peers) >= maxIgnored {
		s.userError(fmt.Sprintf("the ignore list is full (%d peers); /unignore one first", maxIgnored))
		return
	}
	s.ignores.peers = append(s.ignores.peers, ignored{id: p.ID, name: oneLine(p.Name)})
	msg := "ignoring " + p.Name + " (key " + p.ID + "): its messages and file offers are not shown, its offers are rejected; /unignore " + p.Name + " undoes it"
	if err := s.ignores.save(); err != nil {
		s.userError(err.Error() + "; ignored for this session only")
	} else {
		s.info(msg)
	}
}

// unignore is /unignore NAME: the ignored peer last seen as NAME, or the
// peer NAME resolves to.
func (s *session) unignore(name string) {
	if err := s.ignores.load(); err != nil {
		s.userError(err.Error())
	}
	i := slices.IndexFunc(s.ignores.peers, func(p ignored) bool { return strings.EqualFold(p.name, name) })
	if i < 0 {
		if p, err := s.node.Resolve(name); err == nil {
			i = slices.IndexFunc(s.ignores.peers, func(q ignored) bool { return q.id == p.ID })
		}
	}
	if i < 0 {
		s.userError(oneLine(name) + " is not ignored (/ignore lists who is)")
		return
	}
	p := s.ignores.peers[i]
	s.ignores.peers = slices.Delete(s.ignores.peers, i, i+1)
	if err := s.ignores.save(); err != nil {
		s.userError(err.Error())
		return
	}
	s.info("no longer ignoring " + p.name)
}

func (s *session) listIgnored() {
	if s.cfg.JSON {
		list := []jsonIgnored{}
		for _, p := range s.ignores.peers {
			list = append(list, jsonIgnored{p.name, p.id, p.hidden})
		}
		s.pr.print(encodeJSON(jsonIgnoreList{"ignored", list}), false)
		return
	}
	if len(s.ignores.peers) == 0 {
		s.info("nobody is ignored")
		return
	}
	var lines []string
	for _, p := range s.ignores.peers {
		lines = append(lines, fmt.Sprintf("  %s (key %s): %d hidden this session", p.name, p.id, p.hidden))
	}
	s.pr.print("ignored:\n"+strings.Join(lines, "\n"), false)
}

type jsonIgnored struct {
	Name   string `json:"name"`
	PeerID string `json:"peer_id"`
	Hidden int    `json:"hidden"`
}

type jsonIgnoreList struct {
	Event string        `json:"event"`
	Peers []jsonIgnored `json:"peers"`
}

// hideEvent reports whether node event e is from an ignored peer and must
// not be shown: a message (marked as handled, so it is not shown again
// after a restart; the node has acknowledged it).
func (s *session) hideEvent(e peer.Event) bool {
	if e.Kind != peer.EvMessage || !s.ignores.hide(e.PeerID) {
		return false
	}
	s.pr.skip(e.Idx)
	return true
}

// hideTransfer reports whether transfer event e concerns an ignored peer:
// its offer is rejected, and nothing of it shown.
func (s *session) hideTransfer(e transfer.Event) bool {
	if s.hiddenOffers[e.ID] && e.ID != 0 {
		return true
	}
	if e.Kind != transfer.EvOffer || !s.ignores.hide(e.PeerID) {
		return false
	}
	if s.hiddenOffers == nil {
		s.hiddenOffers = map[int]bool{}
	}
	s.hiddenOffers[e.ID] = true
	if s.cfg.Transfers != nil {
		if err := s.cfg.Transfers.Reject(e.ID); err != nil {
			s.log.Debug("shell: rejecting an ignored peer's offer", "id", e.ID, "err", err)
		}
	}
	return true
}

// tellHidden tells the user, once a session, how many messages and offers
// of ignored peers were hidden (when the shell is idle, so that a batch is
// counted as one).
func (s *session) tellHidden() {
	l := &s.ignores
	if !l.pending || l.told {
		return
	}
	l.pending, l.told = false, true
	what := "messages or file offers"
	if l.hidden == 1 {
		what = "message or file offer"
	}
	s.info(fmt.Sprintf("%d %s from ignored peers hidden (/ignore lists them; this is said once)", l.hidden, what))
}
