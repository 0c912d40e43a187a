// Command p2pchat is a peer-to-peer messenger for the local network: nodes
// find each other over mDNS and talk over one UDP socket each, end-to-end
// encrypted, with TCP where UDP does not get through. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/discovery"
	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/roomsnet"
	"github.com/p2pchat/p2pchat/shell"
	"github.com/p2pchat/p2pchat/transfer"
	"golang.org/x/term"
)

// Exit codes.
const (
	exitOK    = 0 // normal end
	exitError = 1 // could not start (home unusable, interface missing, ...)
	exitUsage = 2 // bad flags or arguments
	exitFiles = 3 // input ended, but a /send was not accepted and verified
	exitQueue = 4 // input ended, but messages wait for peers that are away (kept on disk for the next run)
	exitWait  = 5 // a piped /send gave up: no answer to the offer, or no progress, for -send-timeout
)

// flushTimeout bounds the wait for acknowledgements at end of input.
const flushTimeout = 5 * time.Second

// lockWait is how long a start waits for another p2pchat to let go of the
// home's message store (one quitting as this one starts).
const lockWait = 500 * time.Millisecond

type options struct {
	name, home, bind      string
	downloads, acceptFrom string
	port                  int
	peers, ifaces         []string
	peerAddrs             []netip.AddrPort // peers resolved, once, by parseFlags
	tcp, json, verbose    bool
	mdns, bell, version   bool
	keep                  bool
	notify                string
	sendTimeout           time.Duration
}

type listFlag struct{ list *[]string }

