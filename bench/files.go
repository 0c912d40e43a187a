package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The file-transfer phase: one file between two laptops, through real
// p2pchat processes (the receiver accepts with -accept-from), next to a
// raw TCP copy disk to disk (the floor) and croc v10.7.0 over a croc relay
// on a third laptop, in the same run.

// crocVersion is the croc the issue compares against. It is built from
// the Go module proxy (go install), never downloaded as a binary.
const crocVersion = "v10.7.0"

// chatGap spaces the chat messages sent during a transfer (they measure
// latency; the gap paces them, it synchronises nothing).
const chatGap = 100 * time.Millisecond

// roleTCPRecv is the floor's receiver: it accepts one connection, copies
// it to a file (as nc > file would), closes the file and answers one byte.
func roleTCPRecv(args []string) {
	fs := flag.NewFlagSet("tcp-recv", flag.ExitOnError)
	bind := fs.String("bind", "", "lab IP")
	port := fs.Int("port", 9100, "TCP port")
	out := fs.String("out", "", "file to write")
	fs.Parse(args)
	ln, err := net.Listen("tcp", net.JoinHostPort(labAddr(*bind).String(), strconv.Itoa(*port)))
	if err != nil {
		fatalRole("listen: %v", err)
	}
	emit(map[string]any{"event": "ready"})
	c, err := ln.Accept()
	if err != nil {
		fatalRole("accept: %v", err)
	}
	t0 := time.Now()
	f, err := os.Create(*out)
	if err != nil {
		fatalRole("%v", err)
	}
	n, err := io.Copy(f, c)
	if err != nil {
		fatalRole("copy: %v", err)
	}
	if err := f.Close(); err != nil {
		fatalRole("%v", err)
	}
	secs := time.Since(t0).Seconds()
	c.Write([]byte{1})
	c.Close()
	emitResult(&roleStat{N: int(n), Secs: secs, Rate: float64(n) / secs, Extra: selfCPU()})
}

// roleTCPSend is the floor's sender: it copies a file to the receiver
// (sendfile, as nc < file would) and waits for its one-byte answer.
func roleTCPSend(args []string) {
	fs := flag.NewFlagSet("tcp-send", flag.ExitOnError)
	to := fs.String("to", "", "receiver ip:port")
	in := fs.String("in", "", "file to send")
	fs.Parse(args)
	dst := labAddrPort(*to)
	f, err := os.Open(*in)
	if err != nil {
		fatalRole("%v", err)
	}
	t0 := time.Now()
	c, err := net.Dial("tcp", dst.String())
	if err != nil {
		fatalRole("dial: %v", err)
	}
	n, err := io.Copy(c, f)
	if err != nil {
		fatalRole("copy: %v", err)
	}
	c.(*net.TCPConn).CloseWrite()
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		fatalRole("no answer from the receiver: %v", err)
	}
	secs := time.Since(t0).Seconds()
	emitResult(&roleStat{N: int(n), Secs: secs, Rate: float64(n) / secs, Extra: selfCPU()})
}

// selfCPU is this process's CPU time so far, as "user+system".
func selfCPU() string {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return ""
	}
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return fmt.Sprintf("%v+%v", tv(ru.Utime).Round(time.Millisecond), tv(ru.Stime).Round(time.Millisecond))
}

// makeFile writes size random bytes to a new file in dir.
func makeFile(dir string, size int64) string {
	p := filepath.Join(dir, "payload.bin")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		tb.Fatalf("writing %s: %v", p, err)
	}
	if err := f.Close(); err != nil {
		tb.Fatalf("%v", err)
	}
	return p
}

// sameFile fails the run unless a and b have the same bytes.
func sameFile(a, b string) {
	ca, err := exec.Command("cmp", a, b).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s differs from what was sent: %v %s", b, err, ca)
	}
}

// rawCopy runs the floor once: a to b, file src to a fresh file on b.
func rawCopy(a, b *testnet.Host, src string) *roleStat {
	return rawCopyWithin(a, b, src, 10*time.Minute)
}

