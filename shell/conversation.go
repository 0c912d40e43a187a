package shell

import (
	"fmt"
	"time"
)

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
