package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Units of figures.
const (
	unitMicros = "time"    // µs, printed as µs/ms/s
	unitRate   = "msg/s"   // messages per second
	unitMB     = "MB"      // 10^6 bytes
	unitCPU    = "s/min"   // CPU seconds per minute
	unitPerMin = "pkt/min" // packets per minute
	unitMBs    = "MB/s"    // 10^6 bytes per second
	unitSecs   = "s"       // seconds (CPU time)
	unitMiB    = "MiB"     // 2^20 bytes
	unitPct    = "%"       // per cent of one core
	unitCount  = "count"   // a number of things
)

// figure is one measured figure next to its raw floor.
type figure struct {
	Phase     string // the phase that measured it (-only)
	Name      string
	Impl      string // what was measured: p2pchat process, peer.Node library
	Value     float64
	Unit      string
	Floor     float64 // < 0: no floor
	FloorName string
	Goal      string
	Met       bool
	Stated    bool // no pass/fail: the figure is stated
	Higher    bool // higher is better (ratio shown as a percentage)
	Note      string
	Text      string // the measured value in words, instead of Value (Unit unused)
	FloorText string // the floor in words, instead of Floor

	// A figure kept from the previous report (a phase not run this
	// time): its cells and its note as they were.
	Kept      bool
	RatioText string
	MetText   string
	NoteText  string // the whole "floor: ... ." line
}

type report struct {
	sizes    sizes
	quick    bool
	started  time.Time
	finished time.Time
	figures  []figure
	gobench  []string
	profiles []string // pprof -top summaries
	failures []string
	phase    string   // the phase running
	ran      []string // the phases run

	keptPhases []string          // phases whose figures come from the previous report
	keptWhen   map[string]string // kept phase -> the run that measured it
	keptBench  string            // the previous report's hot paths section (gobench not run)

	fileRate  float64 // files phase: p2pchat's median rate (bytes/s), for croc's ratio
	fileWhole float64 // the same from /send, the offer's hashing included
	fileSrc   string  // files phase: the file it sent
}

func (r *report) add(f figure) {
	if f.Phase == "" {
		f.Phase = r.phase
	}
	r.figures = append(r.figures, f)
	logf("  %s [%s]: %s (floor %s, %s) goal %s: %s", f.Name, f.Impl, f.value(), f.floor(), f.ratio(), f.Goal, f.met())
}

func fmtMicros(v float64) string {
	switch {
	case v < 1000:
		return fmt.Sprintf("%.0f µs", v)
	case v < 1e6:
		return fmt.Sprintf("%.2f ms", v/1e3)
	default:
		return fmt.Sprintf("%.2f s", v/1e6)
	}
}

func fmtDur(d time.Duration) string { return fmtMicros(us(d)) }

func fmtUnit(v float64, unit string) string {
	switch unit {
	case unitMicros:
		return fmtMicros(v)
	case unitRate:
		return fmt.Sprintf("%.0f msg/s", v)
	case unitMB:
		return fmt.Sprintf("%.1f MB", v)
	case unitCPU:
		return fmt.Sprintf("%.3f s/min", v)
	case unitMBs:
		if v < 100 {
			return fmt.Sprintf("%.2f MB/s", v)
		}
		return fmt.Sprintf("%.0f MB/s", v)
	case unitSecs:
		return fmt.Sprintf("%.2f s", v)
	case unitMiB:
		return fmt.Sprintf("%.1f MiB", v)
	case unitCount:
		return fmt.Sprintf("%.0f", v)
	case unitPct:
		return fmt.Sprintf("%.1f%%", v)
	case unitPerMin:
		return fmt.Sprintf("%.1f /min", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

func (f figure) value() string {
	if f.Text != "" {
		return f.Text
	}
	return fmtUnit(f.Value, f.Unit)
}

func (f figure) floor() string {
	if f.FloorText != "" {
		return f.FloorText
	}
	if f.Floor < 0 || f.Kept {
		return "—"
	}
	return fmtUnit(f.Floor, f.Unit)
}

func (f figure) ratio() string {
	if f.Kept {
		return f.RatioText
	}
	if f.Floor < 0 {
		return "—"
	}
	if f.Floor == 0 {
		if f.Value == 0 {
			return "— (both 0)"
		}
		return "— (floor 0)"
	}
	q := f.Value / f.Floor
	if f.Higher {
		return fmt.Sprintf("%.0f%%", 100*q)
	}
	if math.Abs(q) >= 100 {
		return fmt.Sprintf("%.0fx", q)
	}
	return fmt.Sprintf("%.2fx", q)
}

func (f figure) met() string {
	switch {
	case f.Kept:
		return f.MetText
	case f.Stated:
		return "stated"
	case f.Met:
		return "PASS"
	default:
		return "**FAIL**"
	}
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\np2pchat benchmarks (%s run, %s)\n\n", r.mode(), r.machine())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tMEASURED\tMEASURED\tRAW FLOOR\tRATIO\tGOAL\tMET")
	for _, f := range r.figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Impl, f.value(), f.floor(), f.ratio(), f.Goal, strings.Trim(f.met(), "*"))
	}
	tw.Flush()
	for _, l := range r.gobench {
		fmt.Fprintln(w, l)
	}
	for _, fl := range r.failures {
		fmt.Fprintf(w, "FAILED: %s\n", fl)
	}
}

