package shell

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// printer is the only way the shell writes to the user. Its mutex orders
// event lines, command results and the prompt redraw request, so two lines
// never interleave and a line never lands in the middle of the prompt.
//
// Three situations:
//   - plain output (pipe, file, -json, or no terminal): lines end in "\n",
//     and are buffered until flush (the shell flushes whenever it has
//     nothing else to do), so that a burst of lines is one write.
//   - terminal, no prompt active: lines end in "\r\n" (liner keeps the
//     terminal half-raw between prompts, so be explicit).
//   - terminal while liner prompts: liner cannot print for us (its issue
//     #46), so on Unix we erase the prompt line, print, and ask liner to
//     redraw prompt and typed text by sending ourselves SIGWINCH
//     (printer_unix.go). Where that does not work (Windows) lines are held
//     and shown after the user presses Enter; the next prompt shows how
//     many are waiting.
//
// Nothing here grows without bound: plain output is written out whenever
// maxBuffered bytes are waiting, and held lines are shown at once (above
// the prompt, which then redraws at the next key) when they reach it. So a
// reader that stops reading blocks print, and with it the shell's loop: it
// stops taking events from the node, which then stops acknowledging
// (backpressure) instead of the shell's memory growing.
//
// Concurrency: out, term, live, redraw and mark are immutable after
// newPrinter; mu guards every other field. The command loop, the prompt
// goroutine (beginPrompt, endPrompt) and the input filter's goroutine
// print. mark is called with mu held, so it must not print. Methods named
// ...Locked expect mu held.
type printer struct {
	mu        sync.Mutex
	out       io.Writer
	term      bool   // out is the terminal liner prompts on
	live      bool   // redraw works: print at once while prompting
	redraw    func() // makes liner redraw its prompt line
	prompting bool   // liner's Prompt is (about to be) running
	held      []string
	heldBytes int
	closed    bool
	buf       bytes.Buffer // plain output waiting for flush
	inline    bool         // a status line is on the current line (no prompt), without its newline
	above     bool         // the line above the prompt is a status line

	// Message lines carry the node's inbox index (peer.Event.Idx): the
	// highest one buffered, held, and marked (reported to mark, the
	// node's Shown, right after the write that put it out).
	bufIdx, heldIdx, marked uint64
	mark                    func(idx uint64)
}

// maxBuffered bounds what the printer keeps before it writes: plain output
// and lines held while the user types.
const maxBuffered = 64 << 10

// newPrinter prints to out; mark (may be nil) is told the inbox index of
// the last message line each write put out, right after that write.
func newPrinter(out io.Writer, term bool, mark func(uint64)) *printer {
	return &printer{out: out, term: term, live: canRedraw, redraw: redrawPrompt, mark: mark}
}

// flush writes what plain output buffered.
func (p *printer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeBufLocked()
}

// writeBufLocked writes the buffered plain output, then at once marks its
// messages shown (p.mu held). A kill -9 while the write is under way (the
// kernel finishes it, the mark never comes) is the one way a message is
// shown twice: the next run shows that batch again. writeNow keeps the
// time between the two to that (printer_linux.go).
func (p *printer) writeBufLocked() {
	if p.buf.Len() == 0 {
		return
	}
	err := writeNow(p.out, p.buf.Bytes())
	p.buf.Reset()
	if err == nil {
		p.marksLocked(p.bufIdx)
	}
}

// marksLocked reports that the message lines up to idx are out (p.mu held).
func (p *printer) marksLocked(idx uint64) {
	if idx > p.marked && p.mark != nil {
		p.marked = idx
		p.mark(idx)
	}
}

// skip records that the message with inbox index idx is handled without
// being shown (an ignored peer's): it is marked shown with the lines
// before it, never before them.
func (p *printer) skip(idx uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || idx == 0 {
		return
	}
	switch {
	case !p.term:
		if p.buf.Len() == 0 {
			p.marksLocked(idx)
		} else {
			p.bufIdx = max(p.bufIdx, idx)
		}
	case !p.prompting || p.live || len(p.held) == 0:
		p.marksLocked(idx)
	default:
		p.heldIdx = max(p.heldIdx, idx)
	}
}