func (l listFlag) String() string     { return "" }
func (l listFlag) Set(s string) error { *l.list = append(*l.list, s); return nil }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("p2pchat", flag.ContinueOnError)
	fs.StringVar(&o.name, "name", defaultName(), "your nickname (no spaces, '@' or '/'; at most 32 characters)")
	fs.IntVar(&o.port, "port", peer.DefaultPort, "UDP and TCP port to listen on; if taken, a free one is used instead")
	fs.StringVar(&o.home, "home", defaultHome(), "directory for your identity key, trusted peers, messages not yet delivered or shown, and input history (one p2pchat per home)")
	fs.Var(listFlag{&o.ifaces}, "iface", "network `interface` for discovery, e.g. wlan0 (repeatable; default: every suitable one)")
	fs.StringVar(&o.bind, "bind", "", "IPv4 address to listen on, alone (default: all, IPv4 and IPv6)")
	fs.Var(listFlag{&o.peers}, "peer", "`host:port` of a peer to contact directly, where multicast is blocked (repeatable; IPv6 as [2001:db8::5]:7117, link-local with its interface: [fe80::1%eth0]:7117)")
	fs.BoolVar(&o.tcp, "tcp", false, "send everything over TCP and ask peers to answer over TCP")
	fs.BoolVar(&o.json, "json", false, "print every event as one JSON object per line (for scripts and bots)")
	fs.BoolVar(&o.verbose, "v", false, "debug logs to stderr")
	fs.BoolVar(&o.mdns, "mdns", true, "find peers with mDNS; -mdns=false relies on -peer only")
	fs.BoolVar(&o.bell, "bell", true, "ring the terminal bell on direct messages and mentions of your name")
	fs.StringVar(&o.notify, "notify", "", "run this `program` with a title and a body on direct messages and mentions of your name, e.g. notify-send (run directly, not by a shell; not while the terminal reports this window has the focus)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.keep, "store", true, "keep messages on disk in -home until their recipient has them (-store=false: in memory only, lost if p2pchat stops)")
	fs.StringVar(&o.downloads, "downloads", defaultDownloads(), "folder where received files land")
	fs.DurationVar(&o.sendTimeout, "send-timeout", 2*time.Minute, "when stdin is not a terminal: give up a /send whose offer is not answered, or that makes no progress (the peer is gone), for this long (exit 5); 0 waits for ever")
	fs.StringVar(&o.acceptFrom, "accept-from", "", "accept files from these peers without asking, once the name is pinned to their key (comma-separated names, e.g. bob,张伟)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `p2pchat: chat with everyone on your local network, no server needed.

Usage: p2pchat [flags]

Peers on the same network appear by themselves. Type /help inside for the
commands: /to NAME TEXT, /all TEXT, /peers, /nick, /whois, /trust, /quit.
When standard input is not a terminal, commands are read line by line and
p2pchat exits after the last one is delivered:
  printf '/to bob build done\n' | p2pchat -name ci

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nExit status: 0 normal end, 1 could not start, 2 bad flags, 3 a /send not accepted and verified,\n"+
			"4 messages still wait for peers that are away (kept in -home: the next run with it delivers them), 5 a /send given up after -send-timeout.\n"+
			"Environment: NO_COLOR turns colours off; GOMAXPROCS=N lets Go use N processors (p2pchat uses one on Linux, all of them while files move).\n")
	}
	fs.SetOutput(io.Discard) // errors are reported in one line below
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return o, err
		}
		fmt.Fprintf(stderr, "p2pchat: %v (see p2pchat -h)\n", err)
		return o, err
	}
	fs.SetOutput(stderr)
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "p2pchat: unexpected argument %q (flags start with -; see p2pchat -h)\n", fs.Arg(0))
		return o, errors.New("bad arguments")
	}
	if err := peer.ValidName(o.name); err != nil {
		fmt.Fprintf(stderr, "p2pchat: -name: %s\n", shell.Words(err))
		return o, err
	}
	if o.notify != "" {
		if _, err := exec.LookPath(o.notify); err != nil {
			fmt.Fprintf(stderr, "p2pchat: -notify: %v\n", err)
			return o, err
		}
	}
	if o.sendTimeout < 0 {
		fmt.Fprintf(stderr, "p2pchat: -send-timeout %v: must not be negative (0 waits for ever)\n", o.sendTimeout)
		return o, errors.New("bad -send-timeout")
	}
	if o.port < 0 || o.port > 65535 {
		fmt.Fprintf(stderr, "p2pchat: -port %d: must be between 0 and 65535\n", o.port)
		return o, errors.New("bad port")
	}
	if o.bind != "" {
		if a, err := netip.ParseAddr(o.bind); err != nil || !a.Unmap().Is4() {
			fmt.Fprintf(stderr, "p2pchat: -bind %q: not an IPv4 address (-bind takes IPv4 only)\n", o.bind)
			return o, errors.New("bad -bind")
		}
	}
	for _, p := range o.peers {
		addr, err := resolvePeer(p)
		if err != nil {
			fmt.Fprintf(stderr, "p2pchat: -peer %q: %v\n", p, err)
			return o, err
		}
		o.peerAddrs = append(o.peerAddrs, addr)
	}
	return o, nil
}

// defaultName is the OS user name, made into a valid nickname.
func defaultName() string {
	name := "me"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	name = strings.Map(func(r rune) rune {
		if r == '@' || r == '/' || r == '\\' || r == ' ' {
			return '_'
		}
		return r
	}, name)
	if peer.ValidName(name) != nil {
		return "me"
	}
	return name
}

// defaultDownloads is the user's download folder: $XDG_DOWNLOAD_DIR, else
// ~/Downloads.
func defaultDownloads() string {
	if d := os.Getenv("XDG_DOWNLOAD_DIR"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, "Downloads")
	}
	return "Downloads"
}

func defaultHome() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "p2pchat")
	}
	return ".p2pchat"
}

// lookupIP resolves host names (a variable for tests).
var lookupIP = net.LookupIP

