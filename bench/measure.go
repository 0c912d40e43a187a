package main

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/peer"
)

// sizes are the counts and windows of one run.
type sizes struct {
	messages     int           // latency: messages one at a time
	throughput   time.Duration // throughput window
	rounds       int           // latency and throughput are split into rounds, kinds alternating
	nodes        int           // LAN size for discovery and fan-out
	fanRounds    int           // /all rounds
	mdnsWarm     time.Duration // run time before the mDNS window opens
	mdnsWindow   time.Duration // mDNS counting window
	settle       time.Duration // before reading memory
	idleWindow   time.Duration // CPU window
	startups     int           // process starts timed
	memPeers     int           // peers for the memory figure
	fileBytes    int64         // file-transfer phase: the file's size
	fileRounds   int           // file-transfer rounds (raw copy and p2pchat alternating)
	attackWindow time.Duration // attack phase: each measuring window (unloaded, then attacked)
	wifiBytes    int64         // files phase: the file sent over the Wi-Fi-rate links
	benchtime    string        // go test -benchtime
	watchdog     time.Duration // the whole run ends after this
}

var fullSizes = sizes{
	messages: 10000, throughput: 10 * time.Second, rounds: 5, nodes: 20, fanRounds: 50,
	mdnsWarm: 60 * time.Second, mdnsWindow: 2 * time.Minute,
	settle: 10 * time.Second, idleWindow: time.Minute, startups: 10, memPeers: 50,
	fileBytes: 1 << 30, fileRounds: 3, attackWindow: 10 * time.Second, wifiBytes: 1 << 30,
	benchtime: "1s", watchdog: 30 * time.Minute,
}

var quickSizes = sizes{
	messages: 1000, throughput: 2 * time.Second, rounds: 2, nodes: 10, fanRounds: 10,
	mdnsWarm: 5 * time.Second, mdnsWindow: 20 * time.Second,
	settle: 3 * time.Second, idleWindow: 10 * time.Second, startups: 3, memPeers: 50,
	fileBytes: 256 << 20, fileRounds: 2, attackWindow: 5 * time.Second, wifiBytes: 32 << 20,
	benchtime: "100ms", watchdog: 8 * time.Minute,
}

// Timeouts bound waits; they do not pace anything.
const (
	readyTimeout = 15 * time.Second
	joinTimeout  = 30 * time.Second
	msgTimeout   = 5 * time.Second
	chatPort     = peer.DefaultPort
)

func ipStr(h *testnet.Host) string { return h.IP.String() }
func addr(h *testnet.Host, port int) string {
	return netip.AddrPortFrom(h.IP, uint16(port)).String()
}

// sizeArgs adds the measured datagram sizes to a raw role's arguments.
func sizeArgs(args ...string) []string {
	return append(args, "-size", strconv.Itoa(msgSize), "-ack", strconv.Itoa(ackSize))
}

// timeStartups starts count processes one after another and times start
// to their first "ready" line.
func timeStartups(count int, mk func(i int) *proctest.Proc) *roleStat {
	var samples []time.Duration
	for i := 0; i < count; i++ {
		p := mk(i)
		e := waitReady(p)
		samples = append(samples, e.At.Sub(p.Started))
		p.Kill()
	}
	return summarize(samples)
}

// waitJoined waits until p has seen every name in want join (events from
// Seq from on) and returns when the last one came.
func waitJoined(p *proctest.Proc, from int, want []string, deadline time.Time) time.Time {
	need := map[string]bool{}
	for _, w := range want {
		need[w] = true
	}
	seen := map[string]bool{}
	e := must(p, from, time.Until(deadline), fmt.Sprintf("joined events for all of %d peers", len(want)), func(e proctest.Event) bool {
		if e.Event == "joined" && need[e.Name] {
			seen[e.Name] = true
		}
		return len(seen) == len(need)
	})
	return e.At
}

