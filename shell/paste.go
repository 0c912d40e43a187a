package shell

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/p2pchat/p2pchat/peer"
)

// Bracketed paste and focus reports.
//
// liner reads the terminal one key at a time and ends the line at the
// first '\n' or '\r', so a pasted block would go out line by line. The
// shell therefore asks the terminal to mark pastes (ESC[?2004h: a paste
// comes as ESC[200~ ... ESC[201~) and to report focus (ESC[?1004h: ESC[I
// when the window gains it, ESC[O when it loses it), and puts an
// inputFilter between the terminal and liner: liner reads a pipe the
// filter writes. The filter passes keys through, keeps the focus state,
// and turns a paste into something liner can edit on one line:
//
//   - a short paste (at most pasteInlineLines lines and pasteInlineBytes
//     bytes, no control characters but line breaks) is typed in, each line
//     break as the character lineBreak (␤);
//   - a longer one, or one with tabs or other control characters, is
//     typed in as a summary such as "[pasted 12 lines]" and kept aside.
//
// When the user presses Enter, expand puts the line breaks and the kept
// pastes back: the line is one message with its line breaks. Alt-Enter
// (ESC CR) types a line break by hand.

// filterTerminal: the shell reads the terminal through an inputFilter.
// Not on Windows, where liner reads console events itself.
const filterTerminal = runtime.GOOS != "windows"

const (
	// lineBreak stands for a line break in the line being edited.
	lineBreak = '␤'
	// pasteInlineLines and pasteInlineBytes bound a paste shown in the line.
	pasteInlineLines = 5
	pasteInlineBytes = 400
	// maxPaste is the largest paste kept (a larger one is dropped, and
	// the user told): it can be saved as a file, not sent as a message.
	maxPaste = 16 << 20
	// maxKeptPastes is how many summarised pastes wait for Enter at most
	// (the oldest is forgotten first).
	maxKeptPastes = 16
	// escWait is how long an escape sequence may take to arrive whole;
	// a lone ESC is passed on after it.
	escWait = 50 * time.Millisecond
)

// Terminal modes the interactive shell turns on, and off at the end and
// while suspended.
const (
	termModesOn  = "\x1b[?2004h\x1b[?1004h"
	termModesOff = "\x1b[?2004l\x1b[?1004l"
)

// pasteEnd closes a bracketed paste (it opens with ESC [ 200 ~).
var pasteEnd = []byte("\x1b[201~")

// termItem is one thing read from the terminal: keys to pass on, a whole
// paste, or a focus report.
type termItem struct {
	keys  []byte
	paste *string
	focus int // 1: focus in, 2: focus out
	big   int // a paste over maxPaste was dropped: its size
}

// termParser splits what the terminal sends into termItems. It is used by
// one goroutine (the filter's).
type termParser struct {
	esc     []byte // an escape sequence begun, not yet complete
	inPaste bool
	paste   []byte
	over    int // bytes of a paste beyond maxPaste (then paste is dropped)
}

// feed parses b and returns what is complete.
func (p *termParser) feed(b []byte) []termItem {
	var items []termItem
	var keys []byte
	flushKeys := func() {
		if len(keys) > 0 {
			items = append(items, termItem{keys: keys})
			keys = nil
		}
	}
	for len(b) > 0 {
		if p.inPaste {
			b = p.feedPaste(b, &items)
			continue
		}
		c := b[0]
		b = b[1:]
		if len(p.esc) == 0 {
			if c == 0x1b {
				p.esc = append(p.esc, c)
			} else {
				keys = append(keys, c)
			}
			continue
		}
		p.esc = append(p.esc, c)
		done, item := p.escape()
		if !done {
			continue
		}
		if item.keys != nil {
			keys = append(keys, item.keys...)
			continue
		}
		flushKeys()
		if item.focus != 0 {
			items = append(items, item)
		}
		// else: paste start, p.inPaste set
	}
	flushKeys()
	return items
}

// escape looks at the escape sequence begun in p.esc: whether it is
// complete, and what it is (keys to pass on, a focus report, or the start
// of a paste).
func (p *termParser) escape() (bool, termItem) {
	e := p.esc
	if len(e) == 2 {
		switch e[1] {
		case '[':
			return false, termItem{}
		case '\r', '\n': // Alt-Enter: a line break typed by hand
			p.esc = nil
			return true, termItem{keys: []byte(string(lineBreak))}
		default: // Alt-key, ESC O x...: liner's business
			p.esc = nil
			return true, termItem{keys: e}
		}
	}
	last := e[len(e)-1]
	if last >= 0x40 && last <= 0x7e { // CSI final byte
		p.esc = nil
		switch string(e) {
		case "\x1b[200~":
			p.inPaste, p.paste, p.over = true, nil, 0
			return true, termItem{}
		case "\x1b[I":
			return true, termItem{focus: 1}
		case "\x1b[O":
			return true, termItem{focus: 2}
		case "\x1b[201~": // end of a paste never begun
			return true, termItem{keys: []byte{}}
		}
		return true, termItem{keys: e}
	}
	if len(e) > 32 || last < 0x20 { // not a CSI sequence after all
		p.esc = nil
		return true, termItem{keys: e}
	}
	return false, termItem{}
}

