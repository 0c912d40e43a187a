package e2e

// Interoperability with standard DNS-SD: other mDNS stacks must see p2pchat
// nodes with the right records, and p2pchat must work next to them.
//
// The tests run avahi-daemon (with avahi-browse) and python3-zeroconf inside
// lab hosts, never in the caller's namespace, and skip when the tools are
// missing (Debian: apt-get install --no-install-recommends avahi-daemon
// avahi-utils python3-zeroconf dbus; make sure the install starts no daemon,
// e.g. with a policy-rc.d that exits 101).
//
// Recipe for avahi-daemon in a lab host (iopStartAvahi):
//
//   - avahi-browse talks to the daemon over the D-Bus system bus, so each
//     host gets its own dbus-daemon, started in the host's namespace with a
//     config file in a temporary directory: <type>system</type>, a listen
//     address unix:path=<tmp>/bus, EXTERNAL auth and a policy allowing
//     everything (everything runs as root). DBUS_SYSTEM_BUS_ADDRESS=
//     unix:path=<tmp>/bus points both avahi-daemon and avahi-browse at it;
//     the socket is a file in /tmp, so the shared file system is no problem.
//   - avahi-daemon keeps its pid file and socket in the compiled-in
//     /run/avahi-daemon, shared by every namespace, and refuses to start
//     when another daemon's pid file is there. `ip netns exec` already puts
//     the command in a private (slave) mount namespace, so mounting a tmpfs
//     on /run there gives each daemon its own /run that nobody else sees.
//   - avahi-daemon -f <tmp>/avahi.conf --no-drop-root --no-chroot
//     --no-rlimits --no-proc-title, with use-ipv6=no, allow-interfaces=eth0,
//     enable-dbus=yes, enable-wide-area=no, and host-name the lab host's;
//     it is ready when it logs "Server startup complete".
//
// Every daemon is stopped in t.Cleanup (SIGTERM, then SIGKILL) and the test
// checks it runs in the lab host's network namespace.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/discovery"
	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
)

// iopBrowseTimeout bounds how long a foreign browser may take to find a node.
const iopBrowseTimeout = 20 * time.Second

// iopService is p2pchat's DNS-SD service type.
const iopService = "_p2pchat._udp"

// iopNeed skips the test when a tool is missing.
func iopNeed(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("interop test needs %s (Debian: apt-get install --no-install-recommends avahi-daemon avahi-utils dbus python3-zeroconf): %v", tool, err)
		}
	}
}

// iopDaemon is a long-running helper process in a lab host.
type iopDaemon struct {
	name   string
	host   *testnet.Host
	cmd    *exec.Cmd
	stderr *proctest.Buffer
	done   chan struct{}
	err    error
}

// iopStart starts cmd (made with host.Command) and stops it in t.Cleanup.
func iopStart(t *testing.T, name string, host *testnet.Host, cmd *exec.Cmd) *iopDaemon {
	t.Helper()
	d := &iopDaemon{name: name, host: host, cmd: cmd, stderr: &proctest.Buffer{}, done: make(chan struct{})}
	cmd.Stdout = d.stderr
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s on %s: start: %v", name, host.Name, err)
	}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			t.Logf("---- %s on %s: output:\n%s", d.name, d.host.Name, d.stderr.String())
		}
	})
	return d
}

func (d *iopDaemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop ends the daemon (SIGTERM, then SIGKILL) and checks it is gone.
func (d *iopDaemon) stop(t *testing.T) {
	if !d.exited() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Signal(syscall.SIGKILL)
			select {
			case <-d.done:
			case <-time.After(5 * time.Second):
				t.Errorf("%s on %s (pid %d) survives SIGKILL", d.name, d.host.Name, d.cmd.Process.Pid)
			}
		}
	}
}

// checkNamespace checks the daemon runs in its host's network namespace
// and is the program it should be (each step of Host.Command execs the
// next, so the pid is the daemon's).
func (d *iopDaemon) checkNamespace(t *testing.T, comm string) {
	t.Helper()
	pid := d.cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(b)) == comm {
			break
		}
		if d.exited() || time.Now().After(deadline) {
			t.Fatalf("%s on %s: pid %d is %q, not %s (exited: %v)\n%s", d.name, d.host.Name, pid, bytes.TrimSpace(b), comm, d.exited(), d.stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling for the exec chain to end
	}
	out, err := exec.Command("ip", "netns", "identify", strconv.Itoa(pid)).Output()
	if ns := strings.TrimSpace(string(out)); err != nil || ns != d.host.Name {
		t.Fatalf("%s (pid %d) runs in network namespace %q (err %v), want %s", d.name, pid, ns, err, d.host.Name)
	}
}