func (r *report) mode() string {
	if r.quick {
		return "quick (-quick)"
	}
	return "full"
}

func (r *report) machine() string {
	return fmt.Sprintf("%d cores (%s), %s, Linux %s", runtime.NumCPU(), cpuModel(), runtime.Version(), kernel())
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown CPU"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func (r *report) markdown() string {
	var b strings.Builder
	sz := r.sizes
	b.WriteString("# p2pchat benchmarks\n\n")
	b.WriteString("This file is written by `go run ./bench` (as root; see `bench/main.go`). Do not edit it by hand: run the program again.\n\n")
	if len(r.ran) == 0 && len(r.keptPhases) > 0 {
		fmt.Fprintf(&b, "- **Rewritten:** %s, from the previous report, no phase run (`-only none`)\n", r.started.UTC().Format("2006-01-02 15:04 UTC"))
	} else {
		fmt.Fprintf(&b, "- **Run:** %s, %s, took %s", r.mode(), r.started.UTC().Format("2006-01-02 15:04 UTC"), r.finished.Sub(r.started).Round(time.Second))
	}
	if len(r.ran) > 0 && len(r.keptPhases) > 0 {
		fmt.Fprintf(&b, ", phases %s", strings.Join(r.ran, ", "))
	}
	if len(r.ran) > 0 {
		b.WriteString("\n")
	}
	if len(r.keptPhases) > 0 {
		b.WriteString(keptPrefix + r.keptLine() + "\n")
	}
	fmt.Fprintf(&b, "- **Machine:** %d cores (runtime.NumCPU; %s), %s, Linux kernel %s\n", runtime.NumCPU(), cpuModel(), runtime.Version(), kernel())
	fmt.Fprintf(&b, "- **Sizes:** %d latency messages one at a time and a %v throughput window, each split into %d rounds; LAN of %d nodes (+1 joining) with %d `/all` rounds; mDNS window %v opening %v after the last node started; %d peers for memory; %v idle CPU window; %d start-ups; datagrams of %d bytes (a %d-byte message) and %d bytes (its acknowledgement); files of %d MiB (%d MiB over Wi-Fi rates); attack windows of %v\n",
		sz.messages, sz.throughput, sz.rounds, sz.nodes, sz.fanRounds, sz.mdnsWindow, sz.mdnsWarm, sz.memPeers, sz.idleWindow, sz.startups, msgSize, textLen, ackSize, sz.fileBytes>>20, sz.wifiBytes>>20, sz.attackWindow)
	b.WriteString("- **Where:** every process runs in its own network namespace on one Linux bridge (`internal/testnet`), addresses 10.77.k.i; nothing runs in the host's namespace. Each figure's floor was measured in the same run on the same bridge.\n\n")

	if len(r.failures) > 0 {
		b.WriteString("## Failures in this run\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", mdEscape(f))
		}
		b.WriteString("\n")
	}

	b.WriteString("## Figures\n\n")
	b.WriteString("| # | phase | figure | measured through | measured | raw floor | ratio | goal | met |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, f := range r.figures {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", i+1, f.Phase, mdEscape(f.Name), mdEscape(f.Impl), mdEscape(f.value()), mdEscape(f.floor()), mdEscape(f.ratio()), mdEscape(f.Goal), f.met())
	}
	b.WriteString("\nFloors, and how each figure was taken:\n\n")
	for i, f := range r.figures {
		if f.Kept {
			fmt.Fprintf(&b, "%d. %s\n", i+1, mdEscape(f.NoteText))
			continue
		}
		floor := f.FloorName
		if floor == "" {
			floor = "no floor"
		}
		fmt.Fprintf(&b, "%d. floor: %s. %s.\n", i+1, mdEscape(floor), mdEscape(f.Note))
	}

	missed := []string{}
	for i, f := range r.figures {
		if f.Kept {
			if strings.Contains(f.MetText, "FAIL") {
				missed = append(missed, fmt.Sprintf("#%d %s (%s): %s against goal %s (kept from the previous report)", i+1, f.Name, f.Impl, f.value(), f.Goal))
			}
			continue
		}
		if !f.Stated && !f.Met {
			missed = append(missed, fmt.Sprintf("#%d %s (%s): %s against goal %s", i+1, f.Name, f.Impl, f.value(), f.Goal))
		}
	}
	b.WriteString("\n## Goals missed\n\n")
	if len(missed) == 0 {
		b.WriteString("None in this run.\n")
	}
	for _, m := range missed {
		fmt.Fprintf(&b, "- %s\n", mdEscape(m))
	}

	b.WriteString("\n## Hot paths (`go test -run '^$' -bench . -benchmem ./peer`)\n\n")
	if len(r.gobench) == 0 && r.keptBench != "" {
		b.WriteString(r.keptBench)
	} else if len(r.gobench) == 0 {
		b.WriteString("Not run in this invocation.\n")
	} else {
		fmt.Fprintf(&b, "From `peer/bench_test.go`, -benchtime %s:\n\n```\n", sz.benchtime)
		for _, l := range r.gobench {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}

	if len(r.profiles) > 0 {
		b.WriteString("\n## Where the time goes (`-profile`: CPU profiles of the peer.Node sender during the first throughput round, and of the receiver over all rounds)\n\n")
		for _, p := range r.profiles {
			b.WriteString("```\n" + p + "```\n\n")
		}
	}

	b.WriteString(method)
	return b.String()
}