// resolvePeer turns host[:port] into an address (port defaults to 7117).
func resolvePeer(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, strconv.Itoa(peer.DefaultPort)
	}
	pn, err := strconv.Atoi(port)
	if err != nil || pn < 1 || pn > 65535 {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is6() && ip.IsLinkLocalUnicast() && ip.Zone() == "" {
			return netip.AddrPort{}, fmt.Errorf("%s is an IPv6 link-local address: name its interface, as in [%s%%eth0]:%d", host, host, pn)
		}
		return netip.AddrPortFrom(ip.Unmap(), uint16(pn)), nil
	}
	ips, err := lookupIP(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("cannot resolve %s: %s", host, shell.Words(err))
	}
	for _, v6 := range []bool{false, true} { // IPv4 first, as discovery prefers it
		for _, ip := range ips {
			if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap().Is6() == v6 && (a.IsGlobalUnicast() || a.IsLoopback()) {
				return netip.AddrPortFrom(a.Unmap(), uint16(pn)), nil
			}
		}
	}
	return netip.AddrPort{}, fmt.Errorf("%s has no usable address", host)
}

// hostName is the OS host name, cut to what peers and mDNS accept: a host
// name with control characters must not switch discovery off.
func hostName() string {
	h, _ := os.Hostname()
	h = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, h)
	for len(h) > 63 {
		_, size := utf8.DecodeLastRuneInString(h)
		h = h[:len(h)-size]
	}
	if h == "" {
		h = "host"
	}
	return h
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func main() {
	stdin, pollable := shell.PollableStdin()
	if pollable {
		os.Stdin = stdin // liner reads os.Stdin
		oneProcessor()
	}
	os.Exit(run(os.Args[1:], stdin, os.Stdout, os.Stderr))
}

// oneProcessor runs Go code on one processor at a time unless GOMAXPROCS
// says otherwise. p2pchat handles a few small packets at a time; with more
// processors the Go scheduler wakes an idle thread for each goroutine a
// packet hands work to (the reader to the shell, the node to the timer),
// which costs a laptop wakeups and, on the 2-core benchmark machine, made a
// message's round trip about 1.7x slower (bench -quick runs, one processor
// against the default, peer.Node roles). It is only safe
// when nothing waits in a blocking system call, hence the pollable
// standard input it comes with.
func oneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		processors = runtime.GOMAXPROCS(1)
	}
}

// processors is what oneProcessor lowered GOMAXPROCS from (0: it did not).
var processors int

// filesFlowing gives Go its processors back while files are sent or
// received, and takes them again after, if oneProcessor took them: a
// transfer's goroutine, busy with AES-GCM and SHA-256 for seconds on end,
// then no longer makes chat wait for its turn on the one processor. bench
// -only files on the 2-core machine, builds alternating, 1 GiB: chat
// latency during the transfer p50 19-29 ms with one processor, 3-6 ms
// with this; the transfer's rate the same within the noise (472-614
// against 456-573 MB/s).
func filesFlowing(busy bool) {
	if processors <= 1 {
		return
	}
	if busy {
		runtime.GOMAXPROCS(processors)
	} else {
		runtime.GOMAXPROCS(1)
	}
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if o.version {
		fmt.Fprintln(stdout, "p2pchat", version())
		return exitOK
	}
	s, code := start(o, stdin, stdout, stderr)
	if s == nil {
		return code
	}
	return s.close(s.run())
}

// session is what start made for one run of p2pchat: run uses it, close
// ends it. It is used by one goroutine (run's); the parts it holds do
// their own locking.
type session struct {
	o              options
	stdin          *os.File
	stdout, stderr io.Writer
	logger         *slog.Logger

	st          *store.Store // nil with -store=false
	node        *peer.Node
	files       *transfer.Manager
	roomsRun    *roomsnet.Runner
	nodeEvents  <-chan peer.Event    // the node's events the rooms did not take
	disc        *discovery.Discovery // nil: discovery off
	ctx         context.Context      // cancelled by a signal
	stop        context.CancelFunc   // stops listening for signals
	interactive bool
	giveUp      time.Duration // -send-timeout when stdin is not a terminal, else 0
	app         *app
}