// iopCheckNoAvahiOutsideLabs fails the test if an avahi-daemon runs in a
// network namespace that has no name (the caller's, typically).
func iopCheckNoAvahiOutsideLabs(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != "avahi-daemon" {
			continue
		}
		pid := filepath.Base(filepath.Dir(p))
		if st, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie holds no socket
		}
		out, _ := exec.Command("ip", "netns", "identify", pid).Output()
		if strings.TrimSpace(string(out)) == "" {
			t.Errorf("avahi-daemon pid %s runs outside every lab namespace: stop it (it multicasts on the real network)", pid)
		}
	}
}

// iopAvahi is avahi-daemon and its own dbus-daemon in one lab host.
type iopAvahi struct {
	host   *testnet.Host
	bus    string // DBUS_SYSTEM_BUS_ADDRESS value
	daemon *iopDaemon
}

const iopDBusConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

const iopAvahiConf = `[server]
host-name=%s
use-ipv4=yes
use-ipv6=no
allow-interfaces=%s
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
`

// iopStartAvahi starts dbus-daemon and avahi-daemon in h (see the recipe at
// the top of this file) and waits until avahi is up.
func iopStartAvahi(t *testing.T, h *testnet.Host) *iopAvahi {
	t.Helper()
	iopNeed(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	// A short directory: a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "p2pav")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "bus")
	dbusConf := filepath.Join(dir, "dbus.conf")
	avahiConf := filepath.Join(dir, "avahi.conf")
	if err := os.WriteFile(dbusConf, []byte(fmt.Sprintf(iopDBusConf, sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(avahiConf, []byte(fmt.Sprintf(iopAvahiConf, h.Hostname, testnet.Iface)), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &iopAvahi{host: h, bus: "unix:path=" + sock}

	dbus := iopStart(t, "dbus-daemon", h, h.Command(context.Background(),
		"dbus-daemon", "--config-file="+dbusConf, "--nofork", "--nopidfile"))
	dbus.checkNamespace(t, "dbus-daemon")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if dbus.exited() || time.Now().After(deadline) {
			t.Fatalf("dbus-daemon on %s did not create %s (exited: %v)\n%s", h.Name, sock, dbus.exited(), dbus.stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling for the socket
	}

	cmd := h.Command(context.Background(), "sh", "-c", `mount -t tmpfs p2ptest-run /run && exec "$@"`, "sh",
		"avahi-daemon", "-f", avahiConf, "--no-drop-root", "--no-chroot", "--no-rlimits", "--no-proc-title")
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.bus)
	a.daemon = iopStart(t, "avahi-daemon", h, cmd)
	a.daemon.checkNamespace(t, "avahi-daemon")
	iopCheckNoAvahiOutsideLabs(t)
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(a.daemon.stderr.String(), "Server startup complete") {
		if a.daemon.exited() || time.Now().After(deadline) {
			t.Fatalf("avahi-daemon on %s did not start (exited: %v, %v)\n%s", h.Name, a.daemon.exited(), a.daemon.err, a.daemon.stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling for the log line
	}
	return a
}

// iopEntry is one resolved service instance, as a foreign browser saw it.
type iopEntry struct {
	Instance string
	Host     string // SRV target
	Addr     string
	Port     int
	TXT      map[string]string // first occurrence of each key
}

func (e iopEntry) String() string {
	return fmt.Sprintf("%s at %s:%d (%s) %q", e.Instance, e.Addr, e.Port, e.Host, e.TXT)
}

// iopTXTMap turns "k=v" strings into a map, keeping the first of each key.
func iopTXTMap(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		if _, dup := m[strings.ToLower(k)]; !dup {
			m[strings.ToLower(k)] = v
		}
	}
	return m
}

// iopAvahiUnescape decodes avahi's escaping: "\DDD" is a decimal byte,
// "\X" is X.
func iopAvahiUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigits(s[i+1:i+4]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			if n > 255 {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("lone backslash at the end of %q", s)
		}
		i++
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// iopParseAvahiTXT splits avahi-browse's TXT column (`"a=1" "b=\229..."`)
// into its decoded strings.
func iopParseAvahiTXT(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		if s[i] != '"' {
			return nil, fmt.Errorf("TXT column %q: expected '\"' at %d", s, i)
		}
		j := i + 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' {
				j++
			}
		}
		if j >= len(s) {
			return nil, fmt.Errorf("TXT column %q: unterminated string", s)
		}
		str, err := iopAvahiUnescape(s[i+1 : j])
		if err != nil {
			return nil, err
		}
		out = append(out, str)
		i = j + 1
	}
	return out, nil
}

// iopParseAvahiBrowse reads the resolved ("=") lines of `avahi-browse -rpt`.
func iopParseAvahiBrowse(out string) ([]iopEntry, error) {
	var entries []iopEntry
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "=;") {
			continue
		}
		// =;iface;proto;instance;type;domain;host;address;port;txt
		f := strings.SplitN(line, ";", 10)
		if len(f) != 10 {
			return nil, fmt.Errorf("short avahi-browse line %q", line)
		}
		inst, err := iopAvahiUnescape(f[3])
		if err != nil {
			return nil, err
		}
		port, err := strconv.Atoi(f[8])
		if err != nil {
			return nil, fmt.Errorf("avahi-browse line %q: port: %v", line, err)
		}
		txt, err := iopParseAvahiTXT(f[9])
		if err != nil {
			return nil, err
		}
		entries = append(entries, iopEntry{Instance: inst, Host: f[6], Addr: f[7], Port: port, TXT: iopTXTMap(txt)})
	}
	return entries, nil
}

// browse runs `avahi-browse -rpt _p2pchat._udp` in the host until every id
// in ids shows up resolved, and returns the last listing.
func (a *iopAvahi) browse(t *testing.T, ids ...string) map[string]iopEntry {
	t.Helper()
	deadline := time.Now().Add(iopBrowseTimeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cmd := a.host.Command(ctx, "avahi-browse", "-rpt", iopService)
		cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.bus)
		out, err := cmd.CombinedOutput()
		cancel()
		last = string(out)
		if err != nil {
			t.Logf("avahi-browse on %s: %v\n%s", a.host.Name, err, out)
		}
		entries, perr := iopParseAvahiBrowse(last)
		if perr != nil {
			t.Fatalf("avahi-browse on %s: %v\n%s", a.host.Name, perr, last)
		}
		got := map[string]iopEntry{}
		for _, e := range entries {
			if _, dup := got[e.Instance]; !dup || e.Addr != "" {
				got[e.Instance] = e
			}
		}
		missing := false
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				missing = true
			}
		}
		if !missing {
			return got
		}
		if a.daemon.exited() {
			t.Fatalf("avahi-daemon on %s exited: %v\n%s", a.host.Name, a.daemon.err, a.daemon.stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("avahi-browse on %s did not list all of %q within %v; last output:\n%s", a.host.Name, ids, iopBrowseTimeout, last)
		}
		time.Sleep(500 * time.Millisecond) // browsing again
	}
}

