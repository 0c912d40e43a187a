// Browsing: our queries (with known answers, known.go) and the reports of
// the nodes the responses describe.

package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

type recentReport struct {
	addr netip.AddrPort
	name string
	at   time.Time
}

// queryLocked sends our query on l to f's group, with the answers we know there
// (d.mu held).
func (d *Discovery) queryLocked(l *link, f *family, now time.Time) {
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

// handleResponse reports the other nodes a response from an on-link source
// describes, and remembers its answers as known answers.
func (d *Discovery) handleResponse(m *dns.Msg, ifIndex int, from *net.UDPAddr) {
	now := time.Now()
	d.mu.Lock()
	l, onLink := d.arrivalLocked(ifIndex, from)
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
			d.forgetRecentLocked(now)
		}
		d.recent[f.ID] = recentReport{addr: f.Addr, name: f.Name, at: now}
		d.log.Debug("discovery: found", "id", f.ID, "name", f.Name, "addr", f.Addr, "iface", f.Iface)
		if d.onFound != nil {
			d.onFound(f)
		}
	}
}

// forgetRecentLocked makes room in d.recent (full) at now: it forgets the
// reports older than reportAgain, which no longer keep anything from being
// reported, and if none is, the oldest (d.reportMu held). With the report
// budget (reportBurst + reportRate a second) fewer than maxRecent reports
// are ever younger than reportAgain, so the first step always makes room.
func (d *Discovery) forgetRecentLocked(now time.Time) {
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