// phasePair: two hosts. Start-up, latency and throughput, raw and p2pchat.
func phasePair(r *report, sz sizes, profDir string) {
	lab := newLab(2)
	defer closeLab(lab)
	a, b := lab.Hosts[0], lab.Hosts[1]

	logf("start-up: %d starts each of a do-nothing Go program and of p2pchat", sz.startups)
	floorStart := timeStartups(sz.startups, func(int) *proctest.Proc { return startRole(a, "ready") })
	p2pStart := timeStartups(sz.startups, func(i int) *proctest.Proc { return startP2P(a, "s"+strconv.Itoa(i)) })
	r.add(figure{
		Name: "start-up (process start to first -json \"ready\"), median", Impl: "p2pchat process",
		Value: p2pStart.P50, Unit: unitMicros, Floor: floorStart.P50,
		FloorName: "do-nothing Go program started the same way (ip netns exec, unshare, sh)",
		Goal:      "<= 100 ms", Met: p2pStart.P50 <= 100e3,
		Note: fmt.Sprintf("%d starts, each with a fresh -home (the key is generated); max %s (floor max %s)",
			p2pStart.N, fmtMicros(p2pStart.Max), fmtMicros(floorStart.Max)),
	})

	echo := startRole(b, "udp-echo", sizeArgs("-bind", ipStr(b), "-port", "9000")...)
	waitReady(echo)
	defer echo.Stop(time.Second)

	// peer.Node library over real UDP.
	recvArgs := []string{"-bind", ipStr(b), "-port", "7300"}
	if profDir != "" {
		recvArgs = append(recvArgs, "-cpuprofile", filepath.Join(profDir, "node-recv.pprof"))
	}
	recv := startRole(b, "node-recv", recvArgs...)
	key := roleKey(waitReady(recv))

	// Real p2pchat processes, driven through stdin, timed on stdout.
	pa, pb := startP2P(a, "a"), startP2P(b, "b")
	waitReady(pa)
	waitReady(pb)
	waitJoined(pa, 0, []string{"b"}, time.Now().Add(joinTimeout))
	waitJoined(pb, 0, []string{"a"}, time.Now().Add(joinTimeout))
	m := pa.Mark()
	pa.Send("/to b warm-up")
	must(pa, m, 2*gatherTime+msgTimeout, "delivered warm-up", proctest.IsKind("delivered"))
	// The same, keeping messages in memory only (-store=false): what the
	// process figures were before messages were kept on disk.
	ma, mb := startP2P(a, "am", "-store=false", "-port", "7119"), startP2P(b, "bm", "-store=false", "-port", "7119")
	waitReady(ma)
	waitReady(mb)
	waitJoined(ma, 0, []string{"bm"}, time.Now().Add(joinTimeout))
	m = ma.Mark()
	ma.Send("/to bm warm-up")
	must(ma, m, 2*gatherTime+msgTimeout, "delivered warm-up", proctest.IsKind("delivered"))
	// The process figures' own floor: the same pipes, the same datagrams.
	pipe := startRole(a, "pipe-udp", sizeArgs("-bind", ipStr(a), "-to", addr(b, 9000))...)
	waitReady(pipe)
	defer pipe.Stop(time.Second)

	// The machine's speed drifts (other tenants, CPU frequency): each
	// figure and its floor are measured in alternating rounds, so that a
	// slow stretch weighs on all of them alike.
	perRound := sz.messages / sz.rounds
	window := sz.throughput / time.Duration(sz.rounds)
	var raws, nodeLats, procLats, pipeLats, rawWins, nodeThrs, procThrs, pipeThrs, memLats, memThrs []*roleStat
	for round := 1; round <= sz.rounds; round++ {
		logf("round %d/%d: latency, %d messages one at a time each: raw UDP, peer.Node, p2pchat process, piped raw UDP", round, sz.rounds, perRound)
		raws = append(raws, result(startRole(a, "udp-rtt", sizeArgs("-bind", ipStr(a), "-to", addr(b, 9000), "-n", strconv.Itoa(perRound))...), 3*time.Minute))
		nodeLats = append(nodeLats, result(startRole(a, "node-send", "-bind", ipStr(a), "-to", addr(b, 7300), "-key", key,
			"-mode", "latency", "-n", strconv.Itoa(perRound)), 3*time.Minute))
		procLats = append(procLats, procLatency(pa, "b", perRound))
		memLats = append(memLats, procLatency(ma, "bm", perRound))
		pipeLats = append(pipeLats, procLatency(pipe, "b", perRound))

		logf("round %d/%d: throughput, %v each: raw windowed sender, peer.Node, p2pchat process, piped raw sender", round, sz.rounds, window)
		rawWins = append(rawWins, result(startRole(a, "udp-window", sizeArgs("-bind", ipStr(a), "-to", addr(b, 9000), "-dur", window.String())...), window+time.Minute))
		sendArgs := []string{"-bind", ipStr(a), "-to", addr(b, 7300), "-key", key, "-mode", "throughput", "-dur", window.String()}
		if profDir != "" && round == 1 {
			sendArgs = append(sendArgs, "-cpuprofile", filepath.Join(profDir, "node-send.pprof"))
		}
		nodeThrs = append(nodeThrs, result(startRole(a, "node-send", sendArgs...), window+time.Minute))
		procThrs = append(procThrs, procThroughput(pa, "b", window))
		memThrs = append(memThrs, procThroughput(ma, "bm", window))
		pipeThrs = append(pipeThrs, procThroughput(pipe, "b", window))
	}
	recv.Stop(10 * time.Second)
	if profDir != "" {
		for _, f := range []string{"node-send.pprof", "node-recv.pprof"} {
			r.profiles = append(r.profiles, pprofTop(filepath.Join(profDir, f)))
		}
	}
	raw, nodeLat, procLat := mergeLatency(raws), mergeLatency(nodeLats), mergeLatency(procLats)
	rawWin, nodeThr, procThr := mergeRate(rawWins), mergeRate(nodeThrs), mergeRate(procThrs)
	pipeLat, pipeThr := mergeLatency(pipeLats), mergeRate(pipeThrs)
	memLat, memThr := mergeLatency(memLats), mergeRate(memThrs)

	rawNote := fmt.Sprintf("raw: %d round trips of a %d-byte datagram answered with %d bytes, one at a time", raw.N, msgSize, ackSize)
	for _, l := range []struct {
		impl string
		s    *roleStat
	}{{"p2pchat process (stdin `/to b` to stdout `delivered`)", procLat}, {"peer.Node library (Send to EvDelivered)", nodeLat}} {
		r.add(figure{
			Name: "message latency p50", Impl: l.impl, Value: l.s.P50, Unit: unitMicros,
			Floor: raw.P50, FloorName: "raw UDP round trip p50", Goal: "<= 3x floor", Met: l.s.P50 <= 3*raw.P50,
			Note: fmt.Sprintf("%d messages of %d bytes one at a time, %d lost; %s", l.s.N, textLen, l.s.Lost, rawNote),
		})
		r.add(figure{
			Name: "message latency p99", Impl: l.impl, Value: l.s.P99, Unit: unitMicros,
			Floor: raw.P99, FloorName: "raw UDP round trip p99", Goal: "stated", Stated: true,
			Note: fmt.Sprintf("mean %s, max %s (raw max %s)", fmtMicros(l.s.Mean), fmtMicros(l.s.Max), fmtMicros(raw.Max)),
		})
	}
	winNote := fmt.Sprintf("raw: %d-byte datagrams, up to 64 unacknowledged, each acknowledged by a %d-byte datagram, %d retransmitted, no encryption", msgSize, ackSize, rawWin.Retx)
	for _, t := range []struct {
		impl, how string
		s         *roleStat
	}{
		{"p2pchat process (stdin to `delivered`)", "up to 500 `/to` lines not yet delivered", procThr},
		{"peer.Node library", "up to 512 messages queued (the node keeps 64 in flight)", nodeThr},
	} {
		r.add(figure{
			Name: "throughput, acknowledged messages/s, encryption on", Impl: t.impl, Value: t.s.Rate, Unit: unitRate,
			Floor: rawWin.Rate, FloorName: "raw windowed UDP sender with acks",
			Goal: ">= 50% of floor", Met: t.s.Rate >= 0.5*rawWin.Rate, Higher: true,
			Note: fmt.Sprintf("%d acknowledged in %.1f s, %s, %d retransmissions; %s", t.s.N, t.s.Secs, t.how, t.s.Retx, winNote),
		})
	}
	// What keeping messages on disk costs: the same processes with
	// -store=false, in the same rounds.
	r.add(figure{
		Name: "message latency p50, messages kept on disk", Impl: "p2pchat process (stdin `/to b` to stdout `delivered`)",
		Value: procLat.P50, Unit: unitMicros, Floor: memLat.P50, FloorName: "the same with -store=false (in memory only, as before), p50",
		Goal: "stated", Stated: true,
		Note: fmt.Sprintf("each message is synced to the sender's disk before it leaves and to the receiver's before it is acknowledged; p99 %s against %s", fmtMicros(procLat.P99), fmtMicros(memLat.P99)),
	})
	r.add(figure{
		Name: "throughput, messages kept on disk", Impl: "p2pchat process (stdin to `delivered`)",
		Value: procThr.Rate, Unit: unitRate, Floor: memThr.Rate, FloorName: "the same with -store=false (in memory only, as before)",
		Goal: ">= 50% of floor", Met: procThr.Rate >= 0.5*memThr.Rate, Higher: true,
		Note: fmt.Sprintf("group commit: one sync for every message waiting at that moment, on each side; %d acknowledged in %.1f s, against %d", procThr.N, procThr.Secs, memThr.N),
	})
	// How much of the process figures is the process harness itself.
	pipeHow := "the `pipe-udp` role driven exactly like p2pchat: one stdin line becomes one datagram to the echo server, each answer one `delivered` line on stdout; no parsing, encryption or history"
	r.add(figure{
		Name: "message latency p50, against the same pipes", Impl: "p2pchat process (stdin `/to b` to stdout `delivered`)",
		Value: procLat.P50, Unit: unitMicros, Floor: pipeLat.P50, FloorName: "raw UDP round trip driven through stdin and stdout, p50",
		Goal: "stated", Stated: true,
		Note: fmt.Sprintf("floor: %s; floor p99 %s, p2pchat p99 %s", pipeHow, fmtMicros(pipeLat.P99), fmtMicros(procLat.P99)),
	})
	r.add(figure{
		Name: "throughput, against the same pipes", Impl: "p2pchat process (stdin to `delivered`)",
		Value: procThr.Rate, Unit: unitRate, Floor: pipeThr.Rate, FloorName: "raw windowed sender driven through stdin and stdout",
		Goal: "stated", Stated: true, Higher: true,
		Note: fmt.Sprintf("floor: %s, up to 64 unacknowledged; %d acknowledged in %.1f s", pipeHow, pipeThr.N, pipeThr.Secs),
	})
}

