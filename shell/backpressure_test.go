package shell

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/p2pchat/p2pchat/peer"
)

// stallWriter blocks every Write until released, and says when the first
// Write arrived.
type stallWriter struct {
	entered chan int      // the size of the first Write, once
	release chan struct{} // closed: writes go through
	once    sync.Once
	mu      sync.Mutex
	got     strings.Builder
	maxLen  int
}

func newStallWriter() *stallWriter {
	return &stallWriter{entered: make(chan int, 1), release: make(chan struct{})}
}

func (w *stallWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { w.entered <- len(b) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.maxLen = max(w.maxLen, len(b))
	w.got.Write(b)
	return len(b), nil
}

// A reader that stops reading (a stalled terminal, a -json consumer that
// hangs) must stop the shell from taking events off the node, with at most
// maxBuffered bytes of output held, instead of the shell buffering
// everything the node hands it. The events are all queued before Run starts,
// so the shell is never idle: only the bound makes it write, and while that
// write blocks the shell takes no further event.
func TestStalledReaderStopsTheShell(t *testing.T) {
	t.Parallel() // its own fake node and writer
	const count = 1000
	text := strings.Repeat("x", 1000)
	for _, jsonMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonMode), func(t *testing.T) {
			t.Parallel() // its own fake node, writer and log
			n := newFakeNode(testPeers()...)
			n.events = make(chan peer.Event, count)
			for i := range count {
				n.events <- peer.Event{Kind: peer.EvMessage, Peer: "bob", PeerID: "k1", To: "all", Text: fmt.Sprintf("%04d%s", i, text), Time: at}
			}
			close(n.events) // Run returns once it has taken them all
			w := newStallWriter()
			inR, inW := io.Pipe() // input that never ends
			defer inW.Close()
			logFile := filepath.Join(t.TempDir(), "conversations.log")
			done := make(chan error, 1)
			go func() {
				done <- Run(context.Background(), Config{Node: n, In: inR, Out: w, JSON: jsonMode, LogFile: logFile})
			}()

			first := <-w.entered
			// The shell's loop is inside that Write now: what it has taken
			// off the channel so far cannot change until the write returns.
			taken := count - len(n.events)
			lineLen := len(text) + 100
			if limit := maxBuffered/len(text) + 2; taken > limit {
				t.Errorf("the shell took %d of %d events before its first write (at most %d fit in %d bytes)", taken, count, limit, maxBuffered)
			}
			if first > maxBuffered+lineLen {
				t.Errorf("first write of %d bytes, want at most %d", first, maxBuffered+lineLen)
			}
			t.Logf("stalled after %d events, first write %d bytes, %d events left with the node", taken, first, len(n.events))
			if len(n.events) == 0 {
				t.Fatal("the shell emptied the node's queue while its reader was stalled")
			}

			close(w.release)
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			w.mu.Lock()
			out, maxLen := w.got.String(), w.maxLen
			w.mu.Unlock()
			if lines := strings.Count(out, "\n"); lines != count {
				t.Errorf("%d lines written, want %d: nothing may be lost", lines, count)
			}
			if maxLen > maxBuffered+lineLen {
				t.Errorf("a write of %d bytes, want at most %d", maxLen, maxBuffered+lineLen)
			}
			for _, i := range []int{0, count / 2, count - 1} {
				if !strings.Contains(out, fmt.Sprintf("%04dxxx", i)) {
					t.Errorf("message %d missing from the output", i)
				}
			}
			hist, err := os.ReadFile(logFile)
			if err != nil || strings.Count(string(hist), "\n") != count {
				t.Errorf("history has %d lines (%v), want %d", strings.Count(string(hist), "\n"), err, count)
			}
		})
	}
}

// The history collects lines in memory between writes, never more than
// historyBatch bytes and one line.
func TestHistoryBufferIsBounded(t *testing.T) {
	l := newConvLog(filepath.Join(t.TempDir(), "conversations.log"))
	text := strings.Repeat("历", 3000)
	for i := range 200 {
		if err := l.add(at, "bob", "all", text); err != nil {
			t.Fatal(err)
		}
		l.mu.Lock()
		pending := l.pending.Len()
		l.mu.Unlock()
		if pending >= historyBatch+len(text)+100 {
			t.Fatalf("after %d lines %d bytes wait to be written, want below %d", i+1, pending, historyBatch+len(text)+100)
		}
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	got, err := l.last("", 1000)
	if err != nil || len(got) == 0 {
		t.Fatalf("last: %d lines, %v", len(got), err)
	}
}

// Lines held while the user types (systems where the prompt cannot be
// redrawn) are bounded too: at maxBuffered they are shown at once, in
// order, none lost.
func TestPrinterHeldIsBounded(t *testing.T) {
	var b strings.Builder
	p := newPrinter(&b, true, nil)
	p.live = false
	p.redraw = func() { t.Error("redraw called in held mode") }
	p.beginPrompt()
	const count = 200
	line := strings.Repeat("y", 1000)
	for i := range count {
		p.print(fmt.Sprintf("%04d%s", i, line), false)
		if p.heldBytes >= maxBuffered {
			t.Fatalf("after %d lines %d bytes are held, want below %d", i+1, p.heldBytes, maxBuffered)
		}
	}
	if b.Len() == 0 {
		t.Fatal("nothing shown while more than maxBuffered bytes arrived")
	}
	p.endPrompt()
	out := b.String()
	if n := strings.Count(out, "yyy\r\n"); n != count {
		t.Errorf("%d lines shown, want %d", n, count)
	}
	last := -1
	for i := range count {
		j := strings.Index(out, fmt.Sprintf("%04dyyy", i))
		if j <= last {
			t.Fatalf("line %d missing or out of order", i)
		}
		last = j
	}
}