// outcome is what a session's end found, from which exitCode decides the
// exit status.
type outcome struct {
	shellErr error // what shell.Run returned
	// queued: messages still wait, on disk, for peers that are away, at
	// the end of a script's input.
	queued bool
	// filesGaveUp: some of a script's transfers were given up after
	// -send-timeout; filesUnverified: some were not accepted and verified
	// (and none given up).
	filesGaveUp, filesUnverified bool
}

// exitCode is the exit status for an outcome (see the exit codes above).
// A shell error other than ErrNotSent wins; a transfer given up turns a
// normal end or a /send not accepted into exitWait; otherwise the first of
// ErrNotSent, messages queued, transfers not verified.
func exitCode(r outcome) int {
	code := exitOK
	switch {
	case errors.Is(r.shellErr, shell.ErrNotSent):
		code = exitFiles
	case r.shellErr != nil:
		code = exitError
	}
	if r.queued && code == exitOK {
		code = exitQueue
	}
	switch {
	case r.filesGaveUp:
		if code == exitOK || code == exitFiles {
			code = exitWait
		}
	case r.filesUnverified:
		if code == exitOK {
			code = exitFiles
		}
	}
	return code
}

// start opens the store, the identity, the socket, the node, transfers,
// rooms and discovery, and prints the banner or the ready line. It returns
// nil and the exit code if p2pchat cannot start (having said why on
// stderr).
func start(o options, stdin *os.File, stdout, stderr io.Writer) (*session, int) {
	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var st *store.Store
	fail := func(format string, a ...any) (*session, int) {
		fmt.Fprintf(stderr, "p2pchat: "+format+"\n", a...)
		if st != nil {
			st.Close()
		}
		return nil, exitError
	}

	var saved store.Snapshot
	if o.keep {
		// First, so that a second p2pchat on the same home stops here.
		if err := os.MkdirAll(o.home, 0o700); err != nil {
			return fail("%s (choose another with -home)", shell.Words(err))
		}
		var err error
		st, saved, err = store.Open(o.home, store.Limits{PeerBytes: peer.OutboxPeerBytes, TotalBytes: peer.OutboxBytes}, lockWait)
		if errors.Is(err, store.ErrLocked) {
			return fail("%s: quit the other one, or give this one its own -home", shell.Words(err))
		}
		if err != nil {
			return fail("%s (choose another with -home, or -store=false to keep messages in memory only)", shell.Words(err))
		}
	}

	id, err := peer.LoadIdentity(o.home)
	if err != nil {
		return fail("%s (choose another with -home)", shell.Words(err))
	}
	signer, err := roomsnet.LoadSigner(o.home, id.Public)
	if err != nil {
		return fail("%s (choose another with -home)", shell.Words(err))
	}
	var bind netip.Addr
	if o.bind != "" {
		bind = netip.MustParseAddr(o.bind)
	}
	tr, err := peer.Listen(peer.NetConfig{Bind: bind, Port: o.port, Logger: logger})
	if err != nil && errors.Is(err, syscall.EADDRINUSE) && o.port != 0 {
		tr, err = peer.Listen(peer.NetConfig{Bind: bind, Port: 0, Logger: logger})
		if err == nil {
			fmt.Fprintf(stderr, "p2pchat: port %d is in use (another p2pchat?); using port %d instead\n", o.port, tr.LocalPort())
		}
	}
	if err != nil {
		return fail("%s", shell.Words(err))
	}
	host := hostName()
	cfg := peer.Config{Name: o.name, Host: host, Identity: id, Home: o.home, TCPOnly: o.tcp, Logger: logger}
	if st != nil {
		cfg.Store, cfg.Saved = st, &saved
	}
	node, err := peer.New(cfg, tr)
	if err != nil {
		tr.Close()
		return fail("%s", shell.Words(err))
	}

	var acceptFrom []string
	for _, n := range strings.Split(o.acceptFrom, ",") {
		if n = strings.TrimSpace(n); n != "" {
			acceptFrom = append(acceptFrom, n)
		}
	}
	var giveUp time.Duration // a person at the keyboard waits for a resume; a script gives up
	if !isTerminal(stdin) {
		giveUp = o.sendTimeout
	}
	files, err := transfer.New(transfer.Config{Node: node, Streams: tr, Downloads: o.downloads,
		StateDir: filepath.Join(o.home, "transfers"), AcceptFrom: acceptFrom, Logger: logger, GiveUpAfter: giveUp, Busy: filesFlowing})
	if err != nil {
		node.Close()
		return fail("%s (choose another with -downloads)", shell.Words(err))
	}

	roomsDir := filepath.Join(o.home, "rooms")
	if st == nil {
		roomsDir = "" // -store=false: rooms in memory too
	}
	roomsRun, err := roomsnet.New(roomsnet.Config{Node: node, Signer: signer, Nick: o.name, Dir: roomsDir, Logger: logger})
	if err != nil {
		files.Close()
		node.Close()
		return fail("%s (choose another with -home)", shell.Words(err))
	}
	nodeEvents := roomsRun.Filter(node.Events()) // the rooms take their payloads; the rest goes to the shell

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)

	var disc *discovery.Discovery
	if o.mdns {
		disc, err = startDiscovery(ctx, o, node, id, host, bind, logger)
		if err != nil {
			if len(o.ifaces) > 0 {
				node.Close()
				stop()
				return fail("discovery: %s", shell.Words(err))
			}
			fmt.Fprintf(stderr, "p2pchat: discovery is off: %s; use -peer host:port to reach peers\n", shell.Words(err))
		}
	}
	for _, addr := range o.peerAddrs { // (resolved once: a second lookup could fail)
		node.AddPeer(addr)
	}

	interactive := isTerminal(stdin) && isTerminal(stdout) && !o.json
	var ifaces []string
	if disc != nil {
		ifaces = disc.Ifaces()
		go hintIfAlone(ctx, node, disc)
	}
	if o.json {
		shell.WriteReady(stdout, shell.Ready{Name: node.Name(), ID: node.ID(), Port: node.Port(), Fingerprint: node.Fingerprint(), Ifaces: ifaces})
	} else if interactive {
		fmt.Fprintf(stdout, "p2pchat %s: you are %s on port %d. Type /help for commands.\nYour key fingerprint: %s\n%s\n",
			version(), node.Name(), node.Port(), node.Fingerprint(), discoveryLine(disc != nil, ifaces))
	}

	return &session{
		o: o, stdin: stdin, stdout: stdout, stderr: stderr, logger: logger,
		st: st, node: node, files: files, roomsRun: roomsRun, nodeEvents: nodeEvents, disc: disc,
		ctx: ctx, stop: stop, interactive: interactive, giveUp: giveUp,
		app: &app{Node: node, disc: disc, self: discoveryInfo(node, id, host), patient: !interactive, started: time.Now(),
			rooms: roomsRun, events: nodeEvents},
	}, exitOK
}

