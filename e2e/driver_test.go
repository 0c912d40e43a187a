package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// binPath is the p2pchat binary under test; buildErr says why there is none.
var (
	binPath  string
	buildErr error
)

func TestMain(m *testing.M) {
	code := func() int {
		if p := os.Getenv("P2PCHAT_BIN"); p != "" {
			binPath = p
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "p2pchat-e2e-")
		if err != nil {
			buildErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "p2pchat")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build of p2pchat failed: %v\n%s", err, out)
		}
		return m.Run()
	}()
	os.Exit(code)
}

// needBinary fails the test if p2pchat could not be built.
func needBinary(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("no p2pchat binary to test: %v", buildErr)
	}
}

// Default deadlines. Generous: they bound failures, they do not pace tests.
const (
	readyTimeout = 15 * time.Second
	joinTimeout  = 30 * time.Second // mDNS discovery
	msgTimeout   = 10 * time.Second
	exitTimeout  = 20 * time.Second
)

// Flex is a JSON value that may be a number or a string (the "id" field is
// a string node id in "ready" and "peers" but a number message id in
// "delivered" and "failed"); it keeps the text form.
type Flex string

func (f *Flex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = Flex(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id %s is neither string nor number", b)
	}
	*f = Flex(n.String())
	return nil
}

// PeerEntry is one element of a "peers" event.
type PeerEntry struct {
	Name        string          `json:"name"`
	Nick        string          `json:"nick"`
	ID          Flex            `json:"id"`
	Addr        string          `json:"addr"`
	Transport   string          `json:"transport"`
	Via         string          `json:"via"`
	LastSeen    json.RawMessage `json:"last_seen"`
	Online      bool            `json:"online"`
	Pending     int             `json:"pending"`
	Fingerprint string          `json:"fingerprint"`
}

// Event is one line of p2pchat -json output. Fields not used by an event
// kind are zero. Lines that are not JSON objects are kept with Event == ""
// and Err set, so that they show up in failure reports.
type Event struct {
	Event  string          `json:"event"`
	Name   string          `json:"name"`
	ID     Flex            `json:"id"`
	Port   int             `json:"port"`
	Addr   string          `json:"addr"`
	Time   json.RawMessage `json:"time"`
	Reason string          `json:"reason"`
	From   string          `json:"from"`
	To     string          `json:"to"`
	Text   string          `json:"text"`
	IDs    []Flex          `json:"ids"`
	Peers  []PeerEntry     `json:"peers"`

	Raw string    `json:"-"` // the line as printed
	Err error     `json:"-"` // why the line did not decode
	Seq int       `json:"-"` // position in the Proc's event log, from 0
	At  time.Time `json:"-"` // when the driver read it
}

func (e Event) String() string {
	s := fmt.Sprintf("#%d %s %s", e.Seq, e.At.Format("15:04:05.000"), trimForLog(e.Raw, 300))
	if e.Err != nil {
		s += fmt.Sprintf(" [not JSON: %v]", e.Err)
	}
	return s
}

func trimForLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
}

// Matchers for Wait.

func IsKind(kind string) func(Event) bool {
	return func(e Event) bool { return e.Event == kind }
}

func IsJoined(name string) func(Event) bool {
	return func(e Event) bool { return e.Event == "joined" && e.Name == name }
}

func IsLeft(name, reason string) func(Event) bool {
	return func(e Event) bool { return e.Event == "left" && e.Name == name && e.Reason == reason }
}

// IsMessage matches a message from from to to ("all" or the receiver's
// name) with exactly text.
func IsMessage(from, to, text string) func(Event) bool {
	return func(e Event) bool {
		return e.Event == "message" && e.From == from && e.To == to && e.Text == text
	}
}

func IsDelivered(to string, id Flex) func(Event) bool {
	return func(e Event) bool { return e.Event == "delivered" && e.To == to && e.ID == id }
}

func IsSent(to string) func(Event) bool {
	return func(e Event) bool { return e.Event == "sent" && e.To == to }
}

