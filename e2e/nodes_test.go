package e2e

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The nodes under test are internal/proctest processes. Short names for
// what every test here uses:
type (
	Proc      = proctest.Proc
	Event     = proctest.Event
	Flex      = proctest.Flex
	PeerEntry = proctest.PeerEntry
)

var (
	IsKind      = proctest.IsKind
	IsJoined    = proctest.IsJoined
	IsLeft      = proctest.IsLeft
	IsMessage   = proctest.IsMessage
	IsDelivered = proctest.IsDelivered
	IsSent      = proctest.IsSent
	trimForLog  = proctest.TrimForLog
)

// Default deadlines. Generous: they bound failures, they do not pace tests.
const (
	readyTimeout = proctest.ReadyTimeout
	joinTimeout  = proctest.JoinTimeout // mDNS discovery
	msgTimeout   = proctest.MsgTimeout
	exitTimeout  = proctest.ExitTimeout
)

// port is the chat port every node in a lab uses (unless a test says
// otherwise).
const port = 7117

func peerAddr(h *testnet.Host) string {
	return netip.AddrPortFrom(h.IP, port).String()
}

// StartNode runs `p2pchat -json -v -name NAME -home <t.TempDir()> extraArgs...`
// inside h's namespace and waits for its "ready" event. h == nil runs it in
// the caller's namespace, which is only allowed with -mdns=false and
// -bind 127.0.0.1 among extraArgs. The process is killed in t.Cleanup; if
// the test failed, its events and stderr are logged.
func StartNode(t testing.TB, h *testnet.Host, name string, extraArgs ...string) *Proc {
	t.Helper()
	return startWithHome(t, h, name, t.TempDir(), extraArgs...)
}

// startWithHome is StartNode with the identity, pins and history in home,
// so that a node can be restarted as the same peer as before.
func startWithHome(t testing.TB, h *testnet.Host, name, home string, extraArgs ...string) *Proc {
	t.Helper()
	needBinary(t)
	p := proctest.P2PChat{Bin: binPath, Name: name, Home: home, Verbose: true, Args: extraArgs}.Start(t, h)
	if r := p.WaitReady(t, readyTimeout); r.Name != name {
		t.Errorf("%s: ready event names %q", p, r.Name)
	}
	return p
}

// startTextNode runs p2pchat without -json, its stdin a pipe: "plain"
// output, as a person running it in a script or `| tee` would see it
// (Proc.Stdout).
func startTextNode(t testing.TB, h *testnet.Host, name string, extraArgs ...string) *Proc {
	t.Helper()
	needBinary(t)
	return proctest.P2PChat{Bin: binPath, Name: name, Home: t.TempDir(), Text: true, Args: extraArgs}.Start(t, h)
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
var loopbackArgs = proctest.LoopbackArgs