// gatherTime is how long p2pchat's first scripted message waits for
// discovery (main.go).
const gatherTime = 1500 * time.Millisecond

// procLatency sends count messages one at a time through p's stdin and
// times each from the write to the "delivered" line.
func procLatency(p *proctest.Proc, to string, count int) *roleStat {
	var samples []time.Duration
	lost := 0
	end := time.Now().Add(3 * time.Minute)
	for i := 0; i < count && time.Now().Before(end); i++ {
		m := p.Mark()
		t0 := time.Now()
		p.Send("/to " + to + " " + chatText)
		e, err := p.Await(m, msgTimeout, func(e proctest.Event) bool { return e.Event == "delivered" || e.Event == "error" })
		if err != nil || e.Event != "delivered" {
			lost++
			if lost > 10 {
				tb.Fatalf("%s: more than 10 messages not delivered within %v (last %q)\n%s", p, msgTimeout, e.Text, p.Report())
			}
			continue
		}
		samples = append(samples, e.At.Sub(t0))
	}
	s := summarize(samples)
	s.Lost = lost
	return s
}

// procThroughput keeps up to maxPending `/to b` lines undelivered for dur
// and counts the "delivered" lines read within dur.
func procThroughput(p *proctest.Proc, to string, dur time.Duration) *roleStat {
	const maxPending, batch = 500, 50
	line := "/to " + to + " " + chatText + "\n"
	next := p.Mark()
	t0 := time.Now()
	end := t0.Add(dur)
	sent, delivered, errs := 0, 0, 0
	for time.Now().Before(end) {
		evs, changed, exited := p.Snapshot(next)
		if exited {
			tb.Fatalf("%s exited during the throughput run\n%s", p, p.Report())
		}
		for i := range evs {
			switch e := &evs[i]; e.Event {
			case "delivered":
				if e.At.Before(end) {
					delivered++
				}
			case "error", "pending", "failed", "warning":
				errs++
			}
			next = evs[i].Seq + 1
		}
		if k := min(batch, maxPending-(sent-delivered)); k > 0 {
			p.Send(strings.TrimSuffix(strings.Repeat(line, k), "\n"))
			sent += k
			continue
		}
		select {
		case <-changed:
		case <-time.After(time.Until(end)):
		}
	}
	secs := dur.Seconds()
	// Let the rest be delivered before the next measurement (bounded).
	drainEnd := time.Now().Add(15 * time.Second)
	for delivered+errs < sent && time.Now().Before(drainEnd) {
		e, err := p.Await(next, time.Until(drainEnd), func(e proctest.Event) bool {
			return e.Event == "delivered" || e.Event == "error" || e.Event == "failed"
		})
		if err != nil {
			break
		}
		delivered++
		next = e.Seq + 1
	}
	if errs > 0 {
		tb.Fatalf("%s: %d errors during the throughput run\n%s", p, errs, p.Report())
	}
	s := &roleStat{Secs: secs}
	// Count again only what came within the window.
	evs, _, _ := p.Snapshot(0)
	for i := range evs {
		if evs[i].Event == "delivered" && !evs[i].At.Before(t0) && evs[i].At.Before(end) {
			s.N++
		}
	}
	s.Rate = float64(s.N) / secs
	return s
}