const method = `
## Method

- **Raw floors** (` + "`bench/raw.go`" + `) are this program re-executed in the lab
  (` + "`-role=...`" + `): a UDP echo server that answers each datagram with an
  acknowledgement-sized prefix of it, a client timing round trips one at a time, a client sending one
  datagram to each of N echo servers and waiting for all answers, and a
  windowed sender (64 unacknowledged, retransmission after 100 ms) counting
  acknowledged datagrams per second. Datagrams are as large as p2pchat's
  (measured at start on peer's in-memory network: the sealed packet of a
  100-byte message and of its acknowledgement). The floors do no encryption and no bookkeeping beyond a sequence
  number, and run with Go's default GOMAXPROCS.
- **Rounds:** latency and throughput are measured in rounds, and within
  each round the raw floor, peer.Node, the p2pchat process and the piped
  floor take turns, so that a slow stretch of this shared machine weighs on
  a figure and its floor alike; samples and counts of all rounds are pooled.
- **The process figures' own floor** (` + "`-role=pipe-udp`" + `) is a raw sender
  driven exactly like p2pchat: the same harness writes the same ` + "`/to b`" + `
  lines to its stdin, each becomes one datagram to the echo server (64 in
  flight), each answer one ` + "`delivered`" + ` line on its stdout. It shows what
  the pipes and the harness cost before p2pchat does anything.
- **p2pchat process** figures drive the real binary (` + "`go build`" + ` of the module,
  started as ` + "`p2pchat -json -name X -home <fresh dir>`" + ` in a lab namespace, mDNS
  on): commands are written to its stdin and the time is taken when the
  matching JSON line (` + "`delivered`" + `, ` + "`joined`" + `, ` + "`ready`" + `) is read from its stdout. They
  include the shell's line parsing and JSON output on the sender, and the
  receiver's event handling. p2pchat runs on one processor (GOMAXPROCS=1,
  main.go) with its standard input in Go's poller.
- **peer.Node library** figures (` + "`bench/node.go`" + `) run one ` + "`peer.Node`" + ` per
  namespace over real UDP (` + "`peer.Listen`" + `) and time ` + "`Send`" + ` to the ` + "`EvDelivered`" + `
  event: the protocol's own cost (sealing, the ack round trip, the node's
  goroutines) without the process around it. They run on one processor, as
  p2pchat does.
- **Discovery** times run from launching the processes (through ` + "`ip netns\n  exec`" + `, ` + "`unshare`" + ` and ` + "`sh`" + `, which is also what the floor pays) to the
  ` + "`joined`" + ` line that completes each node's list.
- **Memory** is VmRSS from /proc/PID/status; **idle CPU** is utime+stime from
  /proc/PID/stat over the window; **mDNS traffic** is counted by nftables
  counters on every node's eth0 (UDP port 5353 either way).
- **Wi-Fi rates** (files phase): both laptops' eth0 shaped with ` + "`tc tbf`" + `
  (testnet ` + "`LimitRate`" + `) to 80 and to 20 Mbit/s; a raw TCP copy of the
  same file over the same link is the floor. Each copy is given twice the
  link's time and 30 s: a transfer that does not finish by then is reported
  as such, with the copies of the file left in the downloads folder.
- **Attack phase** (` + "`bench/attack.go`" + `): three laptops, a fresh lab per
  attack. Node a (` + "`-accept-from b`" + `) is measured twice: a window
  unloaded, then a window under the attack, while b sends ` + "`/to a`" + ` every
  100 ms; after each window b sends a 5,000-character message and a 1 MiB
  file, and between the windows b starts again with the same key, so that
  they need new TCP connections. The stranger is this program in the third
  laptop (` + "`-role=attack`" + `), in Go: the crafted mDNS query built byte by
  byte, TCP sockets, spoofed probes through a raw socket, offers through
  ` + "`internal/hostile`" + `. CPU is a's utime+stime over the window, RSS growth
  a's VmRSS at the end of the attacked window minus the unloaded one. The
  stranger's own work shares the machine's cores with a and b.
- Ratios are measured / floor (for throughput: measured as a percentage of
  the floor). "stated" figures have no pass/fail goal; the others say PASS
  or FAIL.
`

