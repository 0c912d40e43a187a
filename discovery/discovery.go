// Package discovery finds other p2pchat nodes on the local network with
// multicast DNS (RFC 6762) and DNS-SD (RFC 6763), on every suitable network
// interface at once.
//
// Each node advertises one service instance of type Service in domain
// "local.": the instance name is the node id (unique, so no name conflicts
// arise), the SRV record carries the chat port, the A and AAAA records the
// node's IPv4 and IPv6 addresses (link-local included) on the interface the
// records are sent on, and the TXT record the fields built by TXT:
//
//	v=1  id=0123456789abcdef  name=小明  key=<X25519 public key, base64url>  host=laptop
//
// On each interface the node announces itself at once and again a second
// later (unsolicited multicast answers), and browses: it queries at once,
// then 1, 2, 4, ... seconds later, doubling up to once a minute, listing in
// each query the answers it already holds with more than half their TTL
// left (known-answer suppression, RFC 6762 section 7.1: see known.go), so
// that nodes it knows stay quiet. All of it runs on IPv4 (224.0.0.251) and
// on IPv6 (ff02::fb), on each interface with an address of that family;
// on an interface with both, a round's IPv6 query goes familyGap after the
// IPv4 one, listing its answers as known.
// A node advertising both is reported at one address (see pickAddr: IPv4
// on the link first, so an IPv4 LAN works as before). At Close it
// sends a goodbye (its records with TTL 0), so other mDNS browsers (avahi,
// Bonjour) drop it at once. Every valid answer or announcement from another
// node is passed to Config.OnFound; answers repeat and the caller
// deduplicates. The interfaces are those iface.go's rule picks, looked at
// again every Config.Rescan: interfaces that appear are joined, those that
// go away are left, without a restart.
//
// mDNS is only for bootstrap: presence (hello, heartbeats, bye) is the chat
// protocol's business, and the address to trust is the source address of
// authenticated chat packets, not the A record reported here.
//
// From github.com/hashicorp/mdns this package uses the zone (the DNS-SD
// records of a service, MDNSService); the sockets, the responder (see
// answer) and the querier are its own, because the library's serve one
// interface, answer every query by unicast (which avahi-daemon on the
// querier's machine then misses), send no announcements and no goodbyes,
// open four sockets per query, join the group on whichever interface the
// routing table picks, and drop results when a channel is full. Here two
// sockets per address family serve every interface (sock.go): one bound to
// port 5353, joined to the group on each interface, that answers queries
// and hears announcements; and one on a random port that sends the queries
// (legacy one-shot queries, RFC 6762 section 6.7, answered by unicast: a
// LAN where every node queries sees no multicast answers) and hears their
// answers. Without IPv6 on the machine (or with Config.Bind) it is IPv4
// alone.
//
// TXT strings pass through github.com/miekg/dns in DNS presentation format
// (a Chinese name arrives as "\229\176..."): they are escaped before
// advertising and unescaped after browsing.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/p2pchat/p2pchat/internal/rate"
)

// Service is the DNS-SD service type p2pchat nodes advertise and browse.
const Service = "_p2pchat._udp"

// Version is the protocol version advertised in TXT "v=" (the wire
// protocol's; nodes do not filter on it: a node of another version is
// told apart by its packets).
const Version = 2 // internal/wire.Version: sessions (wire version 2)

// domain is the mDNS domain, fully qualified.
const domain = "local."

// serviceSuffix ends the name of every instance of Service.
const serviceSuffix = "." + Service + "." + domain

const (
	// DefaultRescan is how often the interfaces are looked at again.
	DefaultRescan = 2 * time.Second
	// reportRate and reportBurst bound the reports of answers not reported
	// in the last reportAgain (per second, and at once).
	reportRate  = 100
	reportBurst = 200
	reportAgain = 2 * time.Second
	// maxRecent bounds the memory of what was reported; when full, the
	// reports older than reportAgain are forgotten, then the oldest.
	maxRecent = 1024
	// multicastGap is the least time between two multicast answers on one
	// interface (RFC 6762 section 6: a record at most once a second).
	multicastGap = time.Second
	// familyGap is how long after the IPv4 query of a round the IPv6 one
	// goes, on an interface with both: the IPv4 answers (milliseconds on a
	// LAN) are then its known answers, so a dual-stack node answers once a
	// round, not once per family (which doubled the mDNS traffic).
	familyGap = 250 * time.Millisecond
)

