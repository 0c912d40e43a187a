// Package discovery finds other p2pchat nodes on the local network with
// multicast DNS (RFC 6762) and DNS-SD (RFC 6763), using
// github.com/hashicorp/mdns.
//
// Each node advertises one service instance of type Service in domain
// "local.": the instance name is the node id (unique, so no name conflicts
// arise), the SRV record carries the chat port, the A records the node's
// IPv4 addresses on one interface, and the TXT record the fields built by
// TXT:
//
//	v=1  id=0123456789abcdef  name=小明  key=<X25519 public key, base64url>  host=laptop
//
// At the same time the node browses: it queries at once, then 1, 2, 4, ...
// seconds later, doubling up to once a minute, until Close. Every valid
// answer from another node is passed to Config.OnFound; answers repeat and
// the caller deduplicates.
//
// mDNS is only for bootstrap: the library sends no announcements and no
// goodbyes and keeps no cache, so a node that leaves is not noticed here.
// Presence (hello, heartbeats, bye) is the chat protocol's business, and the
// address to trust is the source address of authenticated chat packets, not
// the A record reported here.
//
// Things the library does not do and this package does instead:
//
//   - it does not filter answers by service: anything not named
//     "<id>._p2pchat._udp.local." with a valid TXT is dropped here;
//   - its result channel drops when full: results are collected as they come
//     and handled when each query ends (the library may still write to an
//     entry after handing it over, so reading it earlier would race);
//   - IPv6 querying is disabled (data race in the library, and an IPv6 send
//     error fails the whole query); only IPv4 addresses are advertised;
//   - TXT strings pass through github.com/miekg/dns in DNS presentation
//     format (a Chinese name arrives as "\229\176..."): they are escaped
//     before advertising and unescaped after browsing;
//   - its log lines go to Config.Logger at debug level, never to stderr;
//   - its responder answers every query by unicast to the sender, which
//     other mDNS stacks on the querier's machine (avahi-daemon) then miss:
//     the records are served by this package's own responder instead,
//     which answers as RFC 6762 says (see responder.go).
//
// One thing it does that cannot be helped from here: the querier joins
// 224.0.0.251 on whichever interface the routing table picks, whatever
// interface it is given, so browsing needs a route covering that group (a
// default route will do). Without one every query fails and a warning with
// a hint is logged once; advertising still works, so a node that can browse
// finds this one and says hello.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"
)

// Service is the DNS-SD service type p2pchat nodes advertise and browse.
const Service = "_p2pchat._udp"

// Version is the protocol version advertised in TXT "v=".
const Version = 1

// domain is the mDNS domain, fully qualified.
const domain = "local."

// serviceSuffix ends the name of every instance of Service.
const serviceSuffix = "." + Service + "." + domain

// Browse schedule (RFC 6762 section 5.2): the first two queries one second
// apart, then at least doubling, up to a ceiling.
const (
	firstInterval = time.Second
	maxInterval   = 60 * time.Second
	// queryTimeout is how long each query listens for answers; the library
	// blocks for all of it.
	queryTimeout = time.Second
	// firstWindow is the first query's listening time: answers on a LAN
	// arrive within milliseconds (responders may wait up to 120 ms), and a
	// newcomer wants its peers at once. Later queries listen the full
	// queryTimeout for slow responders.
	firstWindow = 300 * time.Millisecond
	// entriesBuffer is the capacity of the library's result channel.
	entriesBuffer = 64
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
	Addr netip.AddrPort // advertised IPv4 address and Port
}

// Config configures Start.
type Config struct {
	// Self is what to advertise. Start checks that other nodes will accept
	// it (see ParseTXT) and that Port is in 1..65535.
	Self Info
	// Iface is the interface to run mDNS on; nil means ChooseInterface("").
	Iface *net.Interface
	// IPs are the IPv4 addresses to advertise; empty means the IPv4
	// addresses of the interface.
	IPs []net.IP
	// Logger receives debug logs, including the mdns library's own log
	// lines at debug level; nil discards them.
	Logger *slog.Logger
	// OnFound is called, from one goroutine, for every valid answer from
	// another node; the same node is reported again on later queries. It
	// must be cheap and must not call Close (Close waits for it).
	OnFound func(Found)
}