// run runs the shell until input ends, /quit or a signal, and returns
// what it returned.
func (s *session) run() error {
	_, noColor := os.LookupEnv("NO_COLOR")
	return shell.Run(s.ctx, shell.Config{
		Node: s.app, In: s.stdin, Out: s.stdout, Interactive: s.interactive, JSON: s.o.json,
		Color: s.interactive && !noColor && os.Getenv("TERM") != "dumb", Bell: s.o.bell, Notify: s.o.notify,
		HistoryFile: filepath.Join(s.o.home, "history"), LogFile: filepath.Join(s.o.home, "conversations.log"), Logger: s.logger,
		Transfers: s.files, Rooms: s.roomsRun,
	})
}

// close ends the session after the shell returned shellErr: it gives what
// was sent a moment to arrive, waits for a script's transfers, says what
// is left undone, closes everything start opened and returns the exit
// code.
func (s *session) close(shellErr error) int {
	r := outcome{shellErr: shellErr}
	if shellErr != nil {
		fmt.Fprintf(s.stderr, "p2pchat: %v\n", shellErr)
	}
	if s.ctx.Err() == nil {
		// End of input or /quit: give what was sent a moment to arrive.
		fctx, cancel := context.WithTimeout(s.ctx, flushTimeout)
		_ = s.node.Flush(fctx)
		cancel()
	}
	if waiting := s.node.Waiting(); waiting > 0 && s.st != nil && !s.interactive { // (end of input, /quit or a signal; room messages count too)
		fmt.Fprintf(s.stderr, "p2pchat: %s queued for peers that are away: kept in %s, the next p2pchat run with it delivers them\n", plural(waiting, "message is", "messages are"), s.o.home)
		if n := s.roomsRun.Waiting(); n > 0 {
			fmt.Fprintf(s.stderr, "p2pchat: of which %s for members of your rooms\n", plural(n, "message is", "messages are"))
		}
		r.queued = true
	}
	if sent := s.files.Sent(); sent > 0 && !s.interactive && !s.files.Wait(s.ctx) {
		if n := s.files.GaveUp(); n > 0 {
			fmt.Fprintf(s.stderr, "p2pchat: gave up on %d of %d transfers: no answer or no progress in %v (-send-timeout)\n", n, sent, s.giveUp)
			r.filesGaveUp = true
		} else {
			fmt.Fprintf(s.stderr, "p2pchat: not every file sent was accepted and verified (%d transfers)\n", sent)
			r.filesUnverified = true
		}
	}
	s.files.Close()
	if s.disc != nil {
		s.disc.Close()
	}
	s.roomsRun.Close() // (the shell reads no more room events)
	s.node.Close()
	// Report what the node said while closing (messages never acknowledged).
	shell.Drain(s.nodeEvents, s.stdout, s.o.json)
	stats := s.node.Stats()
	s.logger.Debug("stats", "retransmits", stats.Retransmits, "tcp_sends", stats.TCPSends, "dropped", stats.Dropped,
		"replayed", stats.Replayed, "unauthentic", stats.Unauthentic, "duplicates", stats.Duplicates)
	if s.o.json {
		line := shell.StatsLine{Peer: stats, Transfer: s.files.Stats(), Rooms: []any{s.roomsRun.Stats(), s.roomsRun.CoreStats()}}
		if s.disc != nil {
			line.Discovery = s.disc.Stats()
		}
		shell.WriteStats(s.stdout, line)
	}
	s.stop()
	if s.st != nil {
		s.st.Close()
	}
	return exitCode(r)
}

