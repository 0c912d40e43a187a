// Command bench measures p2pchat against raw UDP floors on a simulated LAN
// (network namespaces on one bridge, see internal/testnet) and rewrites
// BENCHMARKS.md with the figures. It needs root:
//
//	go run ./bench          # the full sizes, several minutes
//	go run ./bench -quick   # smaller counts and windows, under a minute or two
//	go run ./bench -only files,croc -o /tmp/files.md  # file transfer: raw TCP, p2pchat, croc
//	go run ./bench -only v1v2  # peer.Node of wire version 2 next to version 1's, handshake CPU, floods
//
// Every process it starts runs inside namespaces it created; nothing is
// sent in the caller's namespace. It stops by itself (every loop is bounded
// in count and time, and a watchdog ends the run) and removes its
// namespaces on exit, on error and on SIGINT/SIGTERM.
//
// The program re-executes itself inside the lab for the raw floors and the
// peer.Node measurements (-role=..., not for direct use).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	selfExe string // this program, re-executed in the lab for roles
	p2pBin  string // the p2pchat binary built for this run
	modRoot string
)

var roles = map[string]func([]string){
	"udp-echo":   roleUDPEcho,
	"udp-rtt":    roleUDPRTT,
	"udp-fanout": roleUDPFanout,
	"udp-window": roleUDPWindow,
	"pipe-udp":   rolePipeUDP,
	"ready":      roleReady,
	"node-recv":  roleNodeRecv,
	"node-send":  roleNodeSend,
	"tcp-recv":   roleTCPRecv,
	"tcp-send":   roleTCPSend,
	"attack":     roleAttack,
	"room-nodes": roleRoomMembers,
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-role=") {
		name := strings.TrimPrefix(os.Args[1], "-role=")
		if strings.HasPrefix(name, "node-") {
			// peer.Node roles run on one processor, as p2pchat does
			// (main.go, oneProcessor); the floors keep Go's default.
			runtime.GOMAXPROCS(1)
		}
		r := roles[name]
		if r == nil {
			fatalRole("unknown role %q", name)
		}
		r(os.Args[2:])
		return
	}
	os.Exit(run())
}

