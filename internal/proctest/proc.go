// Package proctest runs real programs, p2pchat above all, for tests and
// for the benchmark harness: in a simulated laptop of an internal/testnet
// lab or, for loopback-only nodes, in the caller's namespace. It types
// lines on a program's stdin, reads its stdout as one JSON event per line
// (or keeps it as text), waits for events with deadlines (never by
// sleeping), signals and kills it, reports what it printed when something
// fails, and reads its memory and CPU use from /proc.
//
// Functions take a T, the part of testing.TB they use, so that a program
// outside "go test" (bench) can use them too.
package proctest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// T is what this package needs from its caller; testing.TB satisfies it.
// Fatalf must not return. Errorf may be called from any goroutine.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
	Cleanup(f func())
}

// Spec says what to start.
type Spec struct {
	Label string        // how reports name the process
	Host  *testnet.Host // where it runs; nil: the caller's namespace
	Path  string        // the program
	Args  []string
	Env   []string // added to this process's environment
	// Text keeps stdout as bytes (Proc.Stdout) instead of reading it as
	// JSON events.
	Text bool
	// StderrLimit bounds the stderr kept (its start); 0 keeps it all.
	StderrLimit int
}

// Proc is one running program.
type Proc struct {
	Name    string        // p2pchat's -name; "" for other programs
	Host    *testnet.Host // nil: the caller's namespace
	Home    string        // p2pchat's -home
	Args    []string      // the program's arguments
	Started time.Time     // just before it was started

	spec   Spec
	t      T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *Buffer // Text mode only
	stderr *Buffer

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced whenever events grows or the process ends
	done    chan struct{} // closed when the process has exited and stdout is drained
	exitErr error
	ready   Event
	gate    chan struct{} // non-nil while reading stdout is paused; closed to resume
}

// Start starts s. The process is killed in t.Cleanup if it still runs
// then; if the test failed, its report (events, stderr) is logged.
func Start(t T, s Spec) *Proc {
	t.Helper()
	p := &Proc{
		Host: s.Host, Args: s.Args, spec: s, t: t,
		stderr:  &Buffer{Limit: s.StderrLimit},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.Host != nil {
		p.cmd = s.Host.Command(context.Background(), s.Path, s.Args...)
	} else {
		p.cmd = exec.Command(s.Path, s.Args...)
	}
	if len(s.Env) > 0 {
		p.cmd.Env = append(os.Environ(), s.Env...)
	}
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	var stdout io.Reader
	if s.Text {
		p.stdout = &Buffer{}
		p.cmd.Stdout = p.stdout
	} else if stdout, err = p.cmd.StdoutPipe(); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	p.Started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", p, err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		p.ResumeReading()
		if !p.Exited() {
			p.cmd.Process.Signal(syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
			}
		}
		if t.Failed() {
			t.Logf("%s", p.Report())
		}
	})
	return p
}

func (p *Proc) String() string { return p.spec.Label }

