package shell

import (
	"errors"
	"fmt"
	"strings"

	"github.com/p2pchat/p2pchat/peer"
)

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

func (s *session) setAway(text string) {
	if err := s.node.SetAway(text); err != nil {
		s.userError(peerErrWords(err))
		return
	}
	if text == "" {
		s.info("you are back")
	} else {
		s.info("you are away: " + text)
	}
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
		s.userError("bad nickname, unchanged: " + peerErrWords(err))
		return
	}
	if err := s.node.SetName(name); err != nil {
		s.userError("bad nickname, unchanged: " + peerErrWords(err))
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
			s.userError(peerErrWords(err))
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
		switch {
		case errors.Is(err, peer.ErrUnknownPeer):
			s.userError(s.noPeer(name))
		case errors.Is(err, peer.ErrOwnName):
			s.userError(fmt.Sprintf("cannot trust %s: %s uses your own name %s: it cannot have it", p.Name, p.Name, s.node.Name()))
		default:
			s.userError("cannot trust " + p.Name + ": " + peerErrWords(err))
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
		s.userError("cannot unsend to " + p.Name + ": " + peerErrWords(err))
	case n == 0:
		s.info("nothing waits for " + p.Name)
	default:
		s.info(fmt.Sprintf("dropped %d messages waiting for %s (any already on the way may still arrive)", n, p.Name))
	}
}