// iopCheckEntry checks that a foreign browser saw p (running on h) with the
// right SRV, A and TXT records.
func iopCheckEntry(t *testing.T, who string, e iopEntry, p *Proc, h *testnet.Host, port int) {
	t.Helper()
	ready := p.Ready()
	want := map[string]string{
		"v":    strconv.Itoa(discovery.Version),
		"id":   string(ready.ID),
		"name": p.Name,
		"host": h.Hostname,
	}
	if e.Addr != h.IP.String() || e.Port != port {
		t.Errorf("%s sees %s at %s:%d, want %s:%d", who, p, e.Addr, e.Port, h.IP, port)
	}
	for k, v := range want {
		if e.TXT[k] != v {
			t.Errorf("%s sees %s with TXT %s=%q, want %q (entry %v)", who, p, k, e.TXT[k], v, e)
		}
	}
	if len(e.TXT["key"]) != 43 {
		t.Errorf("%s sees %s with TXT key=%q, want 43 base64url characters", who, p, e.TXT["key"])
	}
	if e.Host != "p2pchat-"+string(ready.ID)+".local" && e.Host != "p2pchat-"+string(ready.ID)+".local." {
		t.Errorf("%s sees %s on host %q, want p2pchat-%s.local", who, p, e.Host, ready.ID)
	}
}