// Discovery advertises this node and browses for others until Close.
type Discovery struct {
	log     *slog.Logger
	mdnsLog *log.Logger // the library's log, into log at debug level
	iface   *net.Interface
	ips     []net.IP
	onFound func(Found)

	cancel context.CancelFunc
	done   chan struct{} // closed when the browse loop has ended

	mu     sync.Mutex
	self   Info
	server *responder // nil once closed
	closed bool
}

// Start starts advertising cfg.Self and browsing for other nodes in the
// background. Both stop when ctx ends or Close is called.
func Start(ctx context.Context, cfg Config) (*Discovery, error) {
	self, err := checkSelf(cfg.Self)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	iface, ips := cfg.Iface, cfg.IPs
	if iface == nil {
		var chosen []net.IP
		iface, chosen, err = ChooseInterface("")
		if err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			ips = chosen
		}
	}
	if len(ips) == 0 {
		ips, err = ipv4Addrs(iface)
		if err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("discovery: network interface %q has no IPv4 address", iface.Name)
		}
	}
	for _, ip := range ips {
		if ip.To4() == nil {
			return nil, fmt.Errorf("discovery: cannot advertise %v: only IPv4 addresses are supported", ip)
		}
	}

	d := &Discovery{
		log:     logger,
		mdnsLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		iface:   iface,
		ips:     ips,
		onFound: cfg.OnFound,
		done:    make(chan struct{}),
		self:    self,
	}
	d.server, err = d.newServer(self)
	if err != nil {
		return nil, err
	}
	ctx, d.cancel = context.WithCancel(ctx)
	logger.Debug("discovery: started", "iface", iface.Name, "ips", ips, "id", self.ID, "port", self.Port)
	go d.browse(ctx)
	return d, nil
}

// Update re-advertises with new information, such as a new nickname. The new
// responder starts before the old one stops, so if starting fails the old
// advertisement stays and Update returns the error.
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
	srv, err := d.newServer(self)
	if err != nil {
		return err
	}
	if err := d.server.Shutdown(); err != nil {
		d.log.Debug("discovery: stop old responder", "err", err)
	}
	d.server = srv
	d.self = self
	d.log.Debug("discovery: updated", "id", self.ID, "name", self.Name, "port", self.Port)
	return nil
}

// Close stops advertising and browsing. It waits for a running OnFound call
// to return but not for a query in flight, whose sockets it closes. Close is
// idempotent and always returns nil.
func (d *Discovery) Close() error {
	d.cancel()
	<-d.done
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

// newServer starts an mDNS responder for self.
func (d *Discovery) newServer(self Info) (*responder, error) {
	host := "p2pchat-" + self.ID + "." + domain
	zone, err := mdns.NewMDNSService(self.ID, Service, domain, host, self.Port, d.ips, escapeFields(TXT(self)))
	if err != nil {
		return nil, fmt.Errorf("discovery: mdns service: %w", err)
	}
	srv, err := newResponder(zone, d.iface, d.log)
	if err != nil {
		return nil, fmt.Errorf("discovery: mdns responder on %s: %w", d.iface.Name, err)
	}
	return srv, nil
}

// selfID returns the id being advertised.
func (d *Discovery) selfID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.self.ID
}

// browse queries on the RFC 6762 schedule until ctx ends, then stops the
// responder.
func (d *Discovery) browse(ctx context.Context) {
	defer close(d.done)
	defer func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.closed = true
		if err := d.server.Shutdown(); err != nil {
			d.log.Debug("discovery: stop responder", "err", err)
		}
		d.server = nil
		d.log.Debug("discovery: stopped")
	}()

	interval := firstInterval
	window := firstWindow
	failing := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		start := time.Now()
		entries, err := d.query(ctx, window)
		window = queryTimeout
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && !failing:
			d.log.Warn("discovery: mDNS query failed; retrying", "iface", d.iface.Name, "err", err, "hint", hint(err, d.iface.Name))
		case err != nil:
			d.log.Debug("discovery: mDNS query failed", "err", err)
		case failing:
			d.log.Info("discovery: mDNS query works again")
		}
		failing = err != nil
		d.report(ctx, entries)

		timer.Reset(time.Until(start.Add(interval)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		interval = min(2*interval, maxInterval)
	}
}

