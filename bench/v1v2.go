package main

import (
	"bytes"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
)

// The v1v2 phase: the peer.Node library of wire version 2 (sessions on
// Noise IK, rekeyed) next to version 1's (one key per peer pair), in the
// same lab, in alternating rounds, on the same machine. Version 1 is this
// program as it was at the last commit before version 2 (the parent of
// the first commit whose internal/wire says Version = 2, as
// e2e/version_test.go finds it), exported with git archive and built: its
// node-recv and node-send roles are the same as this one's. Each version
// has its own receiver; the senders take turns.
//
// It also times one handshake's CPU (the node-handshakes role): fresh
// strangers' initiations opened by one responder, their answers opened
// by the initiators.

// buildV1Bench builds the bench program of the last commit before wire
// version 2 and returns its path and that commit.
func buildV1Bench() (bin, commit string) {
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", modRoot}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			tb.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	log := git("log", "--reverse", "--format=%H", "-G", "Version +byte = 2", "--", "internal/wire/wire.go")
	v2, _, _ := strings.Cut(log, "\n")
	if v2 == "" {
		tb.Fatalf("no commit in the git history makes internal/wire's Version 2")
	}
	commit = git("rev-parse", v2+"^")
	src := tempDir("v1src")
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", modRoot, commit, src)
	if out, err := archive.CombinedOutput(); err != nil {
		tb.Fatalf("git archive of %s: %v\n%s", commit, err, out)
	}
	bin = filepath.Join(tempDir("v1bin"), "bench-v1")
	build := exec.Command("go", "build", "-o", bin, "./bench")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build of the version-1 bench (%s): %v\n%s", commit, err, out)
	}
	return bin, commit
}

// startRoleOf is startRole with another build of this program.
func startRoleOf(exe string, h *testnet.Host, role string, args ...string) *proctest.Proc {
	return proctest.Start(tb, proctest.Spec{
		Label: role + " (" + filepath.Base(exe) + ") on " + h.IP.String(), Host: h,
		Path: exe, Args: append([]string{"-role=" + role}, args...), StderrLimit: stderrLimit,
	})
}

func phaseV1V2(r *report, sz sizes, _ string) {
	logf("building the version-1 bench program")
	v1exe, v1commit := buildV1Bench()
	logf("version 1: %s", v1commit[:12])
	lab := newLab(2)
	defer closeLab(lab)
	a, b := lab.Hosts[0], lab.Hosts[1]

	type version struct {
		name, exe, port, key string
		lats, thrs           []*roleStat
	}
	vs := []*version{
		{name: "version 1", exe: v1exe, port: "7301"},
		{name: "version 2", exe: selfExe, port: "7302"},
	}
	var recvs []*proctest.Proc
	for _, v := range vs {
		p := startRoleOf(v.exe, b, "node-recv", "-bind", ipStr(b), "-port", v.port)
		v.key = roleKey(waitReady(p))
		recvs = append(recvs, p)
	}
	perRound := sz.messages / sz.rounds
	window := sz.throughput / time.Duration(sz.rounds)
	port := func(v *version) int { n, _ := strconv.Atoi(v.port); return n }
	for round := 1; round <= sz.rounds; round++ {
		order := vs
		if round%2 == 0 {
			order = []*version{vs[1], vs[0]}
		}
		for _, v := range order {
			logf("round %d/%d: %s: latency, %d messages one at a time; throughput for %v", round, sz.rounds, v.name, perRound, window)
			v.lats = append(v.lats, result(startRoleOf(v.exe, a, "node-send", "-bind", ipStr(a), "-to", addr(b, port(v)), "-key", v.key,
				"-mode", "latency", "-n", strconv.Itoa(perRound)), 3*time.Minute))
			v.thrs = append(v.thrs, result(startRoleOf(v.exe, a, "node-send", "-bind", ipStr(a), "-to", addr(b, port(v)), "-key", v.key,
				"-mode", "throughput", "-dur", window.String()), window+time.Minute))
		}
	}
	for _, p := range recvs {
		p.Stop(10 * time.Second)
	}
	lat1, lat2 := mergeLatency(vs[0].lats), mergeLatency(vs[1].lats)
	thr1, thr2 := mergeRate(vs[0].thrs), mergeRate(vs[1].thrs)
	v1name := "version 1 (peer.Node of " + v1commit[:12] + ", the commit before wire version 2), same run"
	r.add(figure{
		Name: "message latency p50, version 2 against version 1", Impl: "peer.Node library (Send to EvDelivered), version 2",
		Value: lat2.P50, Unit: unitMicros, Floor: lat1.P50, FloorName: v1name,
		Goal: "<= 110% of version 1", Met: lat2.P50 <= 1.1*lat1.P50,
		Note: fmt.Sprintf("%d messages of %d bytes one at a time each, in %d rounds, versions alternating; p99 %s against %s; lost %d and %d",
			lat2.N, textLen, sz.rounds, fmtMicros(lat2.P99), fmtMicros(lat1.P99), lat2.Lost, lat1.Lost),
	})
	r.add(figure{
		Name: "throughput, acknowledged messages/s, version 2 against version 1", Impl: "peer.Node library, version 2",
		Value: thr2.Rate, Unit: unitRate, Floor: thr1.Rate, FloorName: v1name,
		Goal: ">= 90% of version 1", Met: thr2.Rate >= 0.9*thr1.Rate, Higher: true,
		Note: fmt.Sprintf("up to 512 messages queued (the node keeps 64 in flight); %d acknowledged in %.1f s against %d in %.1f s; %d and %d retransmissions",
			thr2.N, thr2.Secs, thr1.N, thr1.Secs, thr2.Retx, thr1.Retx),
	})

	n := 2000
	if r.quick {
		n = 500
	}
	logf("CPU of %d handshakes, one processor", n)
	hs := result(startRole(a, "node-handshakes", "-n", strconv.Itoa(n)), 2*time.Minute)
	r.add(figure{
		Name: "CPU per handshake (Noise IK, X25519), responder", Impl: "peer session layer, version 2",
		Value: hs.P50, Unit: unitMicros, Floor: -1, Goal: "stated", Stated: true,
		Note: fmt.Sprintf("%d initiations from fresh keys opened and answered by one responder on one processor: user+system CPU over the count; %s", hs.N, hs.Extra),
	})
	r.add(figure{
		Name: "CPU per handshake (Noise IK, X25519), initiator", Impl: "peer session layer, version 2",
		Value: hs.Mean, Unit: unitMicros, Floor: -1, Goal: "stated", Stated: true,
		Note: "making the initiation and opening the answer, per handshake, user+system CPU; version 1 had no handshake (one static key per peer pair, no per-session key exchange)",
	})

	// Floods of strangers' first packets, each version's own.
	flab := newLab(2)
	defer closeLab(flab)
	t, s := flab.Hosts[0], flab.Hosts[1]
	d := sz.attackWindow
	type flood struct {
		name      string
		idle, cpu float64
		note, pkt string
	}
	var floods []flood
	for _, v := range []struct {
		name, exe, pkt string
		typ, port      int
	}{
		{"version 1", v1exe, "hellos (sealed with the static keys, packet type 2)", 2, 7401},
		{"version 2", selfExe, "handshake initiations (Noise IK, packet type 3)", 3, 7402},
	} {
		logf("%s: capturing %d strangers' first packets", v.name, floodKeys)
		target, file := captureGreetings(v.exe, v.typ, t, s, v.port)
		logf("%s: target's CPU over %v unloaded, then over %v under %d of them a second", v.name, d, d, floodRate)
		idle, cpu, note := floodCPU(target, s, t, v.port, file, d)
		target.Stop(5 * time.Second)
		floods = append(floods, flood{v.name, idle, cpu, note, v.pkt})
	}
	f1, f2 := floods[0], floods[1]
	r.add(figure{
		Name: fmt.Sprintf("CPU under a flood of %d strangers' first packets a second, version 2 against version 1", floodRate),
		Impl: "peer.Node library (node-recv, one processor), version 2", Value: f2.cpu, Unit: unitPct,
		Floor: f1.cpu, FloorName: "version 1 under its own strangers' first packets at the same rate, same run",
		Goal: "stated", Stated: true,
		Note: fmt.Sprintf("version 2: %s: %s; %.1f%% of a core unloaded. Version 1: %s: %s; %.1f%% unloaded. The packets are real ones (%d nodes with fresh keys greeting the target's key, each one's first captured), replayed in turn from one laptop over a %v window",
			f2.pkt, f2.note, f2.idle, f1.pkt, f1.note, f1.idle, floodKeys, d),
	})
}

