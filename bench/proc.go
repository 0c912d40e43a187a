package main

import (
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The programs this one runs in the lab are internal/proctest processes:
// p2pchat -json, and this program re-executed with -role=..., whose roles
// print the same kind of JSON lines ("ready", "delivered", "result").

// stderrLimit bounds the stderr kept of each process (its start).
const stderrLimit = 1 << 20

// startP2P starts p2pchat -json in h with a fresh home; it does not wait
// for "ready" (start-up is one of the figures).
func startP2P(h *testnet.Host, name string, extra ...string) *proctest.Proc {
	return proctest.P2PChat{
		Bin: p2pBin, Name: name, Home: tempDir("home-" + name), Args: extra, StderrLimit: stderrLimit,
	}.Start(tb, h)
}

// startRole re-executes this program in h with -role=role.
func startRole(h *testnet.Host, role string, args ...string) *proctest.Proc {
	return proctest.Start(tb, proctest.Spec{
		Label: role + " on " + h.IP.String(), Host: h,
		Path: selfExe, Args: append([]string{"-role=" + role}, args...), StderrLimit: stderrLimit,
	})
}

// must waits for the first event from Seq from on that matches, and fails
// the run (naming what was awaited, with the process's output) if none
// comes within timeout.
func must(p *proctest.Proc, from int, timeout time.Duration, what string, match func(proctest.Event) bool) proctest.Event {
	e, err := p.Await(from, timeout, match)
	if err != nil {
		tb.Fatalf("%s: no %s: %v\n%s", p, what, err, p.Report())
	}
	return e
}

// waitReady waits for a process's "ready" line.
func waitReady(p *proctest.Proc) proctest.Event {
	return must(p, 0, readyTimeout, "ready", proctest.IsKind("ready"))
}

// roleKey is the public key (hex) a node-recv role prints in "ready".
func roleKey(e proctest.Event) string {
	var v struct {
		Key string `json:"key"`
	}
	if err := e.Decode(&v); err != nil || v.Key == "" {
		tb.Fatalf("ready line without a key: %s (%v)", e.Raw, err)
	}
	return v.Key
}

// result waits for a role's "result" line.
func result(p *proctest.Proc, timeout time.Duration) *roleStat {
	e := must(p, 0, timeout, "result", proctest.IsKind("result"))
	var v struct {
		Result *roleStat `json:"result"`
	}
	if err := e.Decode(&v); err != nil || v.Result == nil {
		tb.Fatalf("%s: result without figures: %s (%v)", p, e.Raw, err)
	}
	return v.Result
}

// procfs returns v, or fails the run if reading /proc failed.
func procfs[V any](v V, err error) V {
	if err != nil {
		tb.Fatalf("reading /proc: %v", err)
	}
	return v
}
