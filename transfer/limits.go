package transfer

import "time"

// refusal is what a peer's refused offers have not said yet (Manager.mu).
type refusal struct {
	since time.Time // the last refusal event of this peer
	n     int       // refusals since then, not said yet
	last  Event     // the latest of them: said with Count n
}

// allowOfferLocked takes one of key's new-offer tokens, if it has one (m.mu
// held): offerRate a second, offerBurst at once, for the maxRateKeys
// peers that offered last (a new one replaces the one that offered
// longest ago).
func (m *Manager) allowOfferLocked(key [32]byte, now time.Time) bool {
	if !m.offerRate.Take(key, now) {
		m.stats.OffersRateLimited++
		return false
	}
	return true
}

// refuseOfferLocked reports a refused offer of key (m.mu held): at once if the
// peer had no refusal reported in the last refusalEvery, else later by
// tickPeersLocked, folded into one event with a Count.
func (m *Manager) refuseOfferLocked(key [32]byte, e Event, now time.Time) {
	m.stats.OffersBadName++
	r := m.refusals[key]
	switch {
	case r != nil:
		r.n++
		r.last = e
		m.stats.RefusalsCoalesced++
	case len(m.refusals) >= maxRefusalKeys:
		m.stats.RefusalsUnsaid++
	default:
		m.refusals[key] = &refusal{since: now}
		m.emitFromPeerLocked(e)
	}
}

// tickPeersLocked says coalesced refusals and forgets idle peers' budgets (m.mu
// held).
func (m *Manager) tickPeersLocked(now time.Time) {
	for k, r := range m.refusals {
		if now.Sub(r.since) < refusalEvery {
			continue
		}
		if r.n == 0 {
			delete(m.refusals, k)
			continue
		}
		e := r.last
		e.Count, e.Time = r.n, now
		r.since, r.n, r.last = now, 0, Event{}
		m.emitFromPeerLocked(e)
	}
}
