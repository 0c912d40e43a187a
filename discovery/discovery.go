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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
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

// link is one interface discovery runs on.
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
type Discovery struct {
	log      *slog.Logger
	names    []string
	bind     netip.Addr
	rescan   time.Duration
	onFound  func(Found)
	onChange func([]string)

	fams []*family // IPv4, and IPv6 where the system has it (sock.go)

	cancel context.CancelFunc
	kick   chan struct{} // wakes the schedule loop
	wg     sync.WaitGroup

	mu     sync.Mutex
	self   Info
	links  map[int]*link // by interface index
	closed bool

	sendMu sync.Mutex // the multicast interface of a socket, set for each send

	limitMu sync.Mutex     // guards the responder's budgets (limit.go)
	queries *sourceBudgets // queries read, by source prefix
	allQ    rate.Bucket    // queries read, from all sources
	answers *sourceBudgets // unicast answers, by address answered

	reportMu sync.Mutex  // one OnFound at a time; guards budget and recent
	budget   rate.Bucket // reports of new answers: hostile mDNS traffic must not make the node say hello to thousands of made-up keys
	recent   map[string]recentReport

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
	forgotten := d.queries.evicted + d.answers.evicted
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

type recentReport struct {
	addr netip.AddrPort
	name string
	at   time.Time
}

// Start starts advertising cfg.Self and browsing for other nodes in the
// background. Both stop when ctx ends or Close is called. With no usable
// interface at all Start still succeeds (Ifaces is empty) unless cfg.Ifaces
// names interfaces: interfaces that come up later are joined.
func Start(ctx context.Context, cfg Config) (*Discovery, error) {
	self, err := checkSelf(cfg.Self)
	if err != nil {
		return nil, err
	}
	if cfg.Bind.IsValid() && !cfg.Bind.Unmap().Is4() { // -bind is IPv4 (README)
		return nil, fmt.Errorf("discovery: cannot bind to %v: only IPv4 addresses are supported", cfg.Bind)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cands, err := interfaces()
	if err != nil {
		return nil, err
	}
	used, err := choose(cands, cfg.Ifaces, cfg.Bind.Unmap(), true)
	if err != nil {
		return nil, err
	}
	d := &Discovery{
		log: logger, names: slices.Clone(cfg.Ifaces), bind: cfg.Bind.Unmap(), rescan: cfg.Rescan,
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
		if err := d.join(c, now); err != nil {
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
	d.queries = newSourceBudgets(queryRate, queryBurst, maxSources)
	d.allQ = rate.Bucket{Rate: allQueryRate, Burst: allQueryBurst}
	d.answers = newSourceBudgets(answerRate, answerBurst, maxSources)
}

// listen opens the sockets of IPv4 and, unless the system has no IPv6 or
// d.bind (an IPv4 address) restricts discovery to it, of IPv6.
func (d *Discovery) listen() error {
	f4, err := listenFamily(false, d.bind)
	if err != nil {
		return err
	}
	d.fams = []*family{f4}
	if d.bind.IsValid() {
		return nil
	}
	f6, err := listenFamily(true, netip.Addr{})
	if err != nil {
		d.log.Debug("discovery: no IPv6 mDNS; IPv4 only", "err", err)
		return nil
	}
	d.fams = append(d.fams, f6)
	return nil
}

// join starts discovery on the interface c (d.mu held or not yet shared).
func (d *Discovery) join(c candidate, now time.Time) error {
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
			d.leaveGroups(l)
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

// leaveGroups leaves the groups l joined.
func (d *Discovery) leaveGroups(l *link) {
	for _, f := range l.fams {
		if err := f.m.leave(l.ifi, f.group); err != nil {
			d.log.Debug("discovery: leave group", "iface", l.cand.Name, "family", f, "err", err) // gone with the interface
		}
	}
}

// leave stops discovery on l (d.mu held).
func (d *Discovery) leave(l *link) {
	d.leaveGroups(l)
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

// shutdown says goodbye and closes the sockets, once.
func (d *Discovery) shutdown() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	for _, l := range d.links {
		d.multicast(l, announcement(l.zone, true))
	}
	for _, f := range d.fams {
		f.close()
	}
	d.log.Debug("discovery: stopped")
}

// wake makes the schedule loop look at its links now (never blocks).
func (d *Discovery) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
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

// loop runs the schedules of the links and looks at the interfaces every
// d.rescan, until ctx ends.
func (d *Discovery) loop(ctx context.Context) {
	defer d.wg.Done()
	nextRescan := time.Now().Add(d.rescan)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return
		case <-timer.C:
		case <-d.kick:
		}
		now := time.Now()
		if !now.Before(nextRescan) {
			d.rescanNow(now)
			nextRescan = now.Add(d.rescan)
		}
		next := d.step(now)
		if next.IsZero() || nextRescan.Before(next) {
			next = nextRescan
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(time.Until(next))
	}
}

// step sends what is due on every link and returns when something is due
// next (zero: nothing).
func (d *Discovery) step(now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return time.Time{}
	}
	var next time.Time
	for _, l := range d.links {
		query, announce := l.sched.due(now)
		if announce {
			d.multicast(l, announcement(l.zone, false))
		}
		if query {
			for _, f := range l.fams {
				if f.v6 && len(l.fams) > 1 {
					l.queryV6At = now.Add(familyGap)
					continue
				}
				d.query(l, f, now)
			}
		}
		if !l.queryV6At.IsZero() && !now.Before(l.queryV6At) {
			l.queryV6At = time.Time{}
			for _, f := range l.fams {
				if f.v6 {
					d.query(l, f, now)
				}
			}
		}
		if n := l.sched.next(); next.IsZero() || n.Before(next) {
			next = n
		}
		if n := l.queryV6At; !n.IsZero() && n.Before(next) {
			next = n
		}
	}
	return next
}

// rescanNow joins the interfaces that became usable, leaves those that
// went away, and re-advertises on those whose addresses changed.
func (d *Discovery) rescanNow(now time.Time) {
	cands, err := interfaces()
	if err != nil {
		d.log.Debug("discovery: rescan", "err", err)
		return
	}
	used, _ := choose(cands, d.names, d.bind, false)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	changed := false
	for _, l := range d.links {
		if !slices.ContainsFunc(used, func(c candidate) bool { return c.Index == l.cand.Index }) {
			d.leave(l)
			changed = true
		}
	}
	for _, c := range used {
		l := d.links[c.Index]
		switch {
		case l == nil:
			if err := d.join(c, now); err != nil {
				d.log.Debug("discovery: join", "iface", c.Name, "err", err)
				continue
			}
			changed = true
		case l.cand.has(true) != c.has(true) || l.cand.has(false) != c.has(false):
			// An address family came or went: join the groups afresh.
			d.leave(l)
			if err := d.join(c, now); err != nil {
				d.log.Debug("discovery: join", "iface", c.Name, "err", err)
			}
			changed = true
		case !l.cand.same(c):
			zone, err := d.zone(d.self, c)
			if err != nil {
				continue
			}
			l.cand, l.zone = c, zone
			l.sched = newSchedule(now) // a new address: announce and query again
			d.log.Debug("discovery: addresses changed", "iface", c.Name, "addrs", c.Addrs)
		}
	}
	ifaces := d.ifacesLocked()
	d.mu.Unlock()
	if changed {
		d.log.Info("discovery: interfaces changed", "ifaces", ifaces)
		if d.onChange != nil {
			d.onChange(ifaces)
		}
	}
}

// multicast sends m to the group of every family on l (d.mu held).
func (d *Discovery) multicast(l *link, m *dns.Msg) {
	for _, f := range l.fams {
		d.multicastOn(l, f, m)
	}
}

// multicastOn sends m to f's group on l (d.mu held).
func (d *Discovery) multicastOn(l *link, f *family, m *dns.Msg) {
	b, err := m.Pack()
	if err != nil {
		d.log.Debug("discovery: pack", "err", err)
		return
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if err := f.m.sendTo(b, l.ifi, f.group); err != nil {
		d.log.Debug("discovery: send", "iface", l.cand.Name, "family", f, "err", err)
	}
}

// query sends our query on l to f's group, with the answers we know there
// (d.mu held).
func (d *Discovery) query(l *link, f *family, now time.Time) {
	b, err := queryMsg(l.known.list(now, maxKnownInQuery)).Pack()
	if err != nil {
		return
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if err := f.q.sendTo(b, l.ifi, f.group); err != nil {
		d.log.Debug("discovery: query", "iface", l.cand.Name, "family", f, "err", err)
	}
}

// serve reads one socket of f until it is closed: queries (on the mDNS
// socket) are answered, responses read for other nodes. A query is looked
// at (see reply) before it is unpacked.
func (d *Discovery) serve(f *family, c mconn, responder bool) {
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

// arrival finds the link a packet that came in on interface ifIndex (0:
// not known) came in on and whether its source is on that link's subnets
// (d.mu held).
func (d *Discovery) arrival(ifIndex int, from *net.UDPAddr) (*link, bool) {
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

// handleQuery answers the query b that came in on f (see reply).
func (d *Discovery) handleQuery(f *family, b []byte, ifIndex int, from *net.UDPAddr, now time.Time) {
	out, ifi, to := d.reply(f, b, ifIndex, from, now)
	if out == nil {
		return
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if err := f.m.sendTo(out, ifi, to); err != nil {
		d.log.Debug("discovery: answer", "to", to, "err", err)
	}
}

// reply returns the answer to the query b that came in on f at now, the
// interface to send it on and where to (nil: none), in this order:
//
//   - a query over the record caps (parseMsg) is dropped from its header;
//   - a source off the link is not answered (answer);
//   - a query over the budget of its source's /24 (/64) or of all sources
//     (limit.go) is dropped before it is unpacked;
//   - the answer (answer) is built without d.mu held;
//   - a multicast answer goes at most once a multicastGap per interface
//     and family, a unicast one within the budget of the address it is for.
func (d *Discovery) reply(f *family, b []byte, ifIndex int, from *net.UDPAddr, now time.Time) ([]byte, *net.Interface, *net.UDPAddr) {
	if overCap(b) {
		d.stats.queriesOverCap.Add(1)
		return nil, nil, nil
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, nil, nil
	}
	l, onLink := d.arrival(ifIndex, from)
	if l == nil || !slices.Contains(l.fams, f) {
		d.mu.Unlock()
		return nil, nil, nil
	}
	zone, ifi, name := l.zone, l.ifi, l.cand.Name
	d.mu.Unlock()
	if !onLink {
		d.log.Debug("discovery: not answering an off-link source", "from", from, "iface", name)
		return nil, nil, nil
	}
	src, _ := netip.AddrFromSlice(from.IP)
	src = src.Unmap()
	d.limitMu.Lock()
	ok := d.queries.take(sourcePrefix(src), now) && d.allQ.Take(now)
	d.limitMu.Unlock()
	if !ok {
		d.stats.queriesRateLimited.Add(1)
		return nil, nil, nil
	}
	q, err := parseMsg(b)
	if err != nil {
		d.stats.badPackets.Add(1)
		d.log.Debug("discovery: bad query", "from", from, "err", err)
		return nil, nil, nil
	}
	resp, to := answer(zone, q, from, onLink, f.group)
	if resp == nil {
		return nil, nil, nil
	}
	if to == f.group {
		d.mu.Lock()
		spaced := now.Sub(l.lastMulticast[f]) < multicastGap
		if !spaced {
			l.lastMulticast[f] = now
		}
		d.mu.Unlock()
		if spaced {
			d.stats.multicastSpaced.Add(1)
			return nil, nil, nil // answered by multicast within the last second: they heard it
		}
	} else {
		d.limitMu.Lock()
		ok := d.answers.take(src.WithZone(""), now)
		d.limitMu.Unlock()
		if !ok {
			d.stats.answersRateLimited.Add(1)
			return nil, nil, nil
		}
	}
	out, err := resp.Pack()
	if err != nil {
		d.log.Debug("discovery: pack", "err", err)
		return nil, nil, nil
	}
	return out, ifi, to
}

// handleResponse reports the other nodes a response from an on-link source
// describes, and remembers its answers as known answers.
func (d *Discovery) handleResponse(m *dns.Msg, ifIndex int, from *net.UDPAddr) {
	now := time.Now()
	d.mu.Lock()
	l, onLink := d.arrival(ifIndex, from)
	var cand candidate
	if l != nil {
		cand = l.cand
		if onLink {
			src, _ := netip.AddrFromSlice(from.IP)
			if n := l.known.learn(m, d.self.ID, src, now); n > 0 {
				d.stats.knownRefused.Add(uint64(n))
			}
		}
	}
	selfID, closed := d.self.ID, d.closed
	d.mu.Unlock()
	if l == nil || !onLink || closed {
		return
	}
	d.reportMu.Lock()
	defer d.reportMu.Unlock()
	es := entries(m)
	if len(es) == 0 && len(m.Answer) > 0 {
		d.log.Debug("discovery: ignoring answer", "name", ownerName(m.Answer[0]), "reason", "not a "+Service+" answer")
	}
	for _, e := range es {
		f, err := toFound(e, selfID, cand)
		if err != nil {
			if !errors.Is(err, errSelf) {
				d.log.Debug("discovery: ignoring answer", "name", e.Name, "reason", err)
			}
			continue
		}
		if r, ok := d.recent[f.ID]; ok && r.addr == f.Addr && r.name == f.Name && now.Sub(r.at) < reportAgain {
			continue
		}
		if !d.budget.Take(now) {
			d.stats.reportsDropped.Add(1)
			d.log.Debug("discovery: too many answers; dropping", "name", e.Name)
			continue
		}
		if _, ok := d.recent[f.ID]; !ok && len(d.recent) >= maxRecent {
			d.forgetRecent(now)
		}
		d.recent[f.ID] = recentReport{addr: f.Addr, name: f.Name, at: now}
		d.log.Debug("discovery: found", "id", f.ID, "name", f.Name, "addr", f.Addr, "iface", f.Iface)
		if d.onFound != nil {
			d.onFound(f)
		}
	}
}

// forgetRecent makes room in d.recent (full) at now: it forgets the
// reports older than reportAgain, which no longer keep anything from being
// reported, and if none is, the oldest (d.reportMu held). With the report
// budget (reportBurst + reportRate a second) fewer than maxRecent reports
// are ever younger than reportAgain, so the first step always makes room.
func (d *Discovery) forgetRecent(now time.Time) {
	n := len(d.recent)
	oldest, oldestAt := "", now
	for id, r := range d.recent {
		if now.Sub(r.at) >= reportAgain {
			delete(d.recent, id)
		} else if !r.at.After(oldestAt) {
			oldest, oldestAt = id, r.at
		}
	}
	if len(d.recent) >= maxRecent {
		delete(d.recent, oldest)
	}
	d.stats.recentForgotten.Add(uint64(n - len(d.recent)))
}

// ownerName is what a record is about: a PTR's target, or its own name.
func ownerName(rr dns.RR) string {
	if p, ok := rr.(*dns.PTR); ok {
		return p.Ptr
	}
	return rr.Header().Name
}

// errSelf marks our own answer, which toFound rejects.
var errSelf = errors.New("our own answer")

// toFound checks an instance read from a response on interface c and turns
// it into a Found: it must not be a goodbye, the name must be
// "<id>._p2pchat._udp.local.", the TXT must parse and carry the same id,
// the id must not be selfID, and there must be a usable address (see
// pickAddr) and a port. The TXT fields are in DNS
// presentation format (see unescapeTXT).
func toFound(e entry, selfID string, c candidate) (Found, error) {
	if e.Goodbye {
		return Found{}, errors.New("a goodbye")
	}
	instance, ok := strings.CutSuffix(strings.ToLower(e.Name), serviceSuffix)
	if !ok {
		return Found{}, fmt.Errorf("not a %s answer", Service)
	}
	fields, err := unescapeFields(e.TXT)
	if err != nil {
		return Found{}, err
	}
	info, err := ParseTXT(fields)
	if err != nil {
		return Found{}, err
	}
	if instance != info.ID {
		return Found{}, fmt.Errorf("instance name %q does not match TXT id %q", instance, info.ID)
	}
	if info.ID == selfID {
		return Found{}, errSelf
	}
	if e.Port < 1 || e.Port > 65535 {
		return Found{}, fmt.Errorf("bad port %d", e.Port)
	}
	addr := pickAddr(e.Addrs, c)
	if !addr.IsValid() {
		return Found{}, errors.New("no usable address")
	}
	info.Port = e.Port
	return Found{Info: info, Addr: netip.AddrPortFrom(addr, uint16(e.Port)), Iface: c.Name}, nil
}

// pickAddr picks the address to reach a node at among those it advertised
// on interface c, so that a dual-stack node is reached at one address, the
// same every time: an IPv4 address on c's subnets first (so an IPv4 LAN
// works as it did before IPv6), then a global IPv6 address on c's
// prefixes, then an IPv6 link-local address (given c as its zone), then
// any other IPv4 address, then any other global IPv6 address. Within a
// rank the first advertised wins. Nothing usable: the zero Addr.
func pickAddr(addrs []netip.Addr, c candidate) netip.Addr {
	var best netip.Addr
	bestRank := 0
	for _, a := range addrs {
		a = a.Unmap()
		rank := 0
		switch {
		case !(a.IsGlobalUnicast() || a.IsLinkLocalUnicast()):
		case a.Is4() && c.onLink(a):
			rank = 5
		case a.Is6() && a.IsLinkLocalUnicast():
			if c.has(true) {
				rank, a = 3, a.WithZone(c.Name)
			}
		case a.Is6() && c.onLink(a):
			rank = 4
		case a.Is4():
			rank = 2
		default:
			rank = 1
		}
		if rank > bestRank {
			best, bestRank = a, rank
		}
	}
	return best
}

// Hint is the line to show when no peer has been found a while after
// start: the interfaces tried and the likely causes.
func Hint(ifaces []string) string {
	where := "no network interface is usable (up, multicast, with an IP address)"
	if len(ifaces) > 0 {
		where = "looked on " + strings.Join(ifaces, ", ")
	}
	return "no peer found yet (" + where + "). A firewall may block mDNS (UDP 5353) or p2pchat's port, " +
		"or the Wi-Fi may keep clients apart (guest networks and client isolation do); " +
		"if you know where a peer is, start with -peer HOST[:PORT]"
}
