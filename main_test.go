package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/peer"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string // substring of what the user sees; "" = accepted
	}{
		{[]string{"-name", "小明", "-port", "0", "-peer", "10.0.0.5:7117", "-peer", "10.0.0.6"}, ""},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus (see p2pchat -h)"},
		{[]string{"-port", "x"}, "invalid value"},
		{[]string{"-port", "70000"}, "must be between 0 and 65535"},
		{[]string{"-name", "a b"}, "contains a space"},
		{[]string{"-name", "bob@home"}, "may not contain '@'"},
		{[]string{"-name", strings.Repeat("x", 33)}, "at most 32"},
		{[]string{"-bind", "localhost"}, "not an IPv4 address"},
		{[]string{"-bind", "::1"}, "not an IPv4 address"},
		{[]string{"-peer", "10.0.0.5:99999"}, "bad port"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"-notify", "no-such-notifier-p2pchat"}, `-notify: exec: "no-such-notifier-p2pchat": executable file not found`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v %s", err, stderr.String())
				}
				if len(o.peers) != 2 || len(o.peerAddrs) != 2 {
					t.Fatalf("peers = %v, resolved %v", o.peers, o.peerAddrs)
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("err %v, stderr %q, want %q", err, stderr.String(), tt.wantErr)
			}
			if lines := strings.Count(stderr.String(), "\n"); lines != 1 {
				t.Errorf("a bad flag should give one line, got %d:\n%s", lines, stderr.String())
			}
		})
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	var stderr bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, f := range []string{"-name", "-port", "-home", "-iface", "-peer", "-tcp", "-json", "-v", "-mdns", "-bind", "-bell", "-notify", "-version", "Exit status"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("-h does not mention %s", f)
		}
	}
}

