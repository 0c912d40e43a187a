// The schedule loop: announcements (at once and a second later), our
// queries on their schedule (schedule.go), the rescans of the interfaces,
// and the goodbye at Close.

package discovery

import (
	"context"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// shutdown says goodbye and closes the sockets, once.
func (d *Discovery) shutdown() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	for _, l := range d.links {
		d.multicastLocked(l, announcement(l.zone, true))
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
			d.multicastLocked(l, announcement(l.zone, false))
		}
		if query {
			for _, f := range l.fams {
				if f.v6 && len(l.fams) > 1 {
					l.queryV6At = now.Add(familyGap)
					continue
				}
				d.queryLocked(l, f, now)
			}
		}
		if !l.queryV6At.IsZero() && !now.Before(l.queryV6At) {
			l.queryV6At = time.Time{}
			for _, f := range l.fams {
				if f.v6 {
					d.queryLocked(l, f, now)
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
	cands, err := d.sys.interfaces()
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
			d.leaveLocked(l)
			changed = true
		}
	}
	for _, c := range used {
		l := d.links[c.Index]
		switch {
		case l == nil:
			if err := d.joinLocked(c, now); err != nil {
				d.log.Debug("discovery: join", "iface", c.Name, "err", err)
				continue
			}
			changed = true
		case l.cand.has(true) != c.has(true) || l.cand.has(false) != c.has(false):
			// An address family came or went: join the groups afresh.
			d.leaveLocked(l)
			if err := d.joinLocked(c, now); err != nil {
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

// multicastLocked sends m to the group of every family on l (d.mu held).
func (d *Discovery) multicastLocked(l *link, m *dns.Msg) {
	for _, f := range l.fams {
		d.multicastOnLocked(l, f, m)
	}
}

// multicastOnLocked sends m to f's group on l (d.mu held).
func (d *Discovery) multicastOnLocked(l *link, f *family, m *dns.Msg) {
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
