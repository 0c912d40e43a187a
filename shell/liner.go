package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/peterh/liner"
)

// errPromptAborted is Ctrl-C at the prompt: clear the line, carry on.
var errPromptAborted = liner.ErrPromptAborted

// maxHistoryLine keeps huge pasted lines out of the history file (liner
// refuses to read back lines over 4 KB, and they are no use to recall).
const maxHistoryLine = 2000

func terminalSupported() bool { return liner.TerminalSupported() }

// runLiner is interactive mode: liner reads lines with editing, history
// and completion in its own goroutine while the session loop prints events.
// liner reads a pipe that the input filter (paste.go) fills from the
// terminal, so that a paste, a focus report or Ctrl-Z never reach it raw.
//
// liner's Prompt cannot be interrupted, so on ctx cancellation Run closes
// the liner state (restoring the terminal) and returns while the input
// goroutine stays blocked in Prompt; if the user still presses Enter before
// the process exits, that goroutine restores the terminal once more and
// ends.
func (s *session) runLiner(ctx context.Context) (err error) {
	// liner reads os.Stdin, as it is when NewLiner runs: give it a pipe
	// that the input filter (paste.go) writes what the terminal sends to.
	// (On Windows liner reads the console itself: no filter there.)
	var filt *inputFilter
	var st *liner.State
	if filterTerminal {
		pr, pw, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("shell: input pipe: %w", err)
		}
		// pr stays open: closing it would end the Prompt still blocked in
		// the input goroutine, which then puts liner's raw mode back after
		// Run restored the terminal.
		susp := newSuspender(os.Stdout)
		defer susp.close()
		stdin := os.Stdin
		os.Stdin = pr
		st = liner.NewLiner()
		os.Stdin = stdin
		filt = newInputFilter(pw)
		filt.onBig = func(n int) {
			s.userError(fmt.Sprintf("paste of %d bytes dropped: more than p2pchat holds (%d MiB); save it to a file and /send it", n, maxPaste>>20))
		}
		if susp != nil {
			filt.onSusp = susp.suspend
		}
		s.filter = filt
		go filt.run(s.cfg.In)
		defer filt.stop(s.cfg.In)
		io.WriteString(s.cfg.Out, termModesOn)
		defer io.WriteString(s.cfg.Out, termModesOff) // after the printer's last line
	} else {
		st = liner.NewLiner()
	}
	defer func() {
		s.saveHistory(st)
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("shell: restoring terminal: %w", cerr)
		}
	}()
	st.SetCtrlCAborts(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	st.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		return complete(line, pos, s.peerNames())
	})
	s.loadHistory(st)

	prompts := make(chan prompt, 1)
	lines := make(chan input)
	done := make(chan struct{})
	defer s.pr.close()
	defer close(done) // runs before pr.close and st.Close
	go func() {
		for {
			var p prompt
			select {
			case p = <-prompts:
			case <-done:
				return
			}
			s.pr.beginPrompt()
			line, err := st.PromptWithSuggestion(p.text, p.suggest, -1)
			if errors.Is(err, liner.ErrInvalidPrompt) {
				line, err = st.Prompt("> ") // cannot happen: promptSafe
			}
			s.pr.endPrompt()
			text, pasted := filt.expand(line)
			if err == nil && !pasted && strings.TrimSpace(line) != "" && len(line) <= maxHistoryLine {
				st.AppendHistory(line)
			}
			select {
			case lines <- input{line: text, err: err, pasted: pasted || text != line}:
			case <-done:
				st.Close() // Run has returned: undo what this Prompt re-applied
				return
			}
		}
	}()
	next := func() {
		prompts <- prompt{text: s.prompt(), suggest: s.suggest}
		s.suggest = ""
	}
	next()
	return s.loop(ctx, lines, next)
}

// prompt is what the next prompt shows, and text put on it ready to edit.
type prompt struct {
	text, suggest string
}

// peerNames lists the names tab completion offers.
func (s *session) peerNames() []string {
	var names []string
	for _, p := range s.node.Peers() {
		names = append(names, p.Name)
	}
	return names
}

// loadHistory reads the history file, if any. A missing or unreadable file
// is not an error the user needs to see.
func (s *session) loadHistory(st *liner.State) {
	if s.cfg.HistoryFile == "" {
		return
	}
	f, err := os.Open(s.cfg.HistoryFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Debug("shell: reading history", "err", err)
		}
		return
	}
	defer f.Close()
	if _, err := st.ReadHistory(f); err != nil {
		s.log.Debug("shell: reading history", "file", s.cfg.HistoryFile, "err", err)
	}
}

// saveHistory writes the history (at most liner.HistoryLimit lines) to the
// history file, readable by the user only: it holds what they wrote.
// It writes a temporary file and renames it, so a crash never leaves half
// a history.
func (s *session) saveHistory(st *liner.State) {
	if s.cfg.HistoryFile == "" {
		return
	}
	dir := filepath.Dir(s.cfg.HistoryFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.log.Debug("shell: saving history", "err", err)
		return
	}
	f, err := os.CreateTemp(dir, ".history-*")
	if err != nil {
		s.log.Debug("shell: saving history", "err", err)
		return
	}
	_, werr := st.WriteHistory(f)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		s.log.Debug("shell: saving history", "err", errors.Join(werr, cerr))
		return
	}
	if err := os.Rename(f.Name(), s.cfg.HistoryFile); err != nil {
		os.Remove(f.Name())
		s.log.Debug("shell: saving history", "err", err)
	}
}

// complete is the tab completion: command words at the start of the line,
// peer names after /to, /msg, /w, /whois, /trust and /send, and paths
// after /send NAME (pathcomplete.go). pos counts runes, as liner passes it.
func complete(line string, pos int, names []string) (head string, completions []string, tail string) {
	r := []rune(line)
	if pos < 0 || pos > len(r) {
		pos = len(r)
	}
	before, tail := string(r[:pos]), string(r[pos:])
	if args, ok := sendPaths(before); ok {
		start, list := completePaths(args)
		return before[:len(before)-len(args)+start], list, tail
	}
	start := strings.LastIndexFunc(before, unicode.IsSpace) + 1
	head, word := before[:start], before[start:]
	if head == "" {
		if !strings.HasPrefix(word, "/") {
			return head, nil, tail
		}
		for _, c := range commandWords {
			if strings.HasPrefix(c, strings.ToLower(word)) {
				completions = append(completions, c+" ")
			}
		}
		return head, completions, tail
	}
	fields := strings.Fields(head)
	if len(fields) != 1 {
		return head, nil, tail
	}
	switch strings.ToLower(fields[0]) {
	case "/to", "/msg", "/w", "/whois", "/trust", "/send", "/ignore", "/unignore":
	default:
		return head, nil, tail
	}
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), strings.ToLower(word)) {
			completions = append(completions, n+" ")
		}
	}
	return head, completions, tail
}

// sendPaths reports whether before (the line up to the cursor) is at the
// paths of "/send NAME PATH...", and returns what follows the name.
func sendPaths(before string) (string, bool) {
	cmd, rest := cutSpace(before)
	if !strings.EqualFold(cmd, "/send") {
		return "", false
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	name, args := cutSpace(rest)
	if name == "" || len(name) == len(rest) {
		return "", false // still at the name
	}
	return args, true
}