// feedPaste adds b to the paste until its end marker, and returns what
// follows the marker.
func (p *termParser) feedPaste(b []byte, items *[]termItem) []byte {
	// The marker may be split between reads: look in the tail kept so far
	// and b together.
	keep := min(len(p.paste), len(pasteEnd)-1)
	joined := append(append([]byte(nil), p.paste[len(p.paste)-keep:]...), b...)
	i := bytes.Index(joined, pasteEnd)
	if i < 0 {
		p.addPaste(b)
		return nil
	}
	// The marker starts at i in joined, i-keep in b (negative: in the tail).
	cut := i - keep
	if cut >= 0 {
		p.addPaste(b[:cut])
	} else {
		p.paste = p.paste[:len(p.paste)+cut]
	}
	rest := b[cut+len(pasteEnd):]
	p.inPaste = false
	if p.over > 0 {
		*items = append(*items, termItem{big: len(p.paste) + p.over})
	} else {
		s := string(p.paste)
		*items = append(*items, termItem{paste: &s})
	}
	p.paste, p.over = nil, 0
	return rest
}

func (p *termParser) addPaste(b []byte) {
	if p.over > 0 || len(p.paste)+len(b) > maxPaste {
		p.over += len(b)
		return
	}
	p.paste = append(p.paste, b...)
}

// timeout is called when nothing more came escWait after an unfinished
// escape sequence: it was keys (a lone ESC, or Alt-[).
func (p *termParser) timeout() []termItem {
	if len(p.esc) == 0 {
		return nil
	}
	e := p.esc
	p.esc = nil
	return []termItem{{keys: e}}
}

// keptPaste is a summarised paste waiting for Enter.
type keptPaste struct {
	summary string
	text    string
}

// inputFilter reads the terminal, writes keys to liner's pipe and keeps
// pastes and the focus state.
type inputFilter struct {
	out      io.Writer          // liner's pipe
	onFocus  func(focused bool) // called on focus reports (filter goroutine)
	onBig    func(n int)        // a paste over maxPaste was dropped (filter goroutine)
	onSusp   func()             // Ctrl-Z typed (filter goroutine); nil: passed to liner
	focus    atomic.Int32       // 0: unknown, 1: focused, 2: not
	mu       sync.Mutex         // guards kept
	kept     []keptPaste        // summarised pastes, oldest first
	parser   termParser         // filter goroutine only
	readDone chan struct{}      // closed when the input ends
	stopped  atomic.Bool        // stop was called: the input's end is not liner's
}

// newInputFilter makes a filter writing to out.
func newInputFilter(out io.Writer) *inputFilter {
	return &inputFilter{out: out, readDone: make(chan struct{})}
}

// run copies in to the pipe through the parser until in ends or fails,
// then closes the pipe if it is an io.Closer.
func (f *inputFilter) run(in io.Reader) {
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 4096)
			n, err := in.Read(buf)
			if n > 0 {
				chunks <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	defer close(f.readDone)
	if c, ok := f.out.(io.Closer); ok {
		defer func() {
			if !f.stopped.Load() { // the terminal's input ended: liner sees EOF
				c.Close()
			}
		}()
	}
	for {
		var timer <-chan time.Time
		if len(f.parser.esc) > 0 {
			timer = time.After(escWait)
		}
		var items []termItem
		select {
		case b, ok := <-chunks:
			if !ok {
				items = f.parser.timeout()
				if f.deliver(items) != nil {
					return
				}
				return
			}
			items = f.parser.feed(b)
		case <-timer:
			items = f.parser.timeout()
		}
		if f.deliver(items) != nil {
			return
		}
	}
}

// stop makes run stop reading in, when in can be interrupted (a file in
// Go's poller, as main's standard input is), so that keys typed while
// p2pchat finishes are left for the shell that comes next. liner's pipe
// stays open: a Prompt still blocked on it must not end (it would put
// raw mode back after Run restored the terminal).
func (f *inputFilter) stop(in io.Reader) {
	f.stopped.Store(true)
	if d, ok := in.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Now())
	}
}