// phaseOrder is the order of the phases in the report.
var phaseOrder = []string{"pair", "idle", "lan", "rooms", "gobench", "files", "croc", "attack", "v1v2"}

// oldPhase is the phase of a figure in a report written before figures
// named their phase.
func oldPhase(name string) string {
	switch {
	case strings.HasPrefix(name, "under "):
		return "attack"
	case strings.Contains(name, "croc"):
		return "croc"
	case strings.HasPrefix(name, "file transfer"), strings.HasPrefix(name, "chat latency during a file"), strings.HasPrefix(name, "copies of the file"):
		return "files"
	case strings.HasPrefix(name, "memory"), strings.HasPrefix(name, "idle CPU"):
		return "idle"
	case strings.HasPrefix(name, "discovery"), strings.HasPrefix(name, "fan-out"), strings.HasPrefix(name, "steady-state"):
		return "lan"
	}
	return "pair"
}

// splitRow splits a markdown table row into its cells, unescaped.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(strings.TrimSuffix(l, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		switch {
		case l[i] == '\\' && i+1 < len(l) && l[i+1] == '|':
			cur.WriteByte('|')
			i++
		case l[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(l[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var noteRE = regexp.MustCompile(`^(\d+)\. (floor: .*)$`)

// keepPrevious reads the report at path (if any) and keeps its figures of
// the phases this run did not run, in the report's phase order; the
// figures of this run's phases replace theirs.
func (r *report) keepPrevious(path string) {
	old, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var kept []figure
	var oldRun, oldKept string
	notes := map[int]string{}
	var benchSec strings.Builder
	inBench := false
	for _, l := range strings.Split(string(old), "\n") {
		if strings.HasPrefix(l, "## ") {
			inBench = strings.HasPrefix(l, "## Hot paths")
			continue
		}
		if inBench {
			benchSec.WriteString(l + "\n")
			continue
		}
		if strings.HasPrefix(l, "- **Run:** ") && oldRun == "" {
			oldRun = strings.TrimPrefix(l, "- **Run:** ")
			continue
		}
		if strings.HasPrefix(l, "- **Kept:** ") && oldKept == "" {
			oldKept = l
			continue
		}
		if m := noteRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			notes[n] = strings.ReplaceAll(m[2], "\\|", "|")
			continue
		}
		if !strings.HasPrefix(l, "| ") {
			continue
		}
		c := splitRow(l)
		n, err := strconv.Atoi(c[0])
		if err != nil {
			continue // the header
		}
		var f figure
		switch len(c) {
		case 8: // # figure through measured floor ratio goal met
			f = figure{Phase: oldPhase(c[1]), Name: c[1], Impl: c[2], Text: c[3], FloorText: c[4], RatioText: c[5], Goal: c[6], MetText: c[7]}
		case 9: // # phase figure ...
			f = figure{Phase: c[1], Name: c[2], Impl: c[3], Text: c[4], FloorText: c[5], RatioText: c[6], Goal: c[7], MetText: c[8]}
		default:
			continue
		}
		f.MetText = strings.NewReplacer("**NO**", "**FAIL**", "yes", "PASS").Replace(f.MetText)
		f.Kept, f.Floor, f.Value = true, -1, float64(n) // Value: the old number, for the notes
		kept = append(kept, f)
	}
	ran := map[string]bool{}
	for _, p := range r.ran {
		ran[p] = true
	}
	var all []figure
	keptPhases := map[string]bool{}
	for _, ph := range append(slices.Clone(phaseOrder), "") {
		if ran[ph] {
			for _, f := range r.figures {
				if f.Phase == ph {
					all = append(all, f)
				}
			}
			continue
		}
		for _, f := range kept {
			if f.Phase == ph || (ph == "" && !slices.Contains(phaseOrder, f.Phase)) {
				f.NoteText = notes[int(f.Value)]
				if f.NoteText == "" {
					f.NoteText = "floor: (no note in the previous report)."
				}
				all = append(all, f)
				keptPhases[f.Phase] = true
			}
		}
	}
	for _, f := range r.figures { // figures of a phase not in phaseOrder
		if !slices.Contains(phaseOrder, f.Phase) {
			all = append(all, f)
		}
	}
	if !ran["gobench"] && strings.Contains(benchSec.String(), "Benchmark") {
		r.keptBench = strings.TrimLeft(benchSec.String(), "\n")
		r.keptBench = strings.TrimRight(r.keptBench, "\n") + "\n"
		keptPhases["gobench"] = true
	}
	when := keptWhen(oldRun, oldKept)
	r.keptWhen = map[string]string{}
	for _, ph := range append(slices.Clone(phaseOrder), "") {
		if keptPhases[ph] {
			r.keptPhases = append(r.keptPhases, ph)
			r.keptWhen[ph] = when(ph)
		}
	}
	r.figures = all
}

const (
	keptPrefix = "- **Kept:** "
	keptIntro  = "the figures of phases not run this time are those of earlier runs: "
)

// keptLine says which run measured each kept phase: "pair, idle from the
// full run of 2026-12-01 15:52 UTC; attack from ...".
func (r *report) keptLine() string {
	var parts []string
	done := map[string]bool{}
	for _, ph := range r.keptPhases {
		w := r.keptWhen[ph]
		if done[w] {
			continue
		}
		done[w] = true
		var phs []string
		for _, p := range r.keptPhases {
			if r.keptWhen[p] == w {
				phs = append(phs, p)
			}
		}
		parts = append(parts, strings.Join(phs, ", ")+" from "+w)
	}
	return keptIntro + strings.Join(parts, "; ")
}

// runWhen reads a report's run line ("full, 2026-12-01 15:52 UTC, took
// 9m3s[, phases a, b]") as "the full run of 2026-12-01 15:52 UTC" and the
// phases it names (none: all).
func runWhen(run string) (string, []string) {
	f := strings.SplitN(run, ", ", 3)
	if len(f) < 2 {
		return "an earlier run", nil
	}
	w := "the " + f[0] + " run of " + f[1]
	var phs []string
	if i := strings.Index(run, ", phases "); i >= 0 {
		phs = strings.Split(run[i+len(", phases "):], ", ")
	}
	return w, phs
}

// keptWhen attributes each phase of the previous report to the run that
// measured it, from its run and kept lines (also the first kept line
// format, which quoted only the previous run line).
func keptWhen(oldRun, oldKept string) func(string) string {
	runW, runPhases := runWhen(oldRun)
	m := map[string]string{}
	switch k := strings.TrimPrefix(oldKept, keptPrefix); {
	case strings.HasPrefix(k, keptIntro):
		for _, part := range strings.Split(strings.TrimPrefix(k, keptIntro), "; ") {
			phs, w, ok := strings.Cut(part, " from ")
			if !ok {
				continue
			}
			for _, p := range strings.Split(phs, ", ") {
				m[p] = w
			}
		}
	case strings.HasPrefix(k, "the figures of "):
		phs, rest, _ := strings.Cut(strings.TrimPrefix(k, "the figures of "), " (not run this time)")
		_, quoted, _ := strings.Cut(rest, "run line read: ")
		w, named := runWhen(quoted)
		for _, p := range strings.Split(phs, ", ") {
			if named == nil || slices.Contains(named, p) {
				m[p] = w
			} else {
				m[p] = "a run before " + w
			}
		}
	}
	return func(ph string) string {
		if w, ok := m[ph]; ok && (runPhases == nil || !slices.Contains(runPhases, ph)) {
			return w
		}
		return runW
	}
}