// ErrClosed is returned by Update after Close, or after the context given
// to Start has ended.
var ErrClosed = errors.New("discovery: closed")

// Info is what a node advertises about itself.
type Info struct {
	ID      string   // node id, 16 lower-case hex digits; the mDNS instance name
	Name    string   // nickname, UTF-8, at most MaxNameRunes runes (TXT "name=")
	Key     [32]byte // X25519 public key (TXT "key=", base64url without padding)
	Port    int      // chat port, UDP and TCP (SRV record)
	Host    string   // host name, informational (TXT "host=")
	Version int      // protocol version (TXT "v="); zero means Version
}

// Found is a node seen on the network.
type Found struct {
	Info
	Addr  netip.AddrPort // advertised address (see toFound) and Port; IPv6 link-local with the interface as zone
	Iface string         // the interface it was seen on
}

// Config configures Start.
type Config struct {
	// Self is what to advertise. Start checks that other nodes will accept
	// it (see ParseTXT) and that Port is in 1..65535.
	Self Info
	// Ifaces restricts discovery to the interfaces named (-iface); empty
	// means every suitable interface (see iface.go). Start fails if a named
	// interface is missing or unusable; later, one that goes away is left
	// and joined again when it comes back.
	Ifaces []string
	// Bind, if valid, is the only address to advertise and query from:
	// only interfaces holding it are used.
	Bind netip.Addr
	// Rescan is how often the interfaces are looked at again; 0 means
	// DefaultRescan.
	Rescan time.Duration
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// OnFound is called, from one goroutine at a time, for every valid
	// answer from another node; the same node is reported again on later
	// answers. It must be cheap and must not call Close (Close waits for it).
	OnFound func(Found)
	// OnChange, if set, is called with the interfaces in use whenever that
	// set changes after Start (never concurrently with itself).
	OnChange func(ifaces []string)
}

// link is one interface discovery runs on. A link is reached only through
// Discovery.links, and every field of it is guarded by Discovery.mu (the
// responder copies zone, ifi and cand out under the lock and uses the copies
// after releasing it).
type link struct {
	cand          candidate
	ifi           *net.Interface
	fams          []*family // the address families joined on it
	zone          mdns.Zone
	sched         schedule
	lastMulticast map[*family]time.Time // last multicast answer sent on it, by family
	known         knownAnswers          // what others answered on it (RFC 6762 section 7.1)
	queryV6At     time.Time             // when the IPv6 query of the current round is due (zero: none)
}

// Discovery advertises this node and browses for others until Close.
//
// Goroutines: Start runs one schedule loop (announce.go: loop) and, per
// address family, two readers (serve, one per socket); all are counted in
// wg, and Close returns only when they have returned.
//
// Lock order: mu before sendMu. limitMu and reportMu are never held with
// another lock of d (reportMu is held while OnFound runs, which must not
// call Close). A method named ...Locked expects mu held (forgetRecentLocked:
// reportMu), or d not yet shared (joinLocked from Start).
type Discovery struct {
	// Immutable after Start returns (set before any goroutine starts).
	log      *slog.Logger
	sys      system
	names    []string
	bind     netip.Addr
	rescan   time.Duration
	onFound  func(Found)
	onChange func([]string)
	fams     []*family // IPv4, and IPv6 where the system has it (sock.go); the sockets close in shutdown
	cancel   context.CancelFunc
	kick     chan struct{}  // wakes the schedule loop (buffered 1; never closed)
	wg       sync.WaitGroup // the loop and the readers

	// Guarded by mu.
	mu     sync.Mutex
	self   Info
	links  map[int]*link // by interface index; the links' fields too
	closed bool          // set once, by shutdown: no send after it

	// sendMu serialises the sends on fams' sockets: the multicast
	// interface is a socket option, set for each send.
	sendMu sync.Mutex

	// Guarded by limitMu: the responder's budgets (limit.go).
	limitMu sync.Mutex
	queries *rate.Keyed[netip.Prefix] // queries read, by source prefix
	allQ    rate.Bucket               // queries read, from all sources
	answers *rate.Keyed[netip.Addr]   // unicast answers, by address answered

	// Guarded by reportMu, which also makes OnFound calls one at a time.
	reportMu sync.Mutex
	budget   rate.Bucket // reports of new answers: hostile mDNS traffic must not make the node say hello to thousands of made-up keys
	recent   map[string]recentReport

	// Atomic: no lock.
	stats counters
}