func run() int {
	quick := flag.Bool("quick", false, "smaller counts and shorter windows, for a fast smoke run")
	out := flag.String("o", "BENCHMARKS.md", "report file to rewrite (relative to the module root)")
	profDir := flag.String("profile", "", "directory for CPU profiles of the peer.Node throughput roles")
	binFlag := flag.String("bin", "", "p2pchat binary to measure instead of building one (to compare two builds)")
	only := flag.String("only", "", "comma-separated phases to run (pair,idle,lan,rooms,gobench,files,croc,attack,v1v2; none: only rewrite the report); the others' figures are kept from the previous report; default all")
	wifiSize := flag.String("wifi-size", "", "size of the file the files phase sends over Wi-Fi-rate links, e.g. 64MiB or 1GiB (default 1GiB, 32MiB with -quick)")
	wifiList := flag.String("wifi-rates", "80,20", "the Wi-Fi link rates of the files phase, in Mbit/s, comma-separated (empty: none)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./bench [-quick] [-o BENCHMARKS.md] [-profile DIR] [-only PHASES] [-bin P2PCHAT] [-wifi-size SIZE] [-wifi-rates MBITS]\n\n"+
			"Measures p2pchat against raw UDP floors on a simulated LAN of network\n"+
			"namespaces and rewrites BENCHMARKS.md. Needs root.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := requireLab(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if *only != "" {
		for _, p := range strings.Split(*only, ",") {
			if p != "none" && !slices.Contains(phaseOrder, p) {
				fmt.Fprintf(os.Stderr, "bench: -only: no phase %q (phases: %s, or none to rewrite the report from the previous one)\n", p, strings.Join(phaseOrder, ","))
				return 2
			}
		}
	}
	sz := fullSizes
	if *quick {
		sz = quickSizes
	}
	if *wifiSize != "" {
		n, err := parseSize(*wifiSize)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -wifi-size: %v\n", err)
			return 2
		}
		sz.wifiBytes = n
	}
	wifiRates = nil
	for _, f := range strings.Split(*wifiList, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -wifi-rates: %q is not a rate in Mbit/s\n", f)
			return 2
		}
		wifiRates = append(wifiRates, n)
	}
	// The Wi-Fi rounds are as long as their links make them: the
	// watchdog gives them their limits on top of the rest.
	if *only == "" || slices.Contains(strings.Split(*only, ","), "files") {
		for _, mbit := range wifiRates {
			sz.watchdog += 2 * wifiLimit(sz.wifiBytes, mbit)
		}
	}

	// Clean up on SIGINT/SIGTERM, and end the run if it overruns.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench: %v: removing the lab and stopping\n", s)
		stopLabs()
		cleanupAll()
		os.Exit(1)
	}()
	go func() {
		time.Sleep(sz.watchdog)
		fmt.Fprintf(os.Stderr, "bench: still running after %v: giving up, removing the lab\n", sz.watchdog)
		stopLabs()
		cleanupAll()
		os.Exit(1)
	}()
	defer cleanupAll()

	var err error
	if selfExe, err = os.Executable(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if modRoot, err = findModRoot(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	bin := tempDirSafe()
	if bin == "" {
		return 1
	}
	p2pBin = filepath.Join(bin, "p2pchat")
	if *binFlag != "" {
		if p2pBin, err = filepath.Abs(*binFlag); err != nil {
			fmt.Fprintf(os.Stderr, "bench: -bin: %v\n", err)
			return 1
		}
		logf("measuring %s", p2pBin)
	} else {
		logf("building p2pchat")
		build := exec.Command("go", "build", "-o", p2pBin, ".")
		build.Dir = modRoot
		if b, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: go build of p2pchat failed: %v\n%s", err, b)
			return 1
		}
	}
	if msgSize, ackSize, err = wireSizes(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: measuring p2pchat's datagram sizes in memory: %v\n", err)
		return 1
	}
	logf("p2pchat datagrams: %d bytes for a %d-byte message, %d for its acknowledgement", msgSize, textLen, ackSize)
	if *profDir != "" {
		if *profDir, err = filepath.Abs(*profDir); err == nil {
			err = os.MkdirAll(*profDir, 0o755)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -profile: %v\n", err)
			return 1
		}
	}

	r := &report{sizes: sz, quick: *quick, started: time.Now()}
	phases := []struct {
		name string
		fn   func(*report, sizes, string)
	}{
		{"pair", phasePair},
		{"idle", phaseIdle},
		{"lan", phaseLAN},
		{"rooms", phaseRooms},
		{"gobench", phaseGoBench},
		{"files", phaseFiles},
		{"croc", phaseCroc},
		{"attack", phaseAttack},
		{"v1v2", phaseV1V2},
	}
	for _, ph := range phases {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), ph.name) {
			continue
		}
		if stopped() {
			break
		}
		logf("phase %s", ph.name)
		r.phase = ph.name
		r.ran = append(r.ran, ph.name)
		runPhase(r, ph.name, func() { ph.fn(r, sz, *profDir) })
	}
	r.finished = time.Now()
	r.print(os.Stdout)
	path := *out
	if !filepath.IsAbs(path) {
		path = filepath.Join(modRoot, path)
	}
	if *only != "" {
		r.keepPrevious(path)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(r.markdown()), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	fmt.Printf("\nwrote %s\n", path)
	if len(r.failures) > 0 {
		return 1
	}
	return 0
}

// runPhase runs one phase; a lab failure is recorded and the run goes on.
// Each phase removes its own lab when done.
func runPhase(r *report, name string, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			var le labError
			if e, ok := v.(labError); ok {
				le = e
			} else {
				le = labError{fmt.Sprintf("panic: %v\n%s", v, debug.Stack())}
			}
			fmt.Fprintf(os.Stderr, "bench: phase %s failed: %s\n", name, le.msg)
			r.failures = append(r.failures, fmt.Sprintf("phase %s: %s", name, firstLine(le.msg)))
		}
	}()
	fn()
}

// parseSize reads a size such as 1GiB, 64MiB, 512KiB or a number of bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 1GiB, 64MiB)", s)
	}
	return n * mult, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func tempDirSafe() (d string) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", v)
			d = ""
		}
	}()
	return tempDir("bin")
}

func findModRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if strings.Contains(string(b), "module github.com/p2pchat/p2pchat") {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it inside the p2pchat module (no go.mod of github.com/p2pchat/p2pchat above the current directory)")
		}
		dir = parent
	}
}

var runStart = time.Now()

func logf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] "+f+"\n", append([]any{time.Since(runStart).Seconds()}, a...)...)
}