// query runs one mDNS query and returns what it collected, or returns nil at
// once when ctx ends (the query then finishes in the background within its
// timeout, its sockets already closed).
func (d *Discovery) query(ctx context.Context, window time.Duration) ([]*mdns.ServiceEntry, error) {
	ch := make(chan *mdns.ServiceEntry, entriesBuffer)
	collected := make(chan []*mdns.ServiceEntry, 1)
	go func() {
		var all []*mdns.ServiceEntry
		for e := range ch {
			all = append(all, e) // do not read e yet: the library may still write to it
		}
		collected <- all
	}()
	errc := make(chan error, 1)
	go func() {
		err := mdns.QueryContext(ctx, &mdns.QueryParam{
			Service:     Service,
			Domain:      domain,
			Timeout:     window,
			Interface:   d.iface,
			Entries:     ch,
			DisableIPv6: true,
			Logger:      d.mdnsLog,
		})
		// The library sends only from inside QueryContext, so closing here is
		// safe, and everything it wrote to the entries happens before this.
		close(ch)
		errc <- err
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case all := <-collected:
		if err := <-errc; err != nil {
			return all, fmt.Errorf("discovery: mdns query on %s: %w", d.iface.Name, err)
		}
		return all, nil
	}
}

// report passes the valid entries to OnFound.
func (d *Discovery) report(ctx context.Context, entries []*mdns.ServiceEntry) {
	self := d.selfID()
	for _, e := range entries {
		f, err := toFound(e, self)
		if err != nil {
			d.log.Debug("discovery: ignoring answer", "name", e.Name, "reason", err)
			continue
		}
		d.log.Debug("discovery: found", "id", f.ID, "name", f.Name, "addr", f.Addr)
		if d.onFound == nil || ctx.Err() != nil {
			continue
		}
		d.onFound(f)
	}
}

// hint explains a query error where it can.
func hint(err error, iface string) string {
	if strings.Contains(err.Error(), "failed to bind to any multicast") {
		// The library joins 224.0.0.251 on the interface the routing table
		// gives for it, whatever QueryParam.Interface says (ENODEV if none).
		return "no route covers multicast 224.0.0.251 (no default route?); browsing needs one, e.g. " +
			"`ip route add 224.0.0.0/4 dev " + iface + "`; advertising still works, so nodes that can browse will find this one"
	}
	return ""
}

// errSelf marks our own answer, which toFound rejects.
var errSelf = errors.New("our own answer")

// toFound checks an mDNS answer and turns it into a Found: the name must be
// "<id>._p2pchat._udp.local." (the library does not filter by service), the
// TXT must parse and carry the same id, the id must not be selfID, and there
// must be a usable IPv4 address and a port. The TXT fields are in DNS
// presentation format, as the library leaves them (see unescapeTXT).
func toFound(e *mdns.ServiceEntry, selfID string) (Found, error) {
	name := strings.ToLower(e.Name)
	instance, ok := strings.CutSuffix(name, serviceSuffix)
	if !ok {
		return Found{}, fmt.Errorf("not a %s answer", Service)
	}
	fields, err := unescapeFields(e.InfoFields)
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
	addr, ok := netip.AddrFromSlice(e.AddrV4.To4())
	if !ok {
		return Found{}, errors.New("no IPv4 address")
	}
	if !addr.IsGlobalUnicast() && !addr.IsLinkLocalUnicast() {
		return Found{}, fmt.Errorf("unusable IPv4 address %v", addr)
	}
	info.Port = e.Port
	return Found{Info: info, Addr: netip.AddrPortFrom(addr, uint16(e.Port))}, nil
}