// deliver acts on parsed items.
func (f *inputFilter) deliver(items []termItem) error {
	for _, it := range items {
		switch {
		case it.focus != 0:
			f.focus.Store(int32(it.focus))
			if f.onFocus != nil {
				f.onFocus(it.focus == 1)
			}
		case it.big > 0:
			if f.onBig != nil {
				f.onBig(it.big)
			}
		case it.paste != nil:
			if _, err := io.WriteString(f.out, f.pasted(*it.paste)); err != nil {
				return err
			}
		default:
			keys := it.keys
			if f.onSusp != nil {
				for {
					i := bytes.IndexByte(keys, 0x1a) // Ctrl-Z
					if i < 0 {
						break
					}
					if _, err := f.out.Write(keys[:i]); err != nil {
						return err
					}
					f.onSusp()
					keys = keys[i+1:]
				}
			}
			if _, err := f.out.Write(keys); err != nil {
				return err
			}
		}
	}
	return nil
}

// focused reports whether the terminal said it has the focus (false when
// it never said, or there is no filter).
func (f *inputFilter) focused() bool { return f != nil && f.focus.Load() == 1 }

// pasted turns a paste into what liner is given to edit: the text with its
// line breaks as lineBreak, or a summary kept aside for expand.
func (f *inputFilter) pasted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return ""
	}
	lines := strings.Count(text, "\n") + 1
	if lines <= pasteInlineLines && len(text) <= pasteInlineBytes && !strings.ContainsFunc(text, func(r rune) bool {
		return r != '\n' && (unicode.IsControl(r) || r == lineBreak)
	}) {
		return strings.ReplaceAll(text, "\n", string(lineBreak))
	}
	summary := fmt.Sprintf("[pasted %d lines]", lines)
	if lines == 1 {
		summary = fmt.Sprintf("[pasted %d bytes]", len(text))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.kept) == maxKeptPastes {
		f.kept = f.kept[1:]
	}
	f.kept = append(f.kept, keptPaste{summary: summary, text: text})
	return summary
}

// expand turns a line liner returned into the text meant: lineBreak
// becomes a line break, and each kept paste whose summary is in the line
// replaces it and is forgotten (matched newest paste to last summary, so
// that a summary deleted by hand leaves an older paste unused, not
// misplaced). pasted reports whether a kept paste was put back.
func (f *inputFilter) expand(line string) (text string, pasted bool) {
	line = strings.ReplaceAll(line, string(lineBreak), "\n")
	if f == nil {
		return line, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var tail []string // pieces after the part not yet searched, last first
	rest := line
	var left []keptPaste
	for i := len(f.kept) - 1; i >= 0; i-- {
		k := f.kept[i]
		j := strings.LastIndex(rest, k.summary)
		if j < 0 {
			left = append([]keptPaste{k}, left...)
			continue
		}
		tail = append(tail, rest[j+len(k.summary):], k.text)
		rest = rest[:j]
		pasted = true
	}
	var b strings.Builder
	b.WriteString(rest)
	for i := len(tail) - 1; i >= 0; i-- {
		b.WriteString(tail[i])
	}
	f.kept = left
	return b.String(), pasted
}

// pasteTooLong handles a pasted message longer than a message can hold:
// it is saved as a text file (readable by the user only) and the user is
// offered /send of it to name ("" = the user must say to whom), on the
// next prompt, ready to edit.
func (s *session) pasteTooLong(text, name string) {
	dir := os.TempDir()
	if s.cfg.LogFile != "" {
		dir = filepath.Join(filepath.Dir(s.cfg.LogFile), "pastes")
	}
	path, err := savePaste(dir, text, s.now())
	if err != nil {
		s.userError(fmt.Sprintf("message too long: %d bytes, at most %d; nothing sent, and the paste could not be saved as a file: %v", len(text), peer.MaxTextBytes, err))
		return
	}
	s.userError(fmt.Sprintf("message too long: %d bytes, at most %d; nothing sent. The paste is saved as %s: send it as a file with /send NAME %s", len(text), peer.MaxTextBytes, path, sendArg(path)))
	if name != "" && s.cfg.Interactive {
		s.suggest = "/send " + name + " " + sendArg(path)
		s.info("press Enter to send it to " + name + " as a file")
	}
}

// savePaste writes text to a new file in dir and returns its path.
func savePaste(dir, text string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "paste-"+now.Format("20060102-150405")+"-*.txt")
	if err != nil {
		return "", fmt.Errorf("creating the file: %w", err)
	}
	_, werr := f.WriteString(text + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing %s: %w", f.Name(), werr)
	}
	return f.Name(), nil
}

// sendArg quotes a path for /send when it needs it.
func sendArg(p string) string {
	if !strings.ContainsAny(p, " \t\"'\\") {
		return p
	}
	q, _ := quotePath(p, '"')
	return q
}