// isTerminal reports whether w is a terminal. It does not call Fd, which
// would put a pollable file back into blocking mode.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	is := false
	_ = rc.Control(func(fd uintptr) { is = term.IsTerminal(int(fd)) })
	return is
}

func discoveryInfo(node *peer.Node, id *peer.Identity, host string) discovery.Info {
	return discovery.Info{ID: id.ID(), Name: node.Name(), Key: id.Public, Port: node.Port(), Host: host, Version: discovery.Version}
}

func startDiscovery(ctx context.Context, o options, node *peer.Node, id *peer.Identity, host string, bind netip.Addr, logger *slog.Logger) (*discovery.Discovery, error) {
	return discovery.Start(ctx, discovery.Config{
		Self: discoveryInfo(node, id, host), Ifaces: o.ifaces, Bind: bind, Logger: logger,
		OnFound: func(f discovery.Found) { node.Discovered(f.Key, f.Addr) },
		OnChange: func(ifaces []string) {
			if len(ifaces) == 0 {
				node.Notice("discovery: no usable network interface now")
				return
			}
			node.Notice("discovery now on " + strings.Join(ifaces, ", "))
		},
	})
}

// discoveryLine is the banner's line about discovery.
func discoveryLine(on bool, ifaces []string) string {
	switch {
	case !on:
		return "Discovery is off: peers come from -peer addresses."
	case len(ifaces) == 0:
		return "Looking for peers once a network interface is up."
	}
	return "Looking for peers on " + strings.Join(ifaces, ", ") + "."
}

// hintAfter is how long a node waits for a first peer before hinting why
// none may be found.
const hintAfter = 5 * time.Second