// TestAvahiBrowseParsing checks the avahi-browse -p parser the tests use.
func TestAvahiBrowseParsing(t *testing.T) {
	shared(t)
	out := "+;eth0;IPv4;0ee6708f1aad9bf0;_p2pchat._udp;local\n" +
		`=;eth0;IPv4;0ee6708f1aad9bf0;_p2pchat._udp;local;p2pchat-0ee6708f1aad9bf0.local;10.99.0.1;7117;"host=laptop1" "key=Iu8l0OY2dBvwv_59h3e0TAbkf-JsDh8vT36DLbbErxE" "name=\229\176\143\230\152\142" "id=0ee6708f1aad9bf0" "q=a\"b\\c;d" "v=1"` + "\n"
	entries, err := iopParseAvahiBrowse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Instance != "0ee6708f1aad9bf0" || e.Addr != "10.99.0.1" || e.Port != 7117 || e.TXT["name"] != "小明" ||
		e.TXT["q"] != `a"b\c;d` || e.TXT["v"] != "1" || e.TXT["host"] != "laptop1" {
		t.Errorf("parsed %v", e)
	}
}

// TestAvahiSeesP2PChat: avahi-browse on another host lists a p2pchat node
// with its address, port and TXT fields, a Chinese nickname included.
func TestAvahiSeesP2PChat(t *testing.T) {
	shared(t)
	iopNeed(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	lab := testnet.New(t, 3)
	xm := StartNode(t, lab.Hosts[0], "小明")
	other := StartNode(t, lab.Hosts[2], "bob")
	av := iopStartAvahi(t, lab.Hosts[1])

	got := av.browse(t, string(xm.Ready().ID), string(other.Ready().ID))
	iopCheckEntry(t, "avahi on "+lab.Hosts[1].Hostname, got[string(xm.Ready().ID)], xm, lab.Hosts[0], port)
	iopCheckEntry(t, "avahi on "+lab.Hosts[1].Hostname, got[string(other.Ready().ID)], other, lab.Hosts[2], port)
	for id, e := range got {
		if id != string(xm.Ready().ID) && id != string(other.Ready().ID) {
			t.Errorf("avahi lists an unexpected instance %v", e)
		}
	}
	// The nodes themselves still found each other.
	xm.WaitJoined(t, "bob")
	other.WaitJoined(t, "小明")
}

// iopZeroconfScript browses with python-zeroconf until the instance named
// by argv[2] is resolved (or argv[1] seconds pass) and prints every resolved
// instance as JSON, TXT values decoded as UTF-8.
const iopZeroconfScript = `
import json, socket, sys, time
from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

TYPE = "_p2pchat._udp.local."
names = set()

class Listener(ServiceListener):
    def add_service(self, zc, type_, name):
        names.add(name)
    def update_service(self, zc, type_, name):
        names.add(name)
    def remove_service(self, zc, type_, name):
        pass

zc = Zeroconf(ip_version=IPVersion.V4Only)
try:
    ServiceBrowser(zc, TYPE, Listener())
    deadline = time.time() + float(sys.argv[1])
    want = sys.argv[2] + "." + TYPE
    found = {}
    while time.time() < deadline and want not in found:
        time.sleep(0.2)
        for name in list(names):
            if name in found:
                continue
            info = zc.get_service_info(TYPE, name, timeout=3000)
            if info is None:
                continue
            found[name] = {
                "instance": name[: -len(TYPE) - 1],
                "host": info.server,
                "port": info.port,
                "addresses": [socket.inet_ntoa(a) for a in info.addresses_by_version(IPVersion.V4Only)],
                "txt": {k.decode("utf-8"): (v.decode("utf-8") if v is not None else None)
                        for k, v in info.properties.items()},
            }
    print(json.dumps(list(found.values()), ensure_ascii=False))
finally:
    zc.close()
`

// iopPython returns a python3 that can import zeroconf, or skips.
func iopPython(t *testing.T) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3") // Debian's python3-zeroconf, past a pyenv shim
	for _, p := range cands {
		// Importing sends nothing on the network.
		if err := exec.Command(p, "-c", "import zeroconf").Run(); err == nil {
			return p
		}
	}
	t.Skipf("interop test needs a python3 with zeroconf (Debian: apt-get install python3-zeroconf); tried %q", cands)
	return ""
}

