package proctest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// Default deadlines for p2pchat. Generous: they bound failures, they do
// not pace anything.
const (
	ReadyTimeout = 15 * time.Second
	JoinTimeout  = 30 * time.Second // mDNS discovery
	MsgTimeout   = 10 * time.Second
	ExitTimeout  = 20 * time.Second
)

// Build builds p2pchat from the module in modRoot into dir and returns the
// binary's path. Tests and the benchmarks build it once per run.
func Build(modRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "p2pchat")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = modRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of p2pchat failed: %w\n%s", err, out)
	}
	return bin, nil
}

// P2PChat is a p2pchat process to start.
type P2PChat struct {
	Bin     string   // the binary (Build)
	Name    string   // -name
	Home    string   // -home: identity, pins, history
	Verbose bool     // -v: debug log on stderr
	Text    bool     // without -json: plain output, kept as text (Proc.Stdout)
	Args    []string // further flags
	// StderrLimit bounds the stderr kept (its start); 0 keeps it all.
	StderrLimit int
}

// Start runs `p2pchat [-json] [-v] -name NAME -home HOME args...` in h, or
// in the caller's namespace if h is nil, which the network rule allows
// only with -mdns=false and -bind 127.0.0.1 among the args: Start fails
// the test otherwise. It does not wait for the node to be ready.
func (c P2PChat) Start(t T, h *testnet.Host) *Proc {
	t.Helper()
	var args []string
	if !c.Text {
		args = append(args, "-json")
	}
	if c.Verbose {
		args = append(args, "-v")
	}
	args = append(args, "-name", c.Name, "-home", c.Home)
	args = append(args, c.Args...)
	where := "loopback"
	if h == nil {
		CheckLoopbackOnly(t, args)
	} else {
		where = h.Name + " " + h.IP.String()
		if !h.IP.IsValid() {
			where = h.Name + " IPv6 only"
		}
	}
	kind := "node"
	if c.Text {
		kind = "text node"
	}
	p := Start(t, Spec{
		Label: fmt.Sprintf("%s %q (%s)", kind, c.Name, where),
		Host:  h, Path: c.Bin, Args: args, Text: c.Text, StderrLimit: c.StderrLimit,
	})
	p.Name, p.Home = c.Name, c.Home
	return p
}

// CheckLoopbackOnly enforces the network rule: outside a lab, a node must
// not do discovery and must only use loopback.
func CheckLoopbackOnly(t T, args []string) {
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

// LoopbackArgs are the flags every node outside a lab must have, with its
// port and the ports of the peers it is told about.
func LoopbackArgs(port int, peers ...int) []string {
	a := []string{"-mdns=false", "-bind", "127.0.0.1", "-port", strconv.Itoa(port)}
	for _, pp := range peers {
		a = append(a, "-peer", "127.0.0.1:"+strconv.Itoa(pp))
	}
	return a
}

// WaitReady waits for the node's "ready" event and keeps it for Ready.
func (p *Proc) WaitReady(t T, timeout time.Duration) Event {
	t.Helper()
	e := p.Wait(t, timeout, IsKind("ready"))
	p.mu.Lock()
	p.ready = e
	p.mu.Unlock()
	return e
}

// Ready is the node's "ready" event, once WaitReady has seen it.
func (p *Proc) Ready() Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

// Peers sends /peers and returns the answer.
func (p *Proc) Peers(t T) []PeerEntry {
	t.Helper()
	m := p.Mark()
	p.Send("/peers")
	return p.WaitFrom(t, m, MsgTimeout, IsKind("peers")).Peers
}

// SendTo sends `/to name text` and returns the message ids from the "sent"
// answer.
func (p *Proc) SendTo(t T, name, text string) []Flex {
	t.Helper()
	m := p.Mark()
	p.Send("/to " + name + " " + text)
	e := p.WaitFrom(t, m, MsgTimeout, func(e Event) bool { return e.Event == "sent" || e.Event == "error" })
	if e.Event == "error" {
		t.Fatalf("%s: /to %s: error %q\n%s", p, name, e.Text, p.Report())
	}
	if e.To != name || len(e.IDs) == 0 {
		t.Fatalf("%s: /to %s answered %s", p, name, e)
	}
	return e.IDs
}

// WaitJoined waits until p has seen every one of names join.
func (p *Proc) WaitJoined(t T, names ...string) {
	t.Helper()
	for _, n := range names {
		p.Wait(t, JoinTimeout, IsJoined(n))
	}
}