func TestResolvePeer(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.5:7000": "10.0.0.5:7000", "10.0.0.5": "10.0.0.5:7117", "127.0.0.1:1": "127.0.0.1:1",
		"[fe80::1%eth0]:7000": "[fe80::1%eth0]:7000", "fe80::1%wlan0": "[fe80::1%wlan0]:7117", "[2001:db8::5]:7117": "[2001:db8::5]:7117",
		"2001:db8::5": "[2001:db8::5]:7117", "[::ffff:10.0.0.5]:7000": "10.0.0.5:7000"} {
		got, err := resolvePeer(in)
		if err != nil || got.String() != want {
			t.Errorf("resolvePeer(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	// A link-local address means nothing without its interface.
	if got, err := resolvePeer("[fe80::1]:7117"); err == nil || !strings.Contains(err.Error(), "%eth0") {
		t.Errorf("resolvePeer of a link-local address without a zone = %v, %v; want an error naming the form", got, err)
	}
}

// startMemNode starts a node on the in-memory network (no sockets).
func startMemNode(t *testing.T, mn *peer.MemNet, name string) (*peer.Node, *peer.Identity, *peer.MemTransport) {
	t.Helper()
	id, err := peer.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	tr := mn.Listen()
	n, err := peer.New(peer.Config{Name: name, Host: "host-" + name, Identity: id}, tr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range n.Events() {
		}
	}()
	t.Cleanup(func() { n.Close() })
	return n, id, tr
}

// A script's first command may name a peer discovery has not found yet:
// Resolve (which the shell calls for /to NAME) waits for it; a message to
// everyone waits for someone. Both go through the id the shell then uses.
func TestScriptWaitsForPeers(t *testing.T) {
	mn := peer.NewMemNet(1)
	alice, _, _ := startMemNode(t, mn, "alice")
	bob, bobID, bobTr := startMemNode(t, mn, "bob")
	a := &app{Node: alice, patient: true, started: time.Now()}
	if _, err := alice.Resolve("bob"); !errors.Is(err, peer.ErrUnknownPeer) {
		t.Fatalf("bob known before he was introduced: %v", err)
	}
	type result struct {
		p   peer.PeerInfo
		err error
	}
	resolved, sent := make(chan result, 1), make(chan error, 1)
	go func() {
		p, err := a.Resolve("bob") // bob is not known yet: this waits
		resolved <- result{p, err}
		_, err = a.Send("", "hello all")
		sent <- err
	}()
	alice.Discovered(bobID.Public, bobTr.Addr()) // the hello exchange takes several hops
	r := <-resolved
	if r.err != nil || r.p.Name != "bob" || r.p.ID != bob.ID() {
		t.Fatalf("Resolve(bob) = %+v, %v; want bob with id %s", r.p, r.err, bob.ID())
	}
	if err := <-sent; err != nil {
		t.Fatalf("Send to everyone: %v", err)
	}
	if _, err := a.Send(r.p.ID, "hi bob"); err != nil {
		t.Fatalf("Send by id: %v", err)
	}
	// A name that never appears: Resolve gives up at the grace deadline.
	a.started = time.Now().Add(-graceTime)
	if _, err := a.Resolve("nobody"); !errors.Is(err, peer.ErrUnknownPeer) {
		t.Errorf("Resolve(nobody) = %v, want ErrUnknownPeer", err)
	}
}

// TestCICommandIsREADMEs: .ci/run runs the test command README.md gives,
// and both set go test's timeout: its default of 10 minutes per package is
// too short for e2e on a loaded machine.
func TestCICommandIsREADMEs(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	var fromREADME, fromCI string
	for _, l := range strings.Split(string(readme), "\n") {
		if c := strings.TrimSpace(l); strings.HasPrefix(l, "    go test ") && fromREADME == "" {
			fromREADME = c
		}
	}
	for _, l := range strings.Split(string(ci), "\n") {
		if strings.HasPrefix(l, "go test -race") {
			fromCI = strings.TrimSpace(l)
		}
	}
	if fromREADME == "" || fromREADME != fromCI {
		t.Fatalf("README.md's test command %q, .ci/run's %q: they must be the same", fromREADME, fromCI)
	}
	if !strings.Contains(fromCI, " -timeout ") {
		t.Fatalf("the test command %q sets no -timeout: go test's default (10 min per package) is too short for e2e", fromCI)
	}
	if !strings.Contains(string(readme), "`"+fromCI+"` runs:") {
		t.Errorf("README.md's Tests section does not quote the command %q", fromCI)
	}
}

// TestPeerFlagResolvedOnce: a -peer host name is resolved once, when the
// flags are read, and that address is the one probed: a second lookup
// failing (DNS gone a moment later) must not replace it with nothing.
func TestPeerFlagResolvedOnce(t *testing.T) {
	// The "peer": a UDP socket on loopback that records what reaches it.
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	lookups := 0
	lookupIP = func(host string) ([]net.IP, error) {
		lookups++
		if lookups > 1 {
			return nil, fmt.Errorf("lookup %s: no answer (DNS is down now)", host)
		}
		return []net.IP{net.IPv4(127, 0, 0, 1)}, nil
	}
	defer func() { lookupIP = net.LookupIP }()

	in, feed, err := os.Pipe() // a script's standard input, held open until the peer was probed
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-name", "probe", "-home", dir, "-downloads", dir, "-store=false", "-mdns=false",
			"-bind", "127.0.0.1", "-port", "0", "-json",
			"-peer", fmt.Sprintf("peerhost.invalid:%d", pc.LocalAddr().(*net.UDPAddr).Port)}, in, &stdout, &stderr)
	}()
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	_, _, rerr := pc.ReadFromUDP(buf)
	feed.Close() // end of input: p2pchat quits
	code := <-done
	if rerr != nil {
		t.Fatalf("the -peer address was never probed (%v); %d lookups; stderr: %s", rerr, lookups, stderr.String())
	}
	if code != exitOK {
		t.Errorf("exit %d, stderr: %s", code, stderr.String())
	}
	if lookups != 1 {
		t.Errorf("-peer resolved %d times, want once", lookups)
	}
}