// Stats counts what discovery dropped or forgot because a bound was
// reached, since Start. Each field only grows.
type Stats struct {
	QueriesOverCap     uint64 // queries dropped unread: more than 16 questions, 64 known answers or 16 other records
	QueriesRateLimited uint64 // queries dropped unread: over the budget of their source's /24 (/64) or of all sources
	AnswersRateLimited uint64 // unicast answers not sent: over the budget of the address they were for
	MulticastSpaced    uint64 // multicast answers not sent: one went on that interface and family less than a second before
	ResponsesOverCap   uint64 // responses dropped unread: more than 64 records
	BadPackets         uint64 // datagrams that are not DNS messages
	SourcesForgotten   uint64 // per-source budgets forgotten to make room for a new source (queries and answers)
	KnownRefused       uint64 // PTR answers not remembered as known answers: not tied to their sender's address, or the table full
	ReportsDropped     uint64 // answers not reported: over the report budget
	RecentForgotten    uint64 // reports forgotten from the memory that keeps an answer from being reported twice within 2 s
}

// counters are the atomic counters behind Stats.
type counters struct {
	queriesOverCap, queriesRateLimited, answersRateLimited, multicastSpaced,
	responsesOverCap, badPackets, knownRefused, reportsDropped, recentForgotten atomic.Uint64
}

// Stats returns the counters of what was dropped at a bound.
func (d *Discovery) Stats() Stats {
	d.limitMu.Lock()
	forgotten := d.queries.Evicted() + d.answers.Evicted()
	d.limitMu.Unlock()
	return Stats{
		QueriesOverCap:     d.stats.queriesOverCap.Load(),
		QueriesRateLimited: d.stats.queriesRateLimited.Load(),
		AnswersRateLimited: d.stats.answersRateLimited.Load(),
		MulticastSpaced:    d.stats.multicastSpaced.Load(),
		ResponsesOverCap:   d.stats.responsesOverCap.Load(),
		BadPackets:         d.stats.badPackets.Load(),
		SourcesForgotten:   forgotten,
		KnownRefused:       d.stats.knownRefused.Load(),
		ReportsDropped:     d.stats.reportsDropped.Load(),
		RecentForgotten:    d.stats.recentForgotten.Load(),
	}
}

// Start starts advertising cfg.Self and browsing for other nodes in the
// background. Both stop when ctx ends or Close is called. With no usable
// interface at all Start still succeeds (Ifaces is empty) unless cfg.Ifaces
// names interfaces: interfaces that come up later are joined.
func Start(ctx context.Context, cfg Config) (*Discovery, error) {
	return start(ctx, cfg, system{interfaces: interfaces, listen: listenFamily})
}

// system is what discovery takes from the machine: its interfaces and its
// sockets (the virtual-time tests give in-memory ones).
type system struct {
	interfaces func() ([]candidate, error)
	listen     func(v6 bool, bind netip.Addr) (*family, error)
}

