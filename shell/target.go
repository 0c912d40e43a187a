package shell

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/p2pchat/p2pchat/peer"
)

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
		s.userError(peerErrWords(err))
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