// rawCopyWithin is rawCopy given limit to finish.
func rawCopyWithin(a, b *testnet.Host, src string, limit time.Duration) *roleStat {
	out := filepath.Join(tempDir("raw"), "payload.bin")
	recv := startRole(b, "tcp-recv", "-bind", ipStr(b), "-port", "9100", "-out", out)
	waitReady(recv)
	s := result(startRole(a, "tcp-send", "-to", addr(b, 9100), "-in", src), limit)
	rr := result(recv, time.Minute)
	s.Extra = "CPU sender " + s.Extra + ", receiver " + rr.Extra
	sameFile(src, out)
	os.Remove(out)
	return s
}

// p2pRun is one p2pchat transfer's figures.
type p2pRun struct {
	rate             float64 // bytes/s, offer sent to verified at the receiver
	hash             time.Duration
	took             time.Duration
	sendCPU, recvCPU time.Duration
	sendHWM, recvHWM int64 // kB
	chat             *roleStat
}

// p2pTransfer sends src from pa to pb (which accepts it by -accept-from)
// and chats from pa to pb while it runs.
func p2pTransfer(pa, pb *proctest.Proc, src, dl string, size int64) p2pRun {
	var r p2pRun
	apid, bpid := pa.Pid(), pb.Pid()
	ac0, bc0 := procfs(proctest.CPUTime(apid)), procfs(proctest.CPUTime(bpid))
	am, bm := pa.Mark(), pb.Mark()
	sent := time.Now()
	pa.Send("/send b " + strconv.Quote(src))
	off := must(pa, am, time.Minute, "offered", proctest.IsKind("offered"))
	r.hash = off.At.Sub(sent)
	must(pb, bm, time.Minute, "progress", proctest.IsKind("progress"))
	isDone := func(e proctest.Event) bool {
		if e.Event == "transfer-failed" {
			tb.Fatalf("transfer failed: %s", e.Raw)
		}
		if e.Event != "transfer-done" {
			return false
		}
		var v struct {
			Last bool `json:"last"`
		}
		return e.Decode(&v) == nil && v.Last
	}
	var lats []time.Duration
	var done proctest.Event
	for deadline := time.Now().Add(10 * time.Minute); ; {
		if evs, _, _ := pb.Snapshot(bm); func() bool {
			for _, e := range evs {
				if isDone(e) {
					done = e
					return true
				}
			}
			return false
		}() {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the transfer did not finish in 10 minutes\n%s\n%s", pa.Report(), pb.Report())
		}
		m := pa.Mark()
		t0 := time.Now()
		ids := pa.SendTo(tb, "b", chatText)
		d := must(pa, m, msgTimeout, "delivered", proctest.IsDelivered("b", ids[0]))
		lats = append(lats, d.At.Sub(t0))
		time.Sleep(chatGap)
	}
	r.took = done.At.Sub(off.At)
	r.rate = float64(size) / r.took.Seconds()
	r.sendCPU = procfs(proctest.CPUTime(apid)) - ac0
	r.recvCPU = procfs(proctest.CPUTime(bpid)) - bc0
	r.sendHWM = procfs(proctest.StatusKB(apid, "VmHWM"))
	r.recvHWM = procfs(proctest.StatusKB(bpid, "VmHWM"))
	must(pa, am, time.Minute, "transfer-done at the sender", isDone)
	var v struct {
		Path string `json:"path"`
	}
	done.Decode(&v)
	if filepath.Dir(v.Path) != dl {
		tb.Fatalf("the file landed at %q, not in %s", v.Path, dl)
	}
	sameFile(src, v.Path)
	os.Remove(v.Path)
	r.chat = summarize(lats)
	return r
}

