// The responder: answering the queries that come in on the mDNS socket,
// within the budgets of limit.go.

package discovery

import (
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/p2pchat/p2pchat/internal/rate"
)

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
	l, onLink := d.arrivalLocked(ifIndex, from)
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
	ok := d.queries.Take(rate.Prefix(src), now) && d.allQ.Take(now)
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
		ok := d.answers.Take(src.WithZone(""), now)
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
