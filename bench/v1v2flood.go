package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The v1v2 phase's floods: a node (node-recv, one processor) receiving a
// flood of strangers' first packets at floodRate, version 2's handshake
// initiations next to version 1's hellos, the same rate in the same run.
// The packets are real ones: floodKeys nodes of that version (node-recv
// -count, fresh keys) greet the target's key at a capturing socket, which
// keeps each one's first datagram; the flooder replays them in turn, one
// stranger after another, from one laptop. The figure is the target's
// CPU over the window, against its CPU over as long unloaded.

const (
	floodRate = 2000 // datagrams a second
	floodKeys = 400  // distinct strangers (keys) in the flood
)

// captureGreetings starts the target's version exe, floodKeys greeters of
// that version on g, and returns the target and the file of their first
// datagrams.
func captureGreetings(exe string, typ int, t, g *testnet.Host, port int) (target *proctest.Proc, file string) {
	target = startRoleOf(exe, t, "node-recv", "-bind", ipStr(t), "-port", strconv.Itoa(port))
	key := roleKey(waitReady(target))
	file = tempDir("flood") + "/greetings"
	capt := startRole(t, "udp-capture", "-bind", ipStr(t), "-port", strconv.Itoa(port+100), "-n", strconv.Itoa(floodKeys), "-o", file, "-type", strconv.Itoa(typ))
	waitReady(capt)
	greeters := startRoleOf(exe, g, "node-recv", "-bind", ipStr(g), "-count", strconv.Itoa(floodKeys),
		"-target", addr(t, port+100), "-key", key)
	res := result(capt, time.Minute)
	greeters.Stop(5 * time.Second)
	if res.N < floodKeys {
		tb.Fatalf("captured %d strangers' first datagrams, want %d", res.N, floodKeys)
	}
	return target, file
}

// floodCPU measures target's CPU (% of one core) over d unloaded, then over
// d under the flood of file's datagrams from f.
func floodCPU(target *proctest.Proc, f, t *testnet.Host, port int, file string, d time.Duration) (idle, flooded float64, note string) {
	pid := target.Pid()
	cpuOver := func(fn func()) float64 {
		c0, t0 := procfs(proctest.CPUTime(pid)), time.Now()
		fn()
		return 100 * (procfs(proctest.CPUTime(pid)) - c0).Seconds() / time.Since(t0).Seconds()
	}
	idle = cpuOver(func() { time.Sleep(d) })
	fl := startRole(f, "udp-flood", "-to", addr(t, port), "-file", file, "-rate", strconv.Itoa(floodRate), "-dur", d.String())
	waitReady(fl)
	var res *roleStat
	flooded = cpuOver(func() { res = result(fl, d+time.Minute) })
	return idle, flooded, res.Extra
}

// roleUDPCapture keeps the first datagram (of -type) of each of -n
// sources on bind:port and writes them (hex, one a line) to -o.
func roleUDPCapture(args []string) {
	fs := flag.NewFlagSet("udp-capture", flag.ExitOnError)
	bind := fs.String("bind", "", "lab IP")
	port := fs.Int("port", 0, "port")
	n := fs.Int("n", 100, "sources")
	out := fs.String("o", "", "file")
	typ := fs.Int("type", -1, "keep only datagrams of this packet type (the byte after magic and version; -1: any)")
	fs.Parse(args)
	c := listenUDP(*bind, *port)
	defer c.Close()
	emit(map[string]any{"event": "ready"})
	seen := map[string]bool{}
	var lines []string
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(50 * time.Second))
	for len(lines) < *n {
		k, from, err := c.ReadFromUDP(buf)
		if err != nil {
			break
		}
		if *typ >= 0 && (k < 6 || int(buf[5]) != *typ) {
			continue
		}
		if s := from.String(); !seen[s] {
			seen[s] = true
			lines = append(lines, hex.EncodeToString(buf[:k]))
		}
	}
	if err := os.WriteFile(*out, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		fatalRole("%v", err)
	}
	emitResult(&roleStat{N: len(lines)})
}

// roleUDPFlood sends the datagrams of -file in turn to -to at -rate a
// second for -dur, from one socket.
func roleUDPFlood(args []string) {
	fs := flag.NewFlagSet("udp-flood", flag.ExitOnError)
	to := fs.String("to", "", "ip:port")
	file := fs.String("file", "", "datagrams, hex, one a line")
	rate := fs.Int("rate", 1000, "datagrams a second")
	dur := fs.Duration("dur", 10*time.Second, "duration")
	fs.Parse(args)
	fh, err := os.Open(*file)
	if err != nil {
		fatalRole("%v", err)
	}
	var pkts [][]byte
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if b, err := hex.DecodeString(sc.Text()); err == nil && len(b) > 0 {
			pkts = append(pkts, b)
		}
	}
	fh.Close()
	if len(pkts) == 0 {
		fatalRole("no datagrams in %s", *file)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(labAddrPort(*to)))
	if err != nil {
		fatalRole("%v", err)
	}
	defer c.Close()
	emit(map[string]any{"event": "ready"})
	perTick := max(*rate/200, 1)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sent, failed, i, t0 := 0, 0, 0, time.Now()
	for time.Since(t0) < *dur {
		<-tick.C
		for range perTick {
			if _, err := c.Write(pkts[i%len(pkts)]); err != nil {
				failed++
			} else {
				sent++
			}
			i++
		}
	}
	secs := time.Since(t0).Seconds()
	emitResult(&roleStat{N: sent, Rate: float64(sent) / secs, Secs: secs,
		Extra: fmt.Sprintf("%d datagrams (%.0f a second) from %d strangers in turn, %d sends failed", sent, float64(sent)/secs, len(pkts), failed)})
}

func init() {
	roles["udp-capture"] = roleUDPCapture
	roles["udp-flood"] = roleUDPFlood
}