// read collects stdout (JSON lines unless in Text mode) until it ends,
// then the exit status.
func (p *Proc) read(stdout io.Reader) {
	if stdout != nil {
		r := bufio.NewReaderSize(stdout, 64<<10)
		for {
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			if gate != nil {
				<-gate
			}
			line, err := r.ReadString('\n')
			if line = strings.TrimRight(line, "\r\n"); line != "" {
				e := parseEvent(line, time.Now())
				p.mu.Lock()
				e.Seq = len(p.events)
				p.events = append(p.events, e)
				close(p.changed)
				p.changed = make(chan struct{})
				p.mu.Unlock()
			}
			if err != nil {
				break
			}
		}
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exitErr = err
	close(p.done)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// Exited reports whether the process has ended (and its output is read).
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr is how the process ended (exec.Cmd.Wait's error: nil for exit
// status 0); nil while it runs.
func (p *Proc) ExitErr() error {
	if !p.Exited() {
		return nil
	}
	return p.exitErr
}

// Done is closed once the process has ended and its output is read.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Pid is the process id. Host.Command execs every step, so it is the
// program's own.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stdout is the text output (Spec.Text only; nil otherwise).
func (p *Proc) Stdout() *Buffer { return p.stdout }

// Stderr is the standard error output so far.
func (p *Proc) Stderr() *Buffer { return p.stderr }

// Send writes one line to the process's stdin. It reports a failure with
// Errorf, not Fatalf: it may be called from a test's goroutine.
func (p *Proc) Send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Errorf("%s: writing %q to stdin: %v\n%s", p, TrimForLog(line, 80), err, p.Report())
	}
}

// PauseReading stops reading the process's stdout (JSON mode): once the
// pipe is full the process blocks writing, as behind a reader that stopped
// reading. Lines already read stay in the event log; no new events come
// until ResumeReading. Kill, Term, Stop and the cleanup resume reading.
func (p *Proc) PauseReading() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

// ResumeReading reads stdout again after PauseReading; otherwise it does
// nothing.
func (p *Proc) ResumeReading() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

// CloseStdin closes the process's stdin (end of input).
func (p *Proc) CloseStdin() { p.stdin.Close() }

// Signal sends sig without waiting.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() { p.t.Helper(); p.signalAndWait(syscall.SIGKILL) }

// Term sends SIGTERM and waits (up to ExitTimeout) for the process to exit.
func (p *Proc) Term() { p.t.Helper(); p.signalAndWait(syscall.SIGTERM) }

func (p *Proc) signalAndWait(sig syscall.Signal) {
	p.t.Helper()
	p.ResumeReading() // a process blocked writing its output could not exit
	if !p.Exited() {
		p.cmd.Process.Signal(sig)
	}
	select {
	case <-p.done:
	case <-time.After(ExitTimeout):
		p.t.Errorf("%s did not exit within %v of %v\n%s", p, ExitTimeout, sig, p.Report())
	}
}

// Stop closes stdin (p2pchat and well-behaved helpers end on it) and kills
// the process if it has not exited after grace.
func (p *Proc) Stop(grace time.Duration) {
	p.t.Helper()
	p.ResumeReading()
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// ExitCode waits up to timeout for the process to exit on its own and
// returns its exit code (-1 if killed by a signal); it fails the test on
// timeout.
func (p *Proc) ExitCode(t T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v\n%s", p, timeout, p.Report())
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ExitCode()
	}
	if p.exitErr != nil {
		t.Fatalf("%s: %v", p, p.exitErr)
	}
	return 0
}

// Events returns a copy of all events so far.
func (p *Proc) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// Mark returns the sequence number the next event will get: pass it to
// WaitFrom to ignore what came before.
func (p *Proc) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Snapshot returns the events from Seq from on (not a copy: do not modify
// them), a channel closed when more come or the process ends, and whether
// it has ended.
func (p *Proc) Snapshot(from int) ([]Event, <-chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[min(from, len(p.events)):len(p.events):len(p.events)], p.changed, p.Exited()
}

// Wait returns the first event, since the process started, that matches;
// it waits up to timeout for one to come. On timeout, or if the process
// exits first, it fails the test showing every event seen and stderr.
func (p *Proc) Wait(t T, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	return p.WaitFrom(t, 0, timeout, match)
}

// WaitFrom is Wait, considering only events with Seq >= from.
func (p *Proc) WaitFrom(t T, from int, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	e, err := p.Await(from, timeout, match)
	if err != nil {
		t.Fatalf("%s: %v\n%s", p, err, p.Report())
	}
	return e
}

// Await is WaitFrom that returns an error instead of failing: the awaited
// event did not come within timeout, or the process exited first. match
// sees each event once, in order.
func (p *Proc) Await(from int, timeout time.Duration, match func(Event) bool) (Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := from
	for {
		evs, changed, exited := p.Snapshot(next)
		for _, e := range evs {
			if match(e) {
				return e, nil
			}
			next = e.Seq + 1
		}
		if exited {
			return Event{}, fmt.Errorf("exited (%v) before the awaited event came", p.exitErr)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return Event{}, fmt.Errorf("awaited event did not come within %v", timeout)
		}
	}
}

// WaitOutput waits until the text output from byte offset from on
// contains s (Spec.Text only).
func (p *Proc) WaitOutput(t T, from int, timeout time.Duration, s string) {
	t.Helper()
	if !p.stdout.WaitFor(from, timeout, p.done, func(b []byte) bool { return strings.Contains(string(b), s) }) {
		t.Fatalf("%s: %q not printed within %v\n%s", p, s, timeout, p.Report())
	}
}

// Report describes the process for failure messages: command, events (or
// text output), stderr, exit status.
func (p *Proc) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "---- %s: %s %s\n", p, p.spec.Path, strings.Join(p.Args, " "))
	if p.stdout != nil {
		fmt.Fprintf(&b, "---- stdout (quoted):\n%q\n", p.stdout.Bytes())
	} else {
		evs := p.Events()
		fmt.Fprintf(&b, "---- %d events:\n", len(evs))
		const maxShown = 120
		for i, e := range evs {
			if len(evs) > maxShown && i == maxShown/2 {
				fmt.Fprintf(&b, "  ... %d events left out ...\n", len(evs)-maxShown)
			}
			if len(evs) > maxShown && i >= maxShown/2 && i < len(evs)-maxShown/2 {
				continue
			}
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	se := p.stderr.String()
	if len(se) > 8000 {
		se = "...\n" + se[len(se)-8000:]
	}
	fmt.Fprintf(&b, "---- stderr:\n%s", se)
	if p.Exited() {
		fmt.Fprintf(&b, "---- exited: %v\n", p.exitErr)
	}
	return b.String()
}
