package shell

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Conversation history: every message sent or received is appended to a
// text file in the home directory, one line each:
//
//	2026-11-22 10:03:05<TAB>FROM<TAB>TO<TAB>TEXT
//
// TO is "all" for messages to everyone. Newlines and tabs in TEXT are
// written as \n and \t, backslashes as \\. The file is kept under
// maxHistoryBytes: past that its older half is dropped.
const (
	maxHistoryBytes = 1 << 20
	historyTime     = "2006-01-02 15:04:05"
	defaultHistoryN = 20
)

// convLog appends to and reads the history file; a nil *convLog does nothing.
// Lines are collected in memory and written together by flush, which the
// shell calls whenever it has nothing else to do: a burst of messages costs
// one write, not an open, write, stat and close each.
//
// Concurrency: path is immutable; mu guards pending and the file (add,
// flush and scan take it; ...Locked methods expect it held).
type convLog struct {
	mu      sync.Mutex
	path    string       // immutable
	pending bytes.Buffer // lines not yet written (mu)
}

// historyBatch is how much add collects before it writes on its own.
const historyBatch = 64 << 10

func newConvLog(path string) *convLog {
	if path == "" {
		return nil
	}
	return &convLog{path: path}
}

var historyEscaper = strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r", "\t", "\\t")
var historyUnescaper = strings.NewReplacer("\\\\", "\\", "\\n", "\n", "\\r", "\r", "\\t", "\t")

// add records one message; flush writes it. Errors (of a write add had to
// do itself) are returned for the caller to report once; the conversation
// goes on without history.
func (l *convLog) add(t time.Time, from, to, text string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.pending, "%s\t%s\t%s\t%s\n", t.Local().Format(historyTime),
		historyEscaper.Replace(from), historyEscaper.Replace(to), historyEscaper.Replace(text))
	if l.pending.Len() >= historyBatch {
		return l.writeLocked()
	}
	return nil
}

// flush writes the lines add collected.
func (l *convLog) flush() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeLocked()
}

// writeLocked appends the pending lines to the file and keeps it bounded (l.mu
// held). The file is opened for each write, so that it may be moved or
// removed while p2pchat runs. Lines that could not be written are dropped:
// the error is reported instead.
func (l *convLog) writeLocked() error {
	if l.pending.Len() == 0 {
		return nil
	}
	defer l.pending.Reset()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = f.Write(l.pending.Bytes())
	st, serr := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if serr == nil && st.Size() > maxHistoryBytes {
		return l.trimLocked()
	}
	return nil
}

// trimLocked keeps the newer half of the file (l.mu held).
func (l *convLog) trimLocked() error {
	data, err := os.ReadFile(l.path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	cut := len(data) / 2
	if i := bytes.IndexByte(data[cut:], '\n'); i >= 0 {
		cut += i + 1
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, data[cut:], 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return os.Rename(tmp, l.path)
}

// historyEntry is one line of the history file.
type historyEntry struct {
	when, from, to, text string
}

// last returns the last n entries involving name (any when name is "").
func (l *convLog) last(name string, n int) ([]historyEntry, error) {
	return l.scan(n, func(e historyEntry) bool { return name == "" || e.from == name || e.to == name })
}

// maxSearchResults is how many lines /search shows at most (the newest).
const maxSearchResults = 50

// search returns the last maxSearchResults entries whose text, sender or
// recipient holds query, in any case, oldest first.
func (l *convLog) search(query string) ([]historyEntry, error) {
	q := strings.ToLower(query)
	return l.scan(maxSearchResults, func(e historyEntry) bool {
		return strings.Contains(strings.ToLower(e.text), q) || strings.Contains(strings.ToLower(e.from), q) ||
			strings.Contains(strings.ToLower(e.to), q)
	})
}

// scan returns the last n entries that keep accepts, oldest first.
func (l *convLog) scan(n int, keep func(historyEntry) bool) ([]historyEntry, error) {
	if l == nil {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeLocked(); err != nil {
		return nil, err
	}
	f, err := os.Open(l.path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var out []historyEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), maxLine*2)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 4)
		if len(parts) != 4 {
			continue
		}
		e := historyEntry{parts[0], historyUnescaper.Replace(parts[1]), historyUnescaper.Replace(parts[2]), historyUnescaper.Replace(parts[3])}
		if !keep(e) {
			continue
		}
		out = append(out, e)
		if len(out) > n {
			out = out[1:]
		}
	}
	return out, sc.Err()
}