// phaseIdle: memory and idle CPU of one p2pchat alone, then with memPeers
// peer.Node peers (all in one helper process on another host).
func phaseIdle(r *report, sz sizes, _ string) {
	lab := newLab(2)
	defer closeLab(lab)
	a, b := lab.Hosts[0], lab.Hosts[1]
	floor := startRole(a, "ready")
	waitReady(floor)
	p := startP2P(a, "idle")
	ready := waitReady(p)
	logf("idle alone: settle %v, CPU window %v", sz.settle, sz.idleWindow)
	time.Sleep(sz.settle)
	fpid, ppid := floor.Pid(), p.Pid()
	floorRSS, aloneRSS := procfs(proctest.RSS(fpid)), procfs(proctest.RSS(ppid))
	fc0, pc0, pn0 := procfs(proctest.CPUTime(fpid)), procfs(proctest.CPUTime(ppid)), procfs(proctest.RunTime(ppid))
	time.Sleep(sz.idleWindow)
	fc1, pc1, pn1 := procfs(proctest.CPUTime(fpid)), procfs(proctest.CPUTime(ppid)), procfs(proctest.RunTime(ppid))
	perMin := func(d time.Duration) float64 { return d.Seconds() * float64(time.Minute) / float64(sz.idleWindow) }
	floorCPU, aloneCPU := perMin(fc1-fc0), perMin(pc1-pc0)

	id, err := peer.LoadIdentity(p.Home)
	if err != nil {
		tb.Fatalf("reading p2pchat's key: %v", err)
	}
	logf("with %d peers (peer.Node instances in one helper process)", sz.memPeers)
	helper := startRole(b, "node-recv", "-bind", ipStr(b), "-count", strconv.Itoa(sz.memPeers),
		"-target", addr(a, ready.Port), "-key", hex.EncodeToString(id.Public[:]))
	waitReady(helper)
	var names []string
	for i := 0; i < sz.memPeers; i++ {
		names = append(names, fmt.Sprintf("r%02d", i))
	}
	joinedAt := waitJoined(p, 0, names, time.Now().Add(joinTimeout))
	_ = joinedAt
	time.Sleep(sz.settle)
	peersRSS := procfs(proctest.RSS(ppid))
	hwm := procfs(proctest.StatusKB(ppid, "VmHWM"))
	pc2, pn2 := procfs(proctest.CPUTime(ppid)), procfs(proctest.RunTime(ppid))
	time.Sleep(sz.idleWindow)
	pc3, pn3 := procfs(proctest.CPUTime(ppid)), procfs(proctest.RunTime(ppid))
	peersCPU := perMin(pc3 - pc2)
	helper.Stop(5 * time.Second)

	r.add(figure{
		Name: "memory, RSS idle alone", Impl: "p2pchat process", Value: kbToMB(aloneRSS), Unit: unitMB,
		Floor: kbToMB(floorRSS), FloorName: "RSS of a do-nothing Go program (this one)",
		Goal: "<= 15 MB", Met: kbToMB(aloneRSS) <= 15,
		Note: fmt.Sprintf("VmRSS %v after ready, mDNS on, no peers", sz.settle),
	})
	r.add(figure{
		Name: fmt.Sprintf("memory, RSS with %d peers", sz.memPeers), Impl: "p2pchat process", Value: kbToMB(peersRSS), Unit: unitMB,
		Floor: kbToMB(floorRSS), FloorName: "RSS of a do-nothing Go program (this one)",
		Goal: "<= 25 MB", Met: kbToMB(peersRSS) <= 25,
		Note: fmt.Sprintf("peers are %d peer.Node instances in one helper process on another host (own ports, same IP), greeting p2pchat as mDNS discovery would; VmRSS %v after all joined; peak VmHWM %.1f MB",
			sz.memPeers, sz.settle, kbToMB(hwm)),
	})
	r.add(figure{
		Name: "idle CPU, seconds per minute, alone", Impl: "p2pchat process", Value: aloneCPU, Unit: unitCPU,
		Floor: floorCPU, FloorName: "do-nothing Go program over the same window",
		Goal: "near zero (taken as <= 0.1 s/min, 0.17% of one core)", Met: aloneCPU <= 0.1,
		Note: fmt.Sprintf("utime+stime from /proc/PID/stat over %v (10 ms ticks); per-thread schedstat, finer: %.4f s/min", sz.idleWindow, perMin(pn1-pn0)),
	})
	r.add(figure{
		Name: fmt.Sprintf("idle CPU, seconds per minute, with %d peers", sz.memPeers), Impl: "p2pchat process", Value: peersCPU, Unit: unitCPU,
		Floor: floorCPU, FloorName: "do-nothing Go program",
		Goal: "stated (heartbeats: one ping and pong per peer every 5 s)", Stated: true,
		Note: fmt.Sprintf("utime+stime over %v; per-thread schedstat: %.4f s/min", sz.idleWindow, perMin(pn3-pn2)),
	})
}