// TestZeroconfSeesP2PChat: python-zeroconf on another host resolves a
// p2pchat node: address, port, TXT properties with the Chinese nickname.
func TestZeroconfSeesP2PChat(t *testing.T) {
	shared(t)
	py := iopPython(t)
	lab := testnet.New(t, 2)
	xm := StartNode(t, lab.Hosts[0], "小明")
	script := filepath.Join(t.TempDir(), "browse.py")
	if err := os.WriteFile(script, []byte(iopZeroconfScript), 0o644); err != nil {
		t.Fatal(err)
	}
	id := string(xm.Ready().ID)
	ctx, cancel := context.WithTimeout(context.Background(), iopBrowseTimeout+15*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := lab.Hosts[1].Command(ctx, py, script, strconv.Itoa(int(iopBrowseTimeout/time.Second)), id)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zeroconf script on %s: %v\nstdout:\n%s\nstderr:\n%s", lab.Hosts[1].Name, err, out, stderr.String())
	}
	var found []struct {
		Instance  string            `json:"instance"`
		Host      string            `json:"host"`
		Port      int               `json:"port"`
		Addresses []string          `json:"addresses"`
		TXT       map[string]string `json:"txt"`
	}
	if err := json.Unmarshal(out, &found); err != nil {
		t.Fatalf("zeroconf script output: %v\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	for _, f := range found {
		if f.Instance != id {
			t.Errorf("zeroconf found an unexpected instance %+v", f)
			continue
		}
		if len(f.Addresses) != 1 {
			t.Errorf("zeroconf sees %s at addresses %q, want just %s", xm, f.Addresses, lab.Hosts[0].IP)
			continue
		}
		iopCheckEntry(t, "zeroconf on "+lab.Hosts[1].Hostname,
			iopEntry{Instance: f.Instance, Host: f.Host, Addr: f.Addresses[0], Port: f.Port, TXT: f.TXT},
			xm, lab.Hosts[0], port)
		return
	}
	t.Fatalf("zeroconf did not resolve %s within %v; found %s\nstderr:\n%s", xm, iopBrowseTimeout, out, stderr.String())
}

// TestCoexistsWithAvahi: p2pchat and avahi-daemon share port 5353 on one
// host; p2pchat still finds and chats with a node on another host, and
// avahi still sees both nodes (it did not before p2pchat answered avahi's
// queries by multicast: the kernel handed the unicast answers to p2pchat's
// socket on the shared port).
func TestCoexistsWithAvahi(t *testing.T) {
	shared(t)
	iopNeed(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	lab := testnet.New(t, 2)
	av := iopStartAvahi(t, lab.Hosts[0])
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, lab.Hosts[1], "bob")

	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")
	if e := alice.Wait(t, 0, IsJoined("bob")); e.Addr != peerAddr(lab.Hosts[1]) {
		t.Errorf("alice: bob joined from %q, want %q", e.Addr, peerAddr(lab.Hosts[1]))
	}
	ids := alice.SendTo(t, "bob", "hello next to avahi")
	bob.Wait(t, msgTimeout, IsMessage("alice", "bob", "hello next to avahi"))
	alice.Wait(t, msgTimeout, IsDelivered("bob", ids[0]))
	ids = bob.SendTo(t, "alice", "你好")
	alice.Wait(t, msgTimeout, IsMessage("bob", "alice", "你好"))
	bob.Wait(t, msgTimeout, IsDelivered("alice", ids[0]))

	got := av.browse(t, string(alice.Ready().ID), string(bob.Ready().ID))
	iopCheckEntry(t, "avahi on "+lab.Hosts[0].Hostname, got[string(bob.Ready().ID)], bob, lab.Hosts[1], port)
	iopCheckEntry(t, "avahi on "+lab.Hosts[0].Hostname, got[string(alice.Ready().ID)], alice, lab.Hosts[0], port)
	for _, p := range []*Proc{alice, bob} {
		if p.Exited() {
			t.Errorf("%s exited", p)
		}
	}
}

// TestTwoInstancesOneHost: three p2pchat processes on one host (explicit
// default port, default port taken so a free one is used, another explicit
// port) and one on another host all find each other and chat.
func TestTwoInstancesOneHost(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	h1, h2 := lab.Hosts[0], lab.Hosts[1]
	alice := StartNode(t, h1, "alice", "-port", strconv.Itoa(port))
	bob := StartNode(t, h1, "bob") // 7117 is alice's
	dave := StartNode(t, h1, "dave", "-port", "7300")
	carol := StartNode(t, h2, "carol")

	bobPort := bob.Ready().Port
	if bobPort == port || bobPort == 0 {
		t.Fatalf("bob, started after alice on the same host without -port, is on port %d; want a free one other than %d", bobPort, port)
	}
	if want := fmt.Sprintf("port %d is in use", port); !strings.Contains(bob.Stderr().String(), want) {
		t.Errorf("bob's stderr does not say %q:\n%s", want, bob.Stderr().String())
	}
	if alice.Ready().Port != port || dave.Ready().Port != 7300 || carol.Ready().Port != port {
		t.Errorf("ports: alice %d dave %d carol %d, want %d 7300 %d", alice.Ready().Port, dave.Ready().Port, carol.Ready().Port, port, port)
	}

	all := map[string]*Proc{"alice": alice, "bob": bob, "dave": dave, "carol": carol}
	addr := map[string]string{
		"alice": fmt.Sprintf("%s:%d", h1.IP, port),
		"bob":   fmt.Sprintf("%s:%d", h1.IP, bobPort),
		"dave":  fmt.Sprintf("%s:7300", h1.IP),
		"carol": fmt.Sprintf("%s:%d", h2.IP, port),
	}
	for name, p := range all {
		for other := range all {
			if other == name {
				continue
			}
			e := p.Wait(t, joinTimeout, IsJoined(other))
			if e.Addr != addr[other] {
				t.Errorf("%s: %s joined from %s, want %s", name, other, e.Addr, addr[other])
			}
		}
	}

	// A ring of direct messages, across and within the host.
	ring := []string{"alice", "bob", "carol", "dave", "alice"}
	for i := 0; i+1 < len(ring); i++ {
		from, to := all[ring[i]], all[ring[i+1]]
		text := fmt.Sprintf("%s to %s", from.Name, to.Name)
		ids := from.SendTo(t, to.Name, text)
		to.Wait(t, msgTimeout, IsMessage(from.Name, to.Name, text))
		from.Wait(t, msgTimeout, IsDelivered(to.Name, ids[0]))
	}
	// And /all from the other host reaches the three on this one.
	carol.Send("/all 大家好")
	for _, p := range []*Proc{alice, bob, dave} {
		p.Wait(t, msgTimeout, IsMessage("carol", "all", "大家好"))
	}
}

// TestAvahiSeesGoodbye: avahi-browse, left running on another host from
// before the node starts, lists the node at once (it announces itself) and
// shows it leave about a second after /quit: p2pchat says goodbye (its
// records with TTL 0, RFC 6762 section 10.1). Without announcements the
// running browser did not list the node within 20 s; without the goodbye
// it would keep listing it until its records expire (120 s).
func TestAvahiSeesGoodbye(t *testing.T) {
	alone(t)
	iopNeed(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	lab := testnet.New(t, 2)
	av := iopStartAvahi(t, lab.Hosts[1])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := av.host.Command(ctx, "avahi-browse", "-p", iopService)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+av.bus)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		text string
		at   time.Time
	}
	lines := make(chan line, 64)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- line{sc.Text(), time.Now()}
		}
		close(lines)
	}()
	alice := StartNode(t, lab.Hosts[0], "alice")
	id := string(alice.Ready().ID)
	wait := func(prefix string, timeout time.Duration) time.Time {
		t.Helper()
		deadline := time.After(timeout)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("avahi-browse ended before %q for %s", prefix, id)
				}
				if strings.HasPrefix(l.text, prefix) && strings.Contains(l.text, ";"+id+";") {
					return l.at
				}
			case <-deadline:
				t.Fatalf("avahi-browse did not print %q for %s within %v", prefix, id, timeout)
			}
		}
	}
	wait("+;", iopBrowseTimeout)
	quit := time.Now()
	alice.Send("/quit")
	gone := wait("-;", 5*time.Second)
	t.Logf("avahi-browse shows alice gone %v after /quit", gone.Sub(quit).Round(time.Millisecond))
	// A querier keeps a record one second after its goodbye (RFC 6762
	// section 10.1: "record a TTL of 1 and then delete the record one
	// second later"), and avahi does: 1 s is the floor; the rest is p2pchat.
	if d := gone.Sub(quit); d > 1500*time.Millisecond {
		t.Errorf("avahi-browse showed alice gone %v after /quit, want within 1.5 s (avahi's own 1 s grace included)", d)
	}
	if code := alice.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("alice exited with %d", code)
	}
}
