package main

import (
	"bytes"
	"errors"
	"flag"
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
				if len(o.peers) != 2 {
					t.Fatalf("peers = %v", o.peers)
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