func kbToMB(kb int64) float64 { return float64(kb) * 1024 / 1e6 }

// phaseLAN: nodes p2pchat processes started together (discovery), one more
// joining, /all fan-out from it, then steady-state mDNS traffic.
func phaseLAN(r *report, sz sizes, _ string) {
	n := sz.nodes
	lab := newLab(n + 1)
	defer closeLab(lab)
	hosts, jh := lab.Hosts[:n], lab.Hosts[n]
	for _, h := range lab.Hosts {
		countMDNS(h, chatPort)
	}
	var echoes []string
	for _, h := range hosts {
		e := startRole(h, "udp-echo", sizeArgs("-bind", ipStr(h), "-port", "9000")...)
		waitReady(e)
		echoes = append(echoes, addr(h, 9000))
	}

	// Floor of "started together": the same number of do-nothing programs.
	t0 := time.Now()
	var floors []*proctest.Proc
	for _, h := range hosts {
		floors = append(floors, startRole(h, "ready"))
	}
	var floorAll time.Time
	for _, f := range floors {
		if e := waitReady(f); e.At.After(floorAll) {
			floorAll = e.At
		}
	}
	floorTogether := floorAll.Sub(t0)
	for _, f := range floors {
		f.Kill()
	}

	logf("discovery: %d nodes started together", n)
	var names []string
	for i := range hosts {
		names = append(names, fmt.Sprintf("n%02d", i+1))
	}
	start := time.Now()
	var nodes []*proctest.Proc
	for i, h := range hosts {
		nodes = append(nodes, startP2P(h, names[i]))
	}
	launched := time.Since(start)
	var lastReady, allListed time.Time
	deadline := start.Add(joinTimeout)
	for i, p := range nodes {
		if e := waitReady(p); e.At.After(lastReady) {
			lastReady = e.At
		}
		others := append(append([]string{}, names[:i]...), names[i+1:]...)
		if at := waitJoined(p, 0, others, deadline); at.After(allListed) {
			allListed = at
		}
	}
	disc := allListed.Sub(start)
	r.add(figure{
		Name: fmt.Sprintf("discovery: %d nodes started together, until every node lists all %d others", n, n-1), Impl: "p2pchat processes, real mDNS",
		Value: us(disc), Unit: unitMicros, Floor: us(floorTogether),
		FloorName: fmt.Sprintf("%d do-nothing programs started the same way, until all are ready", n),
		Goal:      "<= 1.5 s", Met: disc <= 1500*time.Millisecond,
		Note: fmt.Sprintf("from the first launch; launching took %s, the last \"ready\" came at %s, so discovery itself took %s after it",
			fmtDur(launched), fmtDur(lastReady.Sub(start)), fmtDur(allListed.Sub(lastReady))),
	})

	logf("join: one more node")
	fl := startRole(jh, "ready")
	fe := waitReady(fl)
	floorJoin := fe.At.Sub(fl.Started)
	fl.Kill()
	marks := make([]int, n)
	for i, p := range nodes {
		marks[i] = p.Mark()
	}
	joiner := startP2P(jh, "joiner")
	jStart := joiner.Started
	var joinAll time.Time
	for i, p := range nodes {
		if at := waitJoined(p, marks[i], []string{"joiner"}, jStart.Add(joinTimeout)); at.After(joinAll) {
			joinAll = at
		}
	}
	joinerAll := waitJoined(joiner, 0, names, jStart.Add(joinTimeout))
	jr := waitReady(joiner)
	r.add(figure{
		Name: fmt.Sprintf("discovery: one node joining a LAN of %d, until all %d list it", n, n), Impl: "p2pchat processes, real mDNS",
		Value: us(joinAll.Sub(jStart)), Unit: unitMicros, Floor: us(floorJoin),
		FloorName: "one do-nothing program started the same way, until ready",
		Goal:      "<= 1 s", Met: joinAll.Sub(jStart) <= time.Second,
		Note: fmt.Sprintf("from its launch; it was ready at %s and listed all %d at %s",
			fmtDur(jr.At.Sub(jStart)), n, fmtDur(joinerAll.Sub(jStart))),
	})

	logf("fan-out: /all to %d peers, %d rounds", n, sz.fanRounds)
	rawFan := result(startRole(jh, "udp-fanout", sizeArgs("-bind", ipStr(jh), "-to", strings.Join(echoes, ","),
		"-rounds", strconv.Itoa(sz.fanRounds))...), time.Minute)
	fan, lost := fanOut(joiner, n, sz.fanRounds)
	r.add(figure{
		Name: fmt.Sprintf("fan-out: /all to %d peers until all %d acknowledged, median", n, n), Impl: "p2pchat process (stdin `/all` to the last `delivered`)",
		Value: fan.P50, Unit: unitMicros, Floor: rawFan.P50,
		FloorName: fmt.Sprintf("raw: one datagram to each of %d UDP echo servers, until all %d answered", n, n),
		Goal:      fmt.Sprintf("<= 3x floor (%d raw round trips)", n), Met: fan.P50 <= 3*rawFan.P50,
		Note: fmt.Sprintf("%d rounds (%d incomplete within %v); max %s; raw max %s. Each of the 20 receivers syncs the message to its disk before it acknowledges: here they all share this machine's one disk, so their syncs queue up (on a LAN each laptop syncs its own); the same with -store=false is the last row of this phase",
			fan.N, lost, msgTimeout, fmtMicros(fan.Max), fmtMicros(rawFan.Max)),
	})

	// Rooms (issue 19): the same peers and the joiner in one room; a room
	// message from the joiner, on disk and acknowledged by every member,
	// next to /all to the same peers.
	logf("rooms: a room message to %d members, %d rounds", n, sz.fanRounds)
	roomFan, allFan, roomLost := roomFanOut(joiner, nodes, n, sz.fanRounds)
	r.add(figure{
		Name: fmt.Sprintf("rooms: a message to a room of %d other members until all %d acknowledged, median", n, n), Impl: "p2pchat process (stdin `/to #bench` to the last room `delivered`)",
		Value: roomFan.P50, Unit: unitMicros, Floor: allFan.P50,
		FloorName: fmt.Sprintf("/all to the same %d peers, in rounds alternating with the room's", n),
		Goal:      "<= 1.2x /all to as many", Met: roomFan.P50 <= 1.2*allFan.P50,
		Note: fmt.Sprintf("%d rounds each (%d incomplete within %v); p99 %s (/all: %s); max %s (/all: %s). The rounds alternate so that both see the same load on the machine's one disk (the /all row above ran before, alone)",
			roomFan.N, roomLost, msgTimeout, fmtMicros(roomFan.P99), fmtMicros(allFan.P99), fmtMicros(roomFan.Max), fmtMicros(allFan.Max)),
	})

	// Steady-state mDNS: counters on every host's eth0, over a window that
	// opens mdnsWarm after the last node started.
	open := jStart.Add(sz.mdnsWarm)
	logf("mDNS: window of %v opens in %v", sz.mdnsWindow, time.Until(open).Round(time.Second))
	time.Sleep(time.Until(open))
	read := func() (out, in, chat int64) {
		for _, h := range lab.Hosts {
			out += readCounter(h, "mdns_out")
			chat += readCounter(h, "chat_out")
		}
		return out, readCounter(hosts[0], "mdns_in"), chat
	}
	o0, i0, c0 := read()
	w0 := time.Now()
	time.Sleep(sz.mdnsWindow)
	o1, i1, c1 := read()
	mins := time.Since(w0).Minutes()
	total := float64(n + 1)
	steady := ""
	if sz.mdnsWarm <= 31*time.Second {
		steady = "; NOT steady state: the window opens before the browse back-off (queries at 0, 1, 3, 7, 15, 31, 63, 123 ... s) has slowed to once a minute"
	}
	for _, p := range append(nodes, joiner) {
		if p.Exited() {
			tb.Fatalf("%s exited during the mDNS window\n%s", p, p.Report())
		}
	}
	r.add(figure{
		Name: "steady-state mDNS traffic: packets sent per node per minute", Impl: "p2pchat processes, real mDNS",
		Value: float64(o1-o0) / total / mins, Unit: unitPerMin, Floor: -1,
		Goal: "bounded and stated", Stated: true,
		Note: fmt.Sprintf("%d nodes on the LAN, counted by nftables on each eth0 (UDP port 5353, IPv4 and IPv6) over %s starting %s after the last node started; before: %d packets sent in total%s",
			n+1, fmtDur(time.Duration(mins*float64(time.Minute))), fmtDur(sz.mdnsWarm), o0, steady),
	})
	r.add(figure{
		Name: "steady-state mDNS traffic: packets received per node per minute", Impl: "p2pchat processes, real mDNS",
		Value: float64(i1-i0) / mins, Unit: unitPerMin, Floor: -1,
		Goal: "bounded and stated", Stated: true,
		Note: fmt.Sprintf("what one node's eth0 received from the %d others", n),
	})
	r.add(figure{
		Name: "steady-state chat-port traffic (heartbeats): packets sent per node per minute", Impl: "p2pchat processes",
		Value: float64(c1-c0) / total / mins, Unit: unitPerMin, Floor: -1,
		Goal: "stated", Stated: true,
		Note: fmt.Sprintf("UDP to port %d: pings and pongs with %d peers each (a ping per peer every 5 s)", chatPort, n),
	})

	// The fan-out again with every node keeping messages in memory only:
	// what it was before messages were kept on disk.
	logf("fan-out again, all %d nodes and the sender with -store=false", n)
	for _, p := range append(nodes, joiner) {
		p.Stop(5 * time.Second)
	}
	var mem []*proctest.Proc
	for i, h := range hosts {
		mem = append(mem, startP2P(h, names[i]+"m", "-store=false"))
	}
	memJoiner := startP2P(jh, "joinerm", "-store=false")
	var memNames []string
	for _, nm := range names {
		memNames = append(memNames, nm+"m")
	}
	waitJoined(memJoiner, 0, memNames, time.Now().Add(joinTimeout))
	memFan, memLost := fanOut(memJoiner, n, sz.fanRounds)
	r.add(figure{
		Name: fmt.Sprintf("fan-out: /all to %d peers, messages kept in memory only, median", n), Impl: "p2pchat process with -store=false (stdin `/all` to the last `delivered`)",
		Value: memFan.P50, Unit: unitMicros, Floor: rawFan.P50,
		FloorName: fmt.Sprintf("raw: one datagram to each of %d UDP echo servers, until all %d answered", n, n),
		Goal:      "stated", Stated: true,
		Note: fmt.Sprintf("the same %d rounds with every node started with -store=false (%d incomplete); max %s; against %s with the messages kept on disk",
			memFan.N, memLost, fmtMicros(memFan.Max), fmtMicros(fan.P50)),
	})
	for _, p := range append(mem, memJoiner) {
		p.Stop(5 * time.Second)
	}
}