// print writes text, which may hold several lines separated by "\n".
// bell rings the terminal bell with it.
func (p *printer) print(text string, bell bool) { p.printMsg(text, bell, 0) }

// printMsg is print for a message with inbox index idx (0: none).
func (p *printer) printMsg(text string, bell bool, idx uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	lines := strings.Split(text, "\n")
	if p.term {
		if p.inline {
			io.WriteString(p.out, "\r\x1b[2K") // the status line gives way
			p.inline = false
		}
		p.above = false
	}
	switch {
	case !p.term:
		if p.buf.Len()+len(text)+1 > maxBuffered {
			p.writeBufLocked() // (blocks while the reader does not read)
		}
		p.buf.WriteString(strings.Join(lines, "\n") + "\n")
		p.bufIdx = max(p.bufIdx, idx)
	case !p.prompting:
		if _, err := io.WriteString(p.out, strings.Join(lines, "\r\n")+"\r\n"+bellString(bell)); err == nil {
			p.marksLocked(idx)
		}
	case p.live:
		// Erase the prompt line, print above it; liner redraws the prompt
		// and the half-typed text on the new line when it sees SIGWINCH.
		if _, err := io.WriteString(p.out, "\r\x1b[2K"+strings.Join(lines, "\r\n")+"\r\n"+bellString(bell)); err == nil {
			p.marksLocked(idx)
		}
		p.redraw()
	default:
		p.held = append(p.held, lines...)
		p.heldBytes += len(text) + 1
		p.heldIdx = max(p.heldIdx, idx)
		if bell {
			io.WriteString(p.out, "\a")
		}
		if p.heldBytes >= maxBuffered {
			// Too much to keep: show it now, over the prompt line.
			if _, err := io.WriteString(p.out, "\r\n"+strings.Join(p.held, "\r\n")+"\r\n"); err == nil {
				p.marksLocked(p.heldIdx)
			}
			p.held, p.heldBytes = nil, 0
		}
	}
}

func bellString(bell bool) string {
	if bell {
		return "\a"
	}
	return ""
}

// status shows a line that replaces itself (transfer progress) on a
// terminal: without a prompt on the current line, while liner prompts just
// above the prompt, overwriting the previous status line if nothing was
// printed since. Elsewhere (plain output, held mode) it shows nothing.
func (p *printer) status(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.term {
		return
	}
	switch {
	case !p.prompting:
		io.WriteString(p.out, "\r\x1b[2K"+line)
		p.inline = true
	case p.live:
		up := ""
		if p.above {
			up = "\x1b[1A\r\x1b[2K" // back onto the previous status line
		}
		io.WriteString(p.out, "\r\x1b[2K"+up+line+"\r\n")
		p.above = true
		p.redraw()
	}
}

// beginPrompt is called just before liner's Prompt.
func (p *printer) beginPrompt() {
	p.mu.Lock()
	p.prompting = true
	if p.inline { // the status line stays, above the prompt
		io.WriteString(p.out, "\r\n")
		p.inline, p.above = false, true
	}
	p.mu.Unlock()
}

// endPrompt is called when Prompt has returned; it shows held lines.
func (p *printer) endPrompt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompting = false
	p.above = false // Enter moved the screen on: the prompt line is above now
	if len(p.held) > 0 && !p.closed {
		if _, err := io.WriteString(p.out, strings.Join(p.held, "\r\n")+"\r\n"); err == nil {
			p.marksLocked(p.heldIdx)
		}
	}
	p.held, p.heldBytes = nil, 0
}

// heldCount is the number of lines waiting for the prompt to end.
func (p *printer) heldCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}

// close drops everything printed from now on: Run has returned. If a
// prompt is still on the screen (ctx was cancelled while the user typed),
// it ends that line so what main prints next starts on a line of its own.
func (p *printer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.writeBufLocked()
	if p.term && p.prompting {
		io.WriteString(p.out, "\r\n")
	}
}