// hintIfAlone shows one hint line if no peer has appeared hintAfter after
// the start: the interfaces tried and the likely causes.
func hintIfAlone(ctx context.Context, node *peer.Node, disc *discovery.Discovery) {
	wctx, cancel := context.WithTimeout(ctx, hintAfter)
	defer cancel()
	if node.WaitPeer(wctx, "") == nil || ctx.Err() != nil {
		return
	}
	node.Notice(noPeerHint(disc.Ifaces()))
}

// noPeerHint words the hint line from the interfaces discovery looked on
// (none: no usable interface); discovery gives the fields, the words and
// the flag names are the caller's.
func noPeerHint(ifaces []string) string {
	where := "no network interface is usable (up, multicast, with an IP address)"
	if len(ifaces) > 0 {
		where = "looked on " + strings.Join(ifaces, ", ")
	}
	return "no peer found yet (" + where + "). A firewall may block mDNS (UDP 5353) or p2pchat's port, " +
		"or the Wi-Fi may keep clients apart (guest networks and client isolation do); " +
		"if you know where a peer is, start with -peer HOST[:PORT]"
}

// Start-up patience of a script (stdin not a terminal): its first command
// may come before discovery has found anyone.
const (
	gatherTime = 600 * time.Millisecond // the first mDNS query window (300 ms) plus hellos
	graceTime  = 5 * time.Second        // how long a named peer may take to appear
)

// app is the node as the shell sees it: a nickname change is also
// re-advertised over mDNS, and a script's first commands wait for discovery.
type app struct {
	*peer.Node
	disc    *discovery.Discovery
	self    discovery.Info
	patient bool
	started time.Time
	rooms   *roomsnet.Runner
	events  <-chan peer.Event // the node's events the rooms did not take
}

// Events are the node's events for the shell (the rooms took theirs).
func (a *app) Events() <-chan peer.Event { return a.events }

// gather lets the first mDNS round find everyone before a script's first
// command looks for peers.
func (a *app) gather() {
	if a.patient && a.disc != nil {
		if wait := time.Until(a.started.Add(gatherTime)); wait > 0 {
			time.Sleep(wait)
		}
	}
}

// Resolve finds the peer a command names; a script's first commands wait
// (until graceTime after the start) for a named peer not found yet.
func (a *app) Resolve(name string) (peer.PeerInfo, error) {
	a.gather()
	p, err := a.Node.Resolve(name)
	if a.patient && (errors.Is(err, peer.ErrUnknownPeer) || (err == nil && !p.Online)) {
		// (offline: known from an earlier run; it may be about to be found)
		ctx, cancel := context.WithDeadline(context.Background(), a.started.Add(graceTime))
		defer cancel()
		if a.Node.WaitPeer(ctx, name) == nil {
			return a.Node.Resolve(name)
		}
	}
	return p, err
}

// Send sends to the peer with id toID, or everyone: a script's first
// message to everyone waits for discovery to find someone.
func (a *app) Send(toID, text string) ([]uint64, error) {
	if toID != "" {
		return a.Node.Send(toID, text) // resolved (and waited for) by Resolve
	}
	a.gather()
	ids, err := a.Node.Send("", text)
	if a.patient && errors.Is(err, peer.ErrNoPeers) {
		ctx, cancel := context.WithDeadline(context.Background(), a.started.Add(graceTime))
		defer cancel()
		if a.Node.WaitPeer(ctx, "") == nil {
			return a.Node.Send("", text)
		}
	}
	return ids, err
}

func (a *app) SetName(name string) error {
	if err := a.Node.SetName(name); err != nil {
		return err
	}
	a.rooms.SetNick(name)
	if a.disc != nil {
		a.self.Name = name
		if err := a.disc.Update(a.self); err != nil {
			return fmt.Errorf("nickname changed, but re-advertising it failed: %w", err)
		}
	}
	return nil
}

// plural says "1 message is" or "3 messages are".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
