package shell

import (
	"github.com/p2pchat/p2pchat/peer"
)

// flush writes the history and the output buffered so far.
func (s *session) flush() {
	s.tellHidden()
	if err := s.conv.flush(); err != nil {
		s.historyFailed(err)
	}
	s.pr.flush()
	if err := s.markErr.Load(); err != nil && !s.markFailed {
		s.markFailed = true
		s.userError("cannot record which messages were shown (" + diskWords(*err) + "): after a restart some may be shown again")
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