// crocRun sends src with croc from a to b through a relay on c; it
// returns the rate (bytes/s, sender start to receiver exit) or an error
// saying why croc could not be measured.
func crocRun(crocBin string, a, b, c *testnet.Host, src string, limit time.Duration) (float64, time.Duration, error) {
	home := tempDir("croc-home")
	out := tempDir("croc-out")
	relay := ipStr(c) + ":9009"
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "CROC_SECRET=bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	spec := func(h *testnet.Host, label string, args ...string) proctest.Spec {
		return proctest.Spec{Label: label, Host: h, Path: crocBin, Args: args, Env: env, Text: true, StderrLimit: stderrLimit}
	}
	rp := proctest.Start(tb, spec(c, "croc relay", "relay", "--host", ipStr(c)))
	defer rp.Stop(time.Second)
	// The relay is up when it accepts connections.
	for deadline := time.Now().Add(readyTimeout); ; {
		cmd := c.Command(context.Background(), "bash", "-c", "exec 3<>/dev/tcp/"+ipStr(c)+"/9009")
		if cmd.Run() == nil {
			break
		}
		if time.Now().After(deadline) || rp.Exited() {
			return 0, 0, fmt.Errorf("the croc relay did not start: %s", rp.Report())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t0 := time.Now()
	sp := proctest.Start(tb, spec(a, "croc send", "--relay", relay, "--no-compress", "--yes", "--ignore-stdin", "send", "--no-local", src))
	defer sp.Stop(time.Second)
	// The receiver joins once the sender has its room on the relay.
	if !sp.Stderr().WaitFor(0, time.Minute, sp.Done(), func(b []byte) bool { return strings.Contains(string(b), "Code is") }) {
		return 0, 0, fmt.Errorf("croc send did not get ready:\n%s\n%s", rp.Report(), sp.Report())
	}
	rcv := proctest.Start(tb, spec(b, "croc receive", "--relay", relay, "--yes", "--ignore-stdin", "--overwrite", "--out", out))
	select {
	case <-rcv.Done():
	case <-time.After(limit):
		return 0, 0, fmt.Errorf("croc did not finish in %v:\n%s\n%s\n%s", limit, rp.Report(), sp.Report(), rcv.Report())
	}
	took := time.Since(t0)
	if err := rcv.ExitErr(); err != nil {
		return 0, 0, fmt.Errorf("croc receive: %v:\n%s\n%s\n%s", err, rp.Report(), sp.Report(), rcv.Report())
	}
	got := filepath.Join(out, filepath.Base(src))
	sameFile(src, got)
	st, _ := os.Stat(src)
	os.Remove(got)
	return float64(st.Size()) / took.Seconds(), took, nil
}

// buildCroc installs croc from the Go module proxy into the run's
// temporary directory.
func buildCroc() (string, error) {
	dir := tempDir("croc-bin")
	cmd := exec.Command("go", "install", "github.com/schollz/croc/v10@"+crocVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install croc %s: %v: %s", crocVersion, err, strings.TrimSpace(string(b)))
	}
	return filepath.Join(dir, "croc"), nil
}

// labOnly makes h refuse to send anything but to the lab and loopback:
// croc looks its public relay's name up at start, which must not leave.
func labOnly(h *testnet.Host) {
	h.NFT(tb, `table inet p2pbenchout {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    ip daddr 10.77.0.0/16 accept
    ip daddr 224.0.0.0/4 accept
    ip6 daddr { fe80::/10, ff00::/8 } accept
    meta l4proto tcp reject with tcp reset
    reject
  }
}
`)
}

// phaseFiles: a file from laptop 1 to laptop 2, raw TCP and p2pchat in
// alternating rounds.
func phaseFiles(r *report, sz sizes, _ string) {
	memNote := steadyMemory(4 * sz.fileBytes)
	lab := newLab(2)
	defer closeLab(lab)
	a, b := lab.Hosts[0], lab.Hosts[1]
	size := sz.fileBytes
	logf("files: writing a %d MiB random file", size>>20)
	src := makeFile(tempDir("src"), size)

	dl := tempDir("downloads")
	pa := startP2P(a, "a")
	pb := startP2P(b, "b", "-downloads", dl, "-accept-from", "a")
	waitReady(pa)
	waitReady(pb)
	waitJoined(pa, 0, []string{"b"}, time.Now().Add(joinTimeout))
	waitJoined(pb, 0, []string{"a"}, time.Now().Add(joinTimeout))
	// -accept-from trusts "a" only once that name is pinned to a's key: a
	// message exchanged under it, as between people who know each other.
	m := pa.Mark()
	ids := pa.SendTo(tb, "b", chatText)
	must(pa, m, msgTimeout, "delivered", proctest.IsDelivered("b", ids[0]))

	// The first copy of a run is slow on a VM (its receiver spends 2-4 s
	// of system time per GiB on fresh page-cache pages, later ones under
	// 1 s): one copy warms the machine up, not counted.
	w := rawCopy(a, b, src)
	logf("  warm-up raw copy: %.0f MB/s (%s), not counted", w.Rate/1e6, w.Extra)
	var raws, p2ps, wholes []float64
	var runs []p2pRun
	for round := 1; round <= sz.fileRounds; round++ {
		logf("files round %d/%d: raw TCP copy, p2pchat", round, sz.fileRounds)
		rs := rawCopy(a, b, src)
		raws = append(raws, rs.Rate)
		pr := p2pTransfer(pa, pb, src, dl, size)
		runs = append(runs, pr)
		p2ps = append(p2ps, pr.rate)
		wholes = append(wholes, float64(size)/(pr.took+pr.hash).Seconds())
		logf("  raw %.0f MB/s (%s), p2pchat %.0f MB/s in %v (offer hash %v), CPU sender %v receiver %v, chat p50 %s max %s", rs.Rate/1e6, rs.Extra, pr.rate/1e6,
			pr.took.Round(time.Millisecond), pr.hash.Round(time.Millisecond), pr.sendCPU, pr.recvCPU, fmtMicros(pr.chat.P50), fmtMicros(pr.chat.Max))
	}
	raw, ours := median(raws), median(p2ps)
	best := runs[0]
	for _, x := range runs {
		if x.rate > best.rate {
			best = x
		}
	}
	var chats []*roleStat
	var sendCPU, recvCPU time.Duration
	var sendHWM, recvHWM int64
	for _, x := range runs {
		chats = append(chats, x.chat)
		sendCPU += x.sendCPU
		recvCPU += x.recvCPU
		sendHWM, recvHWM = max(sendHWM, x.sendHWM), max(recvHWM, x.recvHWM)
	}
	chat := mergeLatency(chats)
	n := time.Duration(len(runs))
	mib := size >> 20
	rawName := "raw TCP copy disk to disk (Go sendfile to splice, as nc), median"
	r.add(figure{
		Name: fmt.Sprintf("file transfer %d MiB, laptop to laptop", mib), Impl: "p2pchat process (-accept-from; offer sent to verified at the receiver)",
		Value: ours / 1e6, Unit: unitMBs, Floor: raw / 1e6, FloorName: rawName, Higher: true,
		Goal: ">= 70% of floor", Met: ours >= 0.7*raw,
		Note: fmt.Sprintf("median of %d rounds, alternating with the floor (p2pchat %s; raw %s); AES-256-GCM, SHA-256 verified before the final name; the sender hashed the file for its offer in %v (before the offer, not counted); %s",
			len(runs), fmtRates(p2ps), fmtRates(raws), best.hash.Round(time.Millisecond), memNote),
	})
	for _, c := range []struct {
		who string
		cpu time.Duration
		how string
	}{
		{"sender", sendCPU / n, "its offer's hashing included"},
		{"receiver", recvCPU / n, "decryption, SHA-256, disk writes"},
	} {
		r.add(figure{
			Name: fmt.Sprintf("file transfer CPU time (user+system) per %d MiB", mib), Impl: "p2pchat " + c.who,
			Value: c.cpu.Seconds(), Unit: unitSecs, Floor: -1, Goal: "stated", Stated: true,
			Note: fmt.Sprintf("mean of %d transfers, %s", len(runs), c.how),
		})
	}
	r.add(figure{
		Name: "file transfer peak RSS (VmHWM)", Impl: "p2pchat receiver", Value: float64(recvHWM) / 1024, Unit: unitMiB, Floor: -1,
		Goal: "< 50 MB (both)", Met: max(recvHWM, sendHWM)*1024 < 50e6,
		Note: fmt.Sprintf("sender %.1f MiB, receiver %.1f MiB: peak over the process's life, every round included", float64(sendHWM)/1024, float64(recvHWM)/1024),
	})
	r.add(figure{
		Name: "chat latency during a file transfer p50", Impl: "p2pchat process (`/to b` to `delivered`, same direction as the data)",
		Value: chat.P50, Unit: unitMicros, Floor: -1, Goal: "stated (issue: arrives within 1 s)", Stated: true, Met: chat.Max < 1e6,
		Note: fmt.Sprintf("%d messages, one every %v while the file flows: p99 %s, max %s", chat.N, chatGap, fmtMicros(chat.P99), fmtMicros(chat.Max)),
	})

	// The same over a link of a real LAN's speed, where the network and
	// not the two laptops' shared CPU is the limit: both laptops' eth0
	// shaped to 1 Gbit/s, as wired Ethernet (Wi-Fi is slower still).
	const gigabit = 1_000_000_000
	logf("files: one more round of each over a 1 Gbit/s link")
	a.LimitRate(tb, gigabit)
	b.LimitRate(tb, gigabit)
	rs := rawCopy(a, b, src)
	pr := p2pTransfer(pa, pb, src, dl, size)
	a.LimitRate(tb, 0)
	b.LimitRate(tb, 0)
	logf("  1 Gbit/s: raw %.0f MB/s, p2pchat %.0f MB/s, chat p50 %s max %s", rs.Rate/1e6, pr.rate/1e6, fmtMicros(pr.chat.P50), fmtMicros(pr.chat.Max))
	r.add(figure{
		Name: fmt.Sprintf("file transfer %d MiB over a 1 Gbit/s link", mib), Impl: "p2pchat process (as above)",
		Value: pr.rate / 1e6, Unit: unitMBs, Floor: rs.Rate / 1e6, FloorName: "raw TCP copy over the same link", Higher: true,
		Goal: "stated (the goal is on the unlimited bridge above)", Stated: true,
		Note: fmt.Sprintf("both laptops' eth0 shaped with tc tbf to 1 Gbit/s (testnet LimitRate), one round each; chat during it: p50 %s, max %s", fmtMicros(pr.chat.P50), fmtMicros(pr.chat.Max)),
	})

	pa.Stop(5 * time.Second)
	pb.Stop(5 * time.Second)
	r.fileRate, r.fileWhole, r.fileSrc = ours, median(wholes), src

	// Wi-Fi rates: links where a transfer takes minutes.
	wsrc := src
	if sz.wifiBytes != size {
		os.Remove(src) // croc makes its own
		r.fileSrc = ""
		logf("files: writing a %d MiB random file for the Wi-Fi rates", sz.wifiBytes>>20)
		wsrc = makeFile(tempDir("src"), sz.wifiBytes)
	}
	for _, mbit := range wifiRates {
		wifiRound(r, a, b, wsrc, sz.wifiBytes, mbit)
	}
	if wsrc != src {
		os.Remove(wsrc)
	}
}

// wifiRates are the Wi-Fi link rates of the files phase, in Mbit/s.
var wifiRates = []int64{80, 20}

// wifiRound sends src from a to b over links shaped to mbit, next to a raw
// TCP copy over the same link. Each transfer is given twice what the link
// allows (and 30 s): one that does not finish by then is reported, with
// the copies of the file it left in the downloads folder, and the run
// goes on.
func wifiRound(r *report, a, b *testnet.Host, src string, size int64, mbit int64) {
	link := linkTime(size, mbit)
	limit := wifiLimit(size, mbit)
	mib := size >> 20
	a.LimitRate(tb, mbit*1e6)
	b.LimitRate(tb, mbit*1e6)
	defer a.LimitRate(tb, 0)
	defer b.LimitRate(tb, 0)
	logf("files: %d MiB over %d Mbit/s (the link allows %v; each copy given %v): raw TCP copy, then p2pchat", mib, mbit, link.Round(time.Second), limit.Round(time.Second))
	rs := rawCopyWithin(a, b, src, limit)
	logf("  raw %.2f MB/s in %.1f s", rs.Rate/1e6, rs.Secs)

	dl := tempDir("downloads")
	pa := startP2P(a, "a")
	pb := startP2P(b, "b", "-downloads", dl, "-accept-from", "a")
	defer pa.Stop(5 * time.Second)
	defer pb.Stop(5 * time.Second)
	waitReady(pa)
	waitReady(pb)
	waitJoined(pa, 0, []string{"b"}, time.Now().Add(joinTimeout))
	waitJoined(pb, 0, []string{"a"}, time.Now().Add(joinTimeout))
	m := pa.Mark()
	ids := pa.SendTo(tb, "b", chatText)
	must(pa, m, msgTimeout, "delivered", proctest.IsDelivered("b", ids[0]))

	am, bm := pa.Mark(), pb.Mark()
	sent := time.Now()
	pa.Send("/send b " + strconv.Quote(src))
	off := must(pa, am, time.Minute, "offered", proctest.IsKind("offered"))
	var lats []time.Duration
	lost := 0
	var done proctest.Event
	failed := ""
	for deadline := off.At.Add(limit); ; {
		if e, ok := lastDone(pb, bm); ok {
			done = e
			break
		}
		if time.Now().After(deadline) {
			failed = fmt.Sprintf("not done after %v", limit.Round(time.Second))
			break
		}
		if took, ok := chatOnce(pa, "b", chatText, msgTimeout); ok {
			lats = append(lats, took)
		} else {
			lost++
		}
		time.Sleep(time.Second) // a slow link: one message a second
	}
	var got struct {
		Path string `json:"path"`
	}
	var took time.Duration
	if failed == "" {
		took = done.At.Sub(off.At)
		done.Decode(&got)
	} else {
		cancelOffered(pa, am)
	}
	// What the receiver left in the downloads folder: copies of the file
	// (payload.bin, payload (1).bin, ...), whole or not.
	var copies []string
	ents, _ := os.ReadDir(dl)
	for _, e := range ents {
		if st, err := e.Info(); err == nil && st.Mode().IsRegular() && strings.HasPrefix(e.Name(), "payload") {
			copies = append(copies, fmt.Sprintf("%s (%.0f MB)", e.Name(), float64(st.Size())/1e6))
		}
	}
	if failed == "" && got.Path != "" {
		sameFile(src, got.Path)
	}
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dl, e.Name()))
	}
	chat := summarize(lats)
	rate := 0.0
	if took > 0 {
		rate = float64(size) / took.Seconds()
	}
	logf("  p2pchat: %s, %.2f MB/s (%.0f%% of raw), %d copies in the downloads folder: %s; chat p50 %s max %s (%d lost); hashing for the offer %v",
		okOr(failed), rate/1e6, 100*rate/rs.Rate, len(copies), strings.Join(copies, ", "), fmtMicros(chat.P50), fmtMicros(chat.Max), lost, off.At.Sub(sent).Round(time.Millisecond))
	link1 := fmt.Sprintf("both laptops' eth0 shaped with tc tbf to %d Mbit/s (testnet LimitRate), one round each, given %v (twice the link's time and 30 s); the 2 cores were shared with other engineers' builds and tests", mbit, limit.Round(time.Second))
	fig := figure{
		Phase: "files", Name: fmt.Sprintf("file transfer %d MiB over a %d Mbit/s link (Wi-Fi)", mib, mbit), Impl: "p2pchat process (offer sent to verified at the receiver)",
		Value: rate / 1e6, Unit: unitMBs, Floor: rs.Rate / 1e6, FloorName: "raw TCP copy over the same link", Higher: true,
		Goal: ">= 95% of floor", Met: failed == "" && rate >= 0.95*rs.Rate,
		Note: fmt.Sprintf("%s; raw copy %.1f s; chat during it, one message a second: p50 %s, max %s, %d not delivered within %v", link1, rs.Secs, fmtMicros(chat.P50), fmtMicros(chat.Max), lost, msgTimeout),
	}
	if failed != "" {
		fig.Text = failed
	} else {
		fig.Note = fmt.Sprintf("%v from the offer to verified; %s", took.Round(100*time.Millisecond), fig.Note)
	}
	r.add(fig)
	r.add(figure{
		Phase: "files", Name: fmt.Sprintf("copies of the file in the downloads folder after the %d Mbit/s transfer", mbit), Impl: "p2pchat receiver",
		Value: float64(len(copies)), Unit: unitCount, Floor: -1, Goal: "exactly 1", Met: len(copies) == 1,
		Note: fmt.Sprintf("files named payload* in the downloads folder when the transfer ended or was given up: %s", orNone(copies)),
	})
}

