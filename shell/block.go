package shell

import (
	"fmt"
	"strings"

	"github.com/p2pchat/p2pchat/peer"
)

// pasteBlock is a /paste block being read: a piped p2pchat (a script, a
// bot) sends a message with line breaks as
//
//	/paste [NAME]
//	first line
//	second line
//	/end
//
// The lines between are the message as they are (a line starting with a
// slash too; "/end" alone ends the block); NAME, or the current target
// without it.
type pasteBlock struct {
	to    string // the peer's id; "" = everyone
	label string // its name
	lines []string
	size  int  // bytes so far, line breaks included
	drop  bool // NAME was not found: the block is read and dropped
}

// startBlock opens a /paste block to name ("" = the current target).
func (s *session) startBlock(name string) {
	b := &pasteBlock{to: s.target, label: s.label}
	if name != "" {
		p, ok := s.resolve(name)
		if !ok {
			// The lines that follow must not go out one by one: read
			// them into a block that is dropped at /end.
			b.drop = true
		} else {
			b.to, b.label = p.ID, p.Name
		}
	} else if s.target != "" {
		b.label = s.targetName()
	}
	s.block = b
}

// blockLine takes line into the open block; it reports false for a line
// that is not the block's (none: every line is, /end included).
func (s *session) blockLine(line string) bool {
	b := s.block
	if strings.TrimSpace(strings.TrimSuffix(line, "\r")) == "/end" {
		s.block = nil
		text := strings.Join(b.lines, "\n")
		switch {
		case b.drop:
			s.userError("the /paste block was not sent (no such peer)")
		case b.size > peer.MaxTextBytes:
			s.userError(fmt.Sprintf("/paste block too long: %d bytes, at most %d; nothing sent (send it as a file with /send)", b.size, peer.MaxTextBytes))
		default:
			s.send(b.to, b.label, text)
		}
		return true
	}
	line = strings.TrimSuffix(line, "\r")
	if len(b.lines) > 0 {
		b.size++
	}
	b.size += len(line)
	if b.size <= peer.MaxTextBytes {
		b.lines = append(b.lines, line)
	}
	return true
}

// endOfInput: input ended inside a /paste block: it is not sent.
func (s *session) endOfInput() {
	if s.block != nil {
		s.block = nil
		s.userError("input ended inside a /paste block (no /end): the block was not sent")
	}
}
