package shell

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/peer"
)

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
	case errors.Is(err, peer.ErrNotUTF8):
		s.userError("message is not valid UTF-8; nothing sent")
	case errors.Is(err, peer.ErrTooLong):
		s.userError(fmt.Sprintf("message too long: %d bytes, at most %d; nothing sent", len(text), peer.MaxTextBytes))
	case errors.Is(err, peer.ErrQueueFull):
		s.userError("not sent: too many messages waiting for " + who + "; try again when they are delivered")
	case errors.Is(err, peer.ErrClosed):
		s.userError("not sent: p2pchat is shutting down")
	default:
		s.userError("not sent to " + who + ": " + peerErrWords(err))
	}
}
