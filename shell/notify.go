package shell

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/p2pchat/p2pchat/peer"
)

// Notifications: a direct message, or a message to everyone or to a room
// (rooms.go) that mentions the user's name as a word (any case), rings the bell (-bell) and, with
// -notify UTIL, runs UTIL TITLE BODY (notify-send on a Linux desktop) --
// unless the terminal reported that the p2pchat window has the focus, or
// /notify off.

const (
	// notifyBodyRunes bounds the body given to the notifier.
	notifyBodyRunes = 200
	// maxNotifiers is how many notifiers may run at once; more are skipped.
	maxNotifiers = 4
	// notifyTimeout is how long a notifier may run before it is killed.
	notifyTimeout = 10 * time.Second
)

// mentionCache keeps the expression of the last name asked for: the name
// changes with /nick, messages arrive all the time. Its lock is its own.
var mentionCache struct {
	sync.Mutex
	name string
	re   *regexp.Regexp
}

// mentionRE matches name as a word in any case (nil for an empty name).
func mentionRE(name string) *regexp.Regexp {
	if name == "" {
		return nil
	}
	mentionCache.Lock()
	defer mentionCache.Unlock()
	if mentionCache.re == nil || mentionCache.name != name {
		mentionCache.name = name
		mentionCache.re = regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}_])(` + regexp.QuoteMeta(name) + `)($|[^\p{L}\p{N}_])`)
	}
	return mentionCache.re
}

// mentions reports whether text names name as a word, in any case.
func mentions(text, name string) bool {
	re := mentionRE(name)
	return re != nil && re.MatchString(text)
}

// highlight marks each mention of name in text (already sanitized) in
// reverse video.
func highlight(text, name string) string {
	re := mentionRE(name)
	if re == nil {
		return text
	}
	// Adjacent mentions share a boundary character, which the first pass
	// consumes: a second pass marks those (a marked name is preceded by
	// 'm', so it is not marked twice).
	for range 2 {
		text = re.ReplaceAllString(text, "${1}\x1b[7m${2}\x1b[27m${3}")
	}
	return text
}

// notifyWhy says why a node event calls for a notification: "direct",
// "mention", or "" for none.
func (s *session) notifyWhy(e peer.Event) string {
	if e.Kind != peer.EvMessage {
		return ""
	}
	if isDirect(e) {
		return "direct"
	}
	if mentions(e.Text, s.node.Name()) {
		return "mention"
	}
	return ""
}

// notify rings the bell (returned: the printer rings it with the message)
// and runs the notifier for event e, as why asks.
func (s *session) notify(e peer.Event, why string) (bell bool) {
	if why == "" || s.notifyOff {
		return false
	}
	if s.filter != nil && s.filter.focused() {
		return false // the user is looking at p2pchat
	}
	if s.cfg.Notify != "" {
		title, body := notifyText(e, why)
		s.runNotifier(title, body)
	}
	return s.cfg.Bell && s.cfg.Interactive
}

// notifyText is the title and body given to the notifier: one line each,
// no control or format characters, bounded, and not starting with '-'
// (which the notifier would take for an option).
func notifyText(e peer.Event, why string) (title, body string) {
	from := oneLine(e.Peer)
	text := e.Text
	if act, ok := actionText(text); ok {
		text = from + " " + act
	}
	if why == "direct" {
		title = "p2pchat: " + from + " (to you)"
	} else {
		title = "p2pchat: " + from + " mentioned you"
	}
	body = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, oneLine(text))
	if r := []rune(body); len(r) > notifyBodyRunes {
		body = string(r[:notifyBodyRunes-1]) + "…"
	}
	if strings.HasPrefix(body, "-") {
		body = " " + body
	}
	return title, body
}

// notifiers counts the notifier processes running.
var notifiers atomic.Int32

// runNotifier runs cfg.Notify TITLE BODY directly (no shell), in the
// background, its output discarded; at most maxNotifiers at once.
func (s *session) runNotifier(title, body string) {
	if notifiers.Add(1) > maxNotifiers {
		notifiers.Add(-1)
		s.log.Debug("shell: notifier skipped, too many running")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	cmd := exec.CommandContext(ctx, s.cfg.Notify, title, body)
	if err := cmd.Start(); err != nil {
		cancel()
		notifiers.Add(-1)
		if !s.notifyFailed {
			s.notifyFailed = true
			s.userError("-notify: cannot run " + s.cfg.Notify + ": " + err.Error())
		}
		return
	}
	go func() {
		defer notifiers.Add(-1)
		defer cancel()
		if err := cmd.Wait(); err != nil {
			s.log.Debug("shell: notifier", "util", s.cfg.Notify, "err", err)
		}
	}()
}

// setNotify is /notify on|off (or alone: the state).
func (s *session) setNotify(arg string) {
	switch strings.ToLower(arg) {
	case "on":
		s.notifyOff = false
	case "off":
		s.notifyOff = true
	case "":
	default:
		s.userError("usage: /notify on|off")
		return
	}
	what := "the bell"
	if s.cfg.Notify != "" {
		what = "the bell and " + s.cfg.Notify
	}
	switch {
	case s.notifyOff:
		s.info("notifications off")
	case s.filter != nil && s.filter.focused():
		s.info("notifications on, but not while this window has the focus (as now)")
	default:
		s.info("notifications on: direct messages and mentions of your name call " + what)
	}
}