// fanOut sends rounds /all lines from p, one at a time, and times each until
// all n peers acknowledged it; it returns the samples and how many rounds
// did not complete.
func fanOut(p *proctest.Proc, n, rounds int) (*roleStat, int) {
	// Warm-up (also passes p2pchat's start-up wait for discovery).
	m := p.Mark()
	p.Send("/all warm-up")
	countDelivered(p, m, n, 2*gatherTime+msgTimeout)
	var samples []time.Duration
	lost := 0
	for i := 0; i < rounds; i++ {
		m := p.Mark()
		t0 := time.Now()
		p.Send("/all " + chatText)
		last, ok := countDelivered(p, m, n, msgTimeout)
		if !ok {
			lost++
			continue
		}
		samples = append(samples, last.Sub(t0))
		time.Sleep(20 * time.Millisecond)
	}
	return summarize(samples), lost
}

// roomFanOut has p and every member /join #bench, then sends rounds room
// messages from p, one at a time, and times each until all n members
// acknowledged it (n room "delivered" lines). Each room round is followed
// by an /all round to the same peers, timed the same way, so that the two
// are compared under the same load: it returns the room's samples, the
// /all samples, and how many rounds of either did not complete.
func roomFanOut(p *proctest.Proc, members []*proctest.Proc, n, rounds int) (room, all *roleStat, lost int) {
	m := p.Mark()
	p.Send("/join #bench")
	for _, q := range members {
		q.Send("/join #bench")
	}
	joined := 0
	if _, err := p.Await(m, joinTimeout, func(e proctest.Event) bool {
		if e.Event == "room-joined" && e.Name != p.Ready().Name {
			joined++
		}
		return joined == n
	}); err != nil {
		tb.Fatalf("rooms: %s saw %d of %d members join #bench: %v", p, joined, n, err)
	}
	m = p.Mark()
	p.Send("/to #bench warm-up")
	countDeliveredOf(p, m, n, msgTimeout, roomLine)
	var roomSamples, allSamples []time.Duration
	timeOne := func(line string, keep func(proctest.Event) bool, samples *[]time.Duration) {
		m := p.Mark()
		t0 := time.Now()
		p.Send(line)
		last, ok := countDeliveredOf(p, m, n, msgTimeout, keep)
		if !ok {
			lost++
			return
		}
		*samples = append(*samples, last.Sub(t0))
		time.Sleep(20 * time.Millisecond)
	}
	for range rounds {
		timeOne("/to #bench "+chatText, roomLine, &roomSamples)
		timeOne("/all "+chatText, func(e proctest.Event) bool { return !roomLine(e) }, &allSamples)
	}
	return summarize(roomSamples), summarize(allSamples), lost
}