func start(ctx context.Context, cfg Config, sys system) (*Discovery, error) {
	self, err := checkSelf(cfg.Self)
	if err != nil {
		return nil, err
	}
	if cfg.Bind.IsValid() && !cfg.Bind.Unmap().Is4() { // -bind is IPv4 (README)
		return nil, &IfaceError{Problem: BindNotIPv4, Bind: cfg.Bind}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cands, err := sys.interfaces()
	if err != nil {
		return nil, err
	}
	used, err := choose(cands, cfg.Ifaces, cfg.Bind.Unmap(), true)
	if err != nil {
		return nil, err
	}
	d := &Discovery{
		log: logger, sys: sys, names: slices.Clone(cfg.Ifaces), bind: cfg.Bind.Unmap(), rescan: cfg.Rescan,
		onFound: cfg.OnFound, onChange: cfg.OnChange,
		kick: make(chan struct{}, 1), self: self, links: map[int]*link{},
		budget: rate.Bucket{Rate: reportRate, Burst: reportBurst}, recent: map[string]recentReport{},
	}
	d.initBudgets()
	if d.rescan <= 0 {
		d.rescan = DefaultRescan
	}
	if err := d.listen(); err != nil {
		return nil, err
	}
	now := time.Now()
	for _, c := range used {
		if !d.servable(c) {
			logger.Debug("discovery: no socket for the address families of an interface", "iface", c.Name)
			continue
		}
		if err := d.joinLocked(c, now); err != nil {
			for _, f := range d.fams {
				f.close()
			}
			return nil, err
		}
	}
	ctx, d.cancel = context.WithCancel(ctx)
	logger.Debug("discovery: started", "ifaces", d.Ifaces(), "id", self.ID, "port", self.Port)
	for _, f := range d.fams {
		d.wg.Add(2)
		go d.serve(f, f.m, true)
		go d.serve(f, f.q, false)
	}
	d.wg.Add(1)
	go d.loop(ctx)
	return d, nil
}

// initBudgets sets up the responder's budgets (limit.go).
func (d *Discovery) initBudgets() {
	d.queries = rate.NewKeyed[netip.Prefix](queryRate, queryBurst, maxSources)
	d.allQ = rate.Bucket{Rate: allQueryRate, Burst: allQueryBurst}
	d.answers = rate.NewKeyed[netip.Addr](answerRate, answerBurst, maxSources)
}

// listen opens the sockets of IPv4 and, unless the system has no IPv6 or
// d.bind (an IPv4 address) restricts discovery to it, of IPv6.
func (d *Discovery) listen() error {
	f4, err := d.sys.listen(false, d.bind)
	if err != nil {
		return err
	}
	d.fams = []*family{f4}
	if d.bind.IsValid() {
		return nil
	}
	f6, err := d.sys.listen(true, netip.Addr{})
	if err != nil {
		d.log.Debug("discovery: no IPv6 mDNS; IPv4 only", "err", err)
		return nil
	}
	d.fams = append(d.fams, f6)
	return nil
}

// joinLocked starts discovery on the interface c (d.mu held or not yet shared).
func (d *Discovery) joinLocked(c candidate, now time.Time) error {
	ifi, err := net.InterfaceByIndex(c.Index)
	if err != nil {
		return fmt.Errorf("discovery: interface %s: %w", c.Name, err)
	}
	zone, err := d.zone(d.self, c)
	if err != nil {
		return err
	}
	l := &link{cand: c, ifi: ifi, zone: zone, sched: newSchedule(now), lastMulticast: map[*family]time.Time{}}
	for _, f := range d.fams {
		if !c.has(f.v6) {
			continue
		}
		if err := f.m.join(ifi, f.group); err != nil {
			if f.v6 {
				d.log.Debug("discovery: IPv6 group; IPv4 only here", "iface", c.Name, "err", err)
				continue
			}
			d.leaveGroupsLocked(l)
			return fmt.Errorf("discovery: join %v on %s: %w", f.group.IP, c.Name, err)
		}
		l.fams = append(l.fams, f)
	}
	if len(l.fams) == 0 {
		return fmt.Errorf("discovery: no mDNS group joined on %s", c.Name)
	}
	d.links[c.Index] = l
	d.log.Debug("discovery: joined", "iface", c.Name, "addrs", c.Addrs, "families", len(l.fams))
	return nil
}

// servable reports whether d has sockets for a family c has addresses of.
func (d *Discovery) servable(c candidate) bool {
	return slices.ContainsFunc(d.fams, func(f *family) bool { return c.has(f.v6) })
}

// leaveGroupsLocked leaves the groups l joined.
func (d *Discovery) leaveGroupsLocked(l *link) {
	for _, f := range l.fams {
		if err := f.m.leave(l.ifi, f.group); err != nil {
			d.log.Debug("discovery: leave group", "iface", l.cand.Name, "family", f, "err", err) // gone with the interface
		}
	}
}

// leaveLocked stops discovery on l (d.mu held).
func (d *Discovery) leaveLocked(l *link) {
	d.leaveGroupsLocked(l)
	delete(d.links, l.cand.Index)
	d.log.Debug("discovery: left", "iface", l.cand.Name)
}

// zone returns the records advertising self on c.
func (d *Discovery) zone(self Info, c candidate) (mdns.Zone, error) {
	var ips []net.IP
	for _, a := range c.advertised() {
		ips = append(ips, a.AsSlice())
	}
	host := "p2pchat-" + self.ID + "." + domain
	zone, err := mdns.NewMDNSService(self.ID, Service, domain, host, self.Port, ips, escapeFields(TXT(self)))
	if err != nil {
		return nil, fmt.Errorf("discovery: mdns service: %w", err)
	}
	return zone, nil
}

// Ifaces returns the names of the interfaces in use, in interface order.
func (d *Discovery) Ifaces() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ifacesLocked()
}

