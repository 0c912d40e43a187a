package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// event is one JSON line printed by a p2pchat -json process or by one of
// this program's roles. Fields not used by an event kind stay zero.
type event struct {
	Event string          `json:"event"`
	Name  string          `json:"name"`
	ID    json.RawMessage `json:"id"` // string in "ready", number in "delivered"
	Port  int             `json:"port"`
	To    string          `json:"to"`
	From  string          `json:"from"`
	Text  string          `json:"text"`
	IDs   []uint64        `json:"ids"`

	// roles
	Key    string    `json:"key"`
	Result *roleStat `json:"result"`

	At  time.Time `json:"-"` // when it was read
	Seq int       `json:"-"`
}

// proc is a running program in a lab host (p2pchat or a role of this
// program) that prints one JSON object per line.
type proc struct {
	label   string
	home    string // p2pchat's -home
	host    *testnet.Host
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *syncBuffer
	started time.Time

	mu      sync.Mutex
	events  []event
	changed chan struct{}
	done    chan struct{}
	exitErr error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // bounded: keep the start
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs name args... in h (via testnet's ip netns exec + unshare
// chain, which execs so that the pid is the program's). The process is
// killed by cleanupAll if still running.
func start(h *testnet.Host, label, name string, args ...string) *proc {
	p := &proc{label: label, host: h, stderr: &syncBuffer{}, changed: make(chan struct{}), done: make(chan struct{})}
	p.cmd = h.Command(context.Background(), name, args...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		tb.Fatalf("%s: %v", label, err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("%s: %v", label, err)
	}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("%s: start: %v", label, err)
	}
	go p.read(stdout)
	atCleanup(p.kill)
	return p
}

// p2pchat starts the p2pchat binary with -json and a fresh home.
func startP2P(h *testnet.Host, name string, extra ...string) *proc {
	home := tempDir("home-" + name)
	args := append([]string{"-json", "-name", name, "-home", home}, extra...)
	p := start(h, "p2pchat "+name+" on "+h.IP.String(), p2pBin, args...)
	p.home = home
	return p
}

// startRole re-executes this program in h with -role=role.
func startRole(h *testnet.Host, role string, args ...string) *proc {
	return start(h, role+" on "+h.IP.String(), selfExe, append([]string{"-role=" + role}, args...)...)
}

func (p *proc) read(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			var e event
			if json.Unmarshal(line, &e) != nil {
				e = event{Event: "?", Text: string(line)}
			}
			e.At = time.Now()
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

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// mark is the Seq the next event will get.
func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// snapshot returns the events from Seq from on, and a channel closed when
// more come.
func (p *proc) snapshot(from int) ([]event, chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[min(from, len(p.events)):], p.changed, p.exited()
}

// waitFrom returns the first event with Seq >= from that matches, waiting
// up to timeout; ok is false on timeout or exit.
func (p *proc) waitFrom(from int, timeout time.Duration, match func(*event) bool) (event, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := from
	for {
		evs, changed, exited := p.snapshot(next)
		for i := range evs {
			if match(&evs[i]) {
				return evs[i], true
			}
			next = evs[i].Seq + 1
		}
		if exited {
			return event{}, false
		}
		select {
		case <-changed:
		case <-deadline.C:
			return event{}, false
		}
	}
}

// must is waitFrom that fails the run (with the process's output) on timeout.
func (p *proc) must(from int, timeout time.Duration, what string, match func(*event) bool) event {
	e, ok := p.waitFrom(from, timeout, match)
	if !ok {
		tb.Fatalf("%s: no %s within %v\n%s", p.label, what, timeout, p.report())
	}
	return e
}

func isKind(k string) func(*event) bool { return func(e *event) bool { return e.Event == k } }

// send writes one line to the process's stdin.
func (p *proc) send(line string) {
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		tb.Fatalf("%s: write stdin: %v\n%s", p.label, err, p.report())
	}
}

// kill SIGKILLs the process and waits (briefly) for it.
func (p *proc) kill() {
	if !p.exited() && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// stop closes stdin (roles and p2pchat end on it), then kills after grace.
func (p *proc) stop(grace time.Duration) {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// result waits for a role's "result" line.
func (p *proc) result(timeout time.Duration) *roleStat {
	e := p.must(0, timeout, "result", isKind("result"))
	if e.Result == nil {
		tb.Fatalf("%s: result without figures: %s", p.label, e.Text)
	}
	return e.Result
}

func (p *proc) report() string {
	var b strings.Builder
	p.mu.Lock()
	evs := p.events
	p.mu.Unlock()
	fmt.Fprintf(&b, "---- %s: %d events; last ones:\n", p.label, len(evs))
	for _, e := range evs[max(0, len(evs)-15):] {
		fmt.Fprintf(&b, "  %s %s %s %s %s\n", e.At.Format("15:04:05.000"), e.Event, e.Name, e.To, e.Text)
	}
	se := p.stderr.String()
	if len(se) > 4000 {
		se = "..." + se[len(se)-4000:]
	}
	fmt.Fprintf(&b, "---- stderr:\n%s", se)
	return b.String()
}

// rssKB is VmRSS of pid in KiB, from /proc/PID/status.
func rssKB(pid int) int64 {
	return statusField(pid, "VmRSS:")
}

func statusField(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// runNS is the CPU time of pid's threads in ns, from
// /proc/PID/task/*/schedstat (finer than the 10 ms ticks of cpuTime; threads
// that ended are not counted).
func runNS(pid int) time.Duration {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		tb.Fatalf("read /proc/%d/task: %v", pid, err)
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc (100 on Linux).
const clockTicks = 100

// cpuTime is utime+stime of pid, from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatalf("read /proc/%d/stat: %v", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		tb.Fatalf("/proc/%d/stat: too short", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * time.Second / clockTicks
}