// roleNodeHandshakes times the session layer's handshakes on one
// processor: -n initiators with fresh keys (made before the clock starts)
// each start a handshake with one responder, the responder opens every
// initiation and answers, the initiators open the answers. It reports the
// responder's CPU per initiation as P50 and the initiator's (initiation
// plus answer) as Mean, both in µs (process CPU time, GC included).
func roleNodeHandshakes(args []string) {
	fs := flag.NewFlagSet("node-handshakes", flag.ExitOnError)
	n := fs.Int("n", 2000, "handshakes")
	fs.Parse(args)
	rid, err := peer.NewIdentity()
	if err != nil {
		fatalRole("%v", err)
	}
	resp := peer.NewSessionLayer(rid)
	inits := make([]*peer.SessionLayer, *n)
	for i := range inits {
		id, err := peer.NewIdentity()
		if err != nil {
			fatalRole("%v", err)
		}
		inits[i] = peer.NewSessionLayer(id)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			fatalRole("getrusage: %v", err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0 := cpu()
	pkts := make([][]byte, *n)
	for i, l := range inits {
		if pkts[i], err = l.Handshake(rid.Public); err != nil {
			fatalRole("handshake: %v", err)
		}
	}
	c1 := cpu()
	answers := make([][]byte, *n)
	for i, p := range pkts {
		_, _, send, err := resp.Open(p)
		if err != nil || len(send) != 1 {
			fatalRole("responder: initiation %d: %v (%d packets back, want 1)", i, err, len(send))
		}
		answers[i] = send[0]
	}
	c2 := cpu()
	established := 0
	for i, l := range inits {
		if _, _, _, err := l.Open(answers[i]); err != nil {
			fatalRole("initiator %d: opening the answer: %v", i, err)
		}
		if l.HasSession(rid.Public) {
			established++
		}
	}
	c3 := cpu()
	if established != *n {
		fatalRole("%d of %d handshakes made a session", established, *n)
	}
	per := func(d time.Duration) float64 { return us(d) / float64(*n) }
	emitResult(&roleStat{N: *n, P50: per(c2 - c1), Mean: per(c1-c0) + per(c3-c2),
		Extra: fmt.Sprintf("initiation %.0f µs, answer opened %.0f µs", per(c1-c0), per(c3-c2))})
}

func init() { roles["node-handshakes"] = roleNodeHandshakes }