// Proc is one running p2pchat -json process.
type Proc struct {
	Name string
	Host *testnet.Host // nil: the caller's namespace (loopback only)
	Home string
	Args []string

	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced whenever events grows or the process ends
	done    chan struct{} // closed when the process has exited and stdout is drained
	exitErr error
	ready   Event
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartNode runs `p2pchat -json -v -name NAME -home <t.TempDir()> extraArgs...`
// inside h's namespace and waits for its "ready" event. h == nil runs it in
// the caller's namespace, which is only allowed with -mdns=false and
// -bind 127.0.0.1 among extraArgs. The process is killed in t.Cleanup; if
// the test failed, its events and stderr are logged.
func StartNode(t testing.TB, h *testnet.Host, name string, extraArgs ...string) *Proc {
	t.Helper()
	p := launch(t, h, name, extraArgs...)
	p.ready = p.Wait(t, readyTimeout, IsKind("ready"))
	if p.ready.Name != name {
		t.Errorf("%s: ready event names %q", p, p.ready.Name)
	}
	return p
}

func launch(t testing.TB, h *testnet.Host, name string, extraArgs ...string) *Proc {
	t.Helper()
	needBinary(t)
	if h == nil {
		checkLoopbackOnly(t, extraArgs)
	}
	home := t.TempDir()
	args := append([]string{"-json", "-v", "-name", name, "-home", home}, extraArgs...)
	p := &Proc{
		Name: name, Host: h, Home: home, Args: args, t: t,
		stderr:  &syncBuffer{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if h != nil {
		p.cmd = h.Command(context.Background(), binPath, args...)
	} else {
		p.cmd = exec.Command(binPath, args...)
	}
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", p, err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		if !p.exited() {
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

// checkLoopbackOnly enforces the network rule: outside a lab, a node must
// not do discovery and must only use loopback.
func checkLoopbackOnly(t testing.TB, args []string) {
	t.Helper()
	if !slices.Contains(args, "-mdns=false") || !containsPair(args, "-bind", "127.0.0.1") {
		t.Fatalf("refusing to run p2pchat outside a test namespace without -mdns=false -bind 127.0.0.1 (args %q)", args)
	}
}

func containsPair(args []string, flag, value string) bool {
	for i, a := range args {
		if a == flag+"="+value || (a == flag && i+1 < len(args) && args[i+1] == value) {
			return true
		}
	}
	return false
}

func (p *Proc) String() string {
	where := "loopback"
	if p.Host != nil {
		where = p.Host.Name + " " + p.Host.IP.String()
	}
	return fmt.Sprintf("node %q (%s)", p.Name, where)
}

func (p *Proc) read(stdout io.Reader) {
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			var e Event
			if derr := json.Unmarshal([]byte(line), &e); derr != nil {
				e = Event{Err: derr}
			}
			e.Raw, e.At = line, time.Now()
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
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exitErr = err
	close(p.done)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

func (p *Proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Ready is the node's "ready" event.
func (p *Proc) Ready() Event { return p.ready }

// Send writes one command line to the node's stdin.
func (p *Proc) Send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		// Errorf, not Fatalf: Send may be called from a subtest's goroutine.
		p.t.Errorf("%s: writing %q to stdin: %v\n%s", p, trimForLog(line, 80), err, p.Report())
	}
}

// CloseStdin closes the node's stdin (end of input).
func (p *Proc) CloseStdin() { p.stdin.Close() }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() { p.signalAndWait(syscall.SIGKILL) }

// Term sends SIGTERM and waits (up to exitTimeout) for the process to exit.
func (p *Proc) Term() { p.signalAndWait(syscall.SIGTERM) }

func (p *Proc) signalAndWait(sig syscall.Signal) {
	p.t.Helper()
	if !p.exited() {
		p.cmd.Process.Signal(sig)
	}
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		p.t.Errorf("%s did not exit within %v of %v\n%s", p, exitTimeout, sig, p.Report())
	}
}

// ExitCode waits up to timeout for the process to exit on its own and
// returns its exit code (-1 if killed by a signal); it fails the test on
// timeout.
func (p *Proc) ExitCode(t testing.TB, timeout time.Duration) int {
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

// Wait returns the first event, since the node started, that matches; it
// waits up to timeout for one to come. On timeout, or if the node exits
// first, it fails the test showing every event seen and the node's stderr.
func (p *Proc) Wait(t testing.TB, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	return p.WaitFrom(t, 0, timeout, match)
}

// WaitFrom is Wait, considering only events with Seq >= from.
func (p *Proc) WaitFrom(t testing.TB, from int, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	e, ok, why := p.waitFrom(from, timeout, match)
	if !ok {
		t.Fatalf("%s: %s\n%s", p, why, p.Report())
	}
	return e
}

func (p *Proc) waitFrom(from int, timeout time.Duration, match func(Event) bool) (Event, bool, string) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := from
	for {
		p.mu.Lock()
		evs := p.events[min(next, len(p.events)):]
		changed := p.changed
		exited := p.exited()
		p.mu.Unlock()
		for _, e := range evs {
			if match(e) {
				return e, true, ""
			}
			next = e.Seq + 1
		}
		if exited {
			return Event{}, false, fmt.Sprintf("exited (%v) before the awaited event came", p.exitErr)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return Event{}, false, fmt.Sprintf("awaited event did not come within %v", timeout)
		}
	}
}

// Report describes the node for failure messages: command, events, stderr.
func (p *Proc) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "---- %s: %s %s\n", p, binPath, strings.Join(p.Args, " "))
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
	se := p.stderr.String()
	if len(se) > 8000 {
		se = "...\n" + se[len(se)-8000:]
	}
	fmt.Fprintf(&b, "---- stderr:\n%s", se)
	if p.exited() {
		fmt.Fprintf(&b, "---- exited: %v\n", p.exitErr)
	}
	return b.String()
}

// Peers sends /peers and returns the answer.
func (p *Proc) Peers(t testing.TB) []PeerEntry {
	t.Helper()
	m := p.Mark()
	p.Send("/peers")
	return p.WaitFrom(t, m, msgTimeout, IsKind("peers")).Peers
}

// SendTo sends `/to name text` and returns the message ids from the "sent"
// answer.
func (p *Proc) SendTo(t testing.TB, name, text string) []Flex {
	t.Helper()
	m := p.Mark()
	p.Send("/to " + name + " " + text)
	e := p.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "sent" || e.Event == "error" })
	if e.Event == "error" {
		t.Fatalf("%s: /to %s: error %q\n%s", p, name, e.Text, p.Report())
	}
	if e.To != name || len(e.IDs) == 0 {
		t.Fatalf("%s: /to %s answered %s", p, name, e)
	}
	return e.IDs
}

// WaitJoined waits until p has seen every one of names join.
func (p *Proc) WaitJoined(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		p.Wait(t, joinTimeout, IsJoined(n))
	}
}

// freePort returns a loopback port that is free for both UDP and TCP.
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port for both UDP and TCP")
	return 0
}

// loopbackArgs are the flags every node outside a lab must have.
func loopbackArgs(port int, peers ...int) []string {
	a := []string{"-mdns=false", "-bind", "127.0.0.1", "-port", strconv.Itoa(port)}
	for _, pp := range peers {
		a = append(a, "-peer", "127.0.0.1:"+strconv.Itoa(pp))
	}
	return a
}