// roomLine tells a room's event line from the others.
func roomLine(e proctest.Event) bool { return strings.Contains(e.Raw, `"room":`) }

// countDeliveredOf is countDelivered counting only the "delivered" lines
// keep keeps (all of them if keep is nil).
func countDeliveredOf(p *proctest.Proc, from, want int, timeout time.Duration, keep func(proctest.Event) bool) (time.Time, bool) {
	got := 0
	e, err := p.Await(from, timeout, func(e proctest.Event) bool {
		if e.Event == "delivered" && (keep == nil || keep(e)) {
			got++
		}
		return got == want
	})
	return e.At, err == nil
}

// countDelivered waits for want "delivered" lines from Seq from on and
// returns when the last came.
func countDelivered(p *proctest.Proc, from, want int, timeout time.Duration) (time.Time, bool) {
	return countDeliveredOf(p, from, want, timeout, nil)
}

// pprofTop summarizes a CPU profile: the heaviest functions, cumulative.
func pprofTop(path string) string {
	cmd := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=22", selfExe, path)
	cmd.Dir = modRoot
	out, err := cmd.Output()
	if err != nil {
		return fmt.Sprintf("%s: go tool pprof: %v\n", filepath.Base(path), err)
	}
	lines := strings.Split(string(out), "\n")
	var keep []string
	for _, l := range lines {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Time:") || strings.HasPrefix(l, "Showing") {
			continue
		}
		keep = append(keep, l)
	}
	return filepath.Base(path) + ":\n" + strings.Join(keep, "\n")
}