// linkTime is how long size bytes take at mbit Mbit/s.
func linkTime(size, mbit int64) time.Duration {
	return time.Duration(float64(size*8) / float64(mbit*1e6) * float64(time.Second))
}

// wifiLimit is what each copy over a link of mbit Mbit/s is given.
func wifiLimit(size, mbit int64) time.Duration { return 2*linkTime(size, mbit) + 30*time.Second }

// lastDone returns p's transfer-done event of a complete transfer since
// event m.
func lastDone(p *proctest.Proc, m int) (proctest.Event, bool) {
	evs, _, _ := p.Snapshot(m)
	for _, e := range evs {
		if e.Event != "transfer-done" {
			continue
		}
		var v struct {
			Last bool `json:"last"`
		}
		if e.Decode(&v) == nil && v.Last {
			return e, true
		}
	}
	return proctest.Event{}, false
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}

// phaseCroc: the same file with croc, from laptop 1 to laptop 2 through a
// croc relay on laptop 3, next to the files phase's p2pchat figure.
func phaseCroc(r *report, sz sizes, _ string) {
	memNote := steadyMemory(4 * sz.fileBytes)
	lab := newLab(3)
	defer closeLab(lab)
	a, b, c := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	for _, h := range lab.Hosts {
		labOnly(h)
	}
	src := r.fileSrc
	if src == "" {
		src = makeFile(tempDir("src"), sz.fileBytes)
	}
	mib := sz.fileBytes >> 20
	notMeasured := func(err error) {
		logf("croc not measured: %v", err)
		r.failures = append(r.failures, "croc not measured: "+firstLine(err.Error()))
		r.add(figure{Name: fmt.Sprintf("file transfer %d MiB, croc %s", mib, crocVersion), Impl: "croc", Unit: unitMBs, Floor: -1,
			Goal: ">= 5x croc", Note: "not measured: " + firstLine(err.Error())})
	}
	logf("croc %s: go install from the module proxy", crocVersion)
	crocBin, err := buildCroc()
	if err != nil {
		notMeasured(err)
		return
	}
	logf("croc: %d MiB over a relay on a third laptop", mib)
	rate, took, err := crocRun(crocBin, a, b, c, src, 5*time.Minute)
	if err != nil {
		notMeasured(err)
		return
	}
	crocName := "croc " + crocVersion + " (go install), relay on a third laptop, --no-local --no-compress"
	if r.fileRate == 0 {
		r.add(figure{Name: fmt.Sprintf("file transfer %d MiB, croc", mib), Impl: crocName, Value: rate / 1e6, Unit: unitMBs, Floor: -1,
			Goal: "stated (run the files phase too for the ratio)", Stated: true,
			Note: fmt.Sprintf("%v from the sender's start to the receiver's exit", took.Round(time.Millisecond))})
		return
	}
	r.add(figure{
		Name: fmt.Sprintf("file transfer %d MiB, p2pchat against croc", mib), Impl: "p2pchat process (the files phase's median)",
		Value: r.fileRate / 1e6, Unit: unitMBs, Floor: rate / 1e6, FloorName: crocName,
		Higher: true, Goal: ">= 5x croc", Met: r.fileRate >= 5*rate,
		Note: fmt.Sprintf("croc: %v from the sender's start to the receiver's exit (its hashing, PAKE and relay set-up included); p2pchat from `/send` to verified, its offer's hashing included: %.0f MB/s (%.1fx croc); %s",
			took.Round(time.Millisecond), r.fileWhole/1e6, r.fileWhole/rate, memNote),
	})
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func fmtRates(v []float64) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.0f", x/1e6)
	}
	return b.String() + " MB/s"
}