func (d *Discovery) ifacesLocked() []string {
	ls := make([]*link, 0, len(d.links))
	for _, l := range d.links {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b *link) int { return a.cand.Index - b.cand.Index })
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.cand.Name
	}
	return out
}

// Update re-advertises with new information, such as a new nickname, and
// announces the new records on every interface. If the new records cannot
// be built the old ones stay and Update returns the error.
func (d *Discovery) Update(self Info) error {
	self, err := checkSelf(self)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	zones := map[int]mdns.Zone{}
	for i, l := range d.links {
		if zones[i], err = d.zone(self, l.cand); err != nil {
			return err
		}
	}
	now := time.Now()
	for i, l := range d.links {
		l.zone = zones[i]
		l.sched.reannounce(now)
	}
	d.self = self
	d.wake()
	d.log.Debug("discovery: updated", "id", self.ID, "name", self.Name, "port", self.Port)
	return nil
}

// Close sends a goodbye on every interface, then stops advertising and
// browsing. It waits for a running OnFound call to return. Close is
// idempotent and always returns nil.
func (d *Discovery) Close() error {
	d.shutdown()
	d.cancel()
	d.wg.Wait()
	return nil
}

// checkSelf fills in defaults and makes sure other nodes will accept self.
func checkSelf(self Info) (Info, error) {
	if self.Version == 0 {
		self.Version = Version
	}
	if self.Port < 1 || self.Port > 65535 {
		return Info{}, fmt.Errorf("discovery: bad port %d", self.Port)
	}
	if _, err := ParseTXT(TXT(self)); err != nil {
		return Info{}, fmt.Errorf("discovery: cannot advertise: %w", err)
	}
	return self, nil
}

// serve reads one socket of f until it is closed: queries (on the mDNS
// socket) are answered, responses read for other nodes. A query is looked
// at (see reply) before it is unpacked.
func (d *Discovery) serve(f *family, c conn, responder bool) {
	defer d.wg.Done()
	buf := make([]byte, 9000) // the largest mDNS message (RFC 6762 section 17)
	for {
		n, ifIndex, src, err := c.read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			d.log.Debug("discovery: read", "err", err)
			continue
		}
		from, ok := src.(*net.UDPAddr)
		if !ok {
			continue
		}
		if isQuery(buf[:n]) {
			if responder {
				d.handleQuery(f, buf[:n], ifIndex, from, time.Now())
			}
			continue
		}
		m, err := parseMsg(buf[:n])
		if errors.Is(err, errOverCap) {
			d.stats.responsesOverCap.Add(1)
			continue
		}
		if err != nil {
			d.stats.badPackets.Add(1)
			d.log.Debug("discovery: bad packet", "from", from, "err", err)
			continue
		}
		d.handleResponse(m, ifIndex, from)
	}
}

// arrivalLocked finds the link a packet that came in on interface ifIndex (0:
// not known) came in on and whether its source is on that link's subnets
// (d.mu held).
func (d *Discovery) arrivalLocked(ifIndex int, from *net.UDPAddr) (*link, bool) {
	src, ok := netip.AddrFromSlice(from.IP)
	if !ok {
		return nil, false
	}
	src = src.Unmap()
	if ifIndex == 0 && from.Zone != "" {
		if ifi, err := net.InterfaceByName(from.Zone); err == nil {
			ifIndex = ifi.Index
		}
	}
	if ifIndex != 0 {
		l := d.links[ifIndex]
		if l == nil {
			return nil, false // an interface we are not on
		}
		return l, l.cand.onLink(src)
	}
	for _, l := range d.links {
		if l.cand.onLink(src) && !src.IsLinkLocalUnicast() {
			return l, true
		}
	}
	return nil, false
}