// phaseGoBench runs the hot-path micro-benchmarks of peer/bench_test.go.
func phaseGoBench(r *report, sz sizes, _ string) {
	logf("go test -bench ./peer (benchtime %s)", sz.benchtime)
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", sz.benchtime, "./peer")
	cmd.Dir = modRoot
	done := make(chan struct{})
	var out []byte
	var err error
	var buf proctest.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		tb.Fatalf("go test -bench: %v", err)
	}
	atCleanup(func() { cmd.Process.Kill() })
	go func() { err = cmd.Wait(); out = []byte(buf.String()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		<-done
		tb.Fatalf("go test -bench did not finish within 5 minutes")
	}
	if err != nil {
		tb.Fatalf("go test -bench ./peer: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			r.gobench = append(r.gobench, l)
		}
	}
}

// summarize computes percentiles (µs) of samples, and keeps them (ns) so
// that rounds can be merged.
func summarize(samples []time.Duration) *roleStat {
	s := &roleStat{N: len(samples)}
	if len(samples) == 0 {
		return s
	}
	s.Samples = make([]int64, len(samples))
	for i, d := range samples {
		s.Samples[i] = int64(d)
	}
	v := append([]time.Duration(nil), samples...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	q := func(p float64) float64 {
		i := int(p*float64(len(v))+0.5) - 1
		return us(v[min(max(i, 0), len(v)-1)])
	}
	var sum time.Duration
	for _, d := range v {
		sum += d
	}
	s.P50, s.P90, s.P99 = q(0.50), q(0.90), q(0.99)
	s.Mean = us(sum / time.Duration(len(v)))
	s.Max = us(v[len(v)-1])
	return s
}

// mergeLatency pools the samples of several rounds.
func mergeLatency(rounds []*roleStat) *roleStat {
	var all []time.Duration
	lost, retx := 0, 0
	for _, r := range rounds {
		for _, ns := range r.Samples {
			all = append(all, time.Duration(ns))
		}
		lost += r.Lost
		retx += r.Retx
	}
	s := summarize(all)
	s.Lost, s.Retx = lost, retx
	return s
}

// mergeRate adds up the rounds of a throughput measurement.
func mergeRate(rounds []*roleStat) *roleStat {
	s := &roleStat{}
	for _, r := range rounds {
		s.N += r.N
		s.Secs += r.Secs
		s.Retx += r.Retx
	}
	if s.Secs > 0 {
		s.Rate = float64(s.N) / s.Secs
	}
	return s
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
