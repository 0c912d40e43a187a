package transfer

import "time"

// bucket is a peer's budget of new offers: offerRate a second, up to
// offerBurst (Manager.mu).
type bucket struct {
	tokens float64
	at     time.Time
}

// refusal is what a peer's refused offers have not said yet (Manager.mu).
type refusal struct {
	since time.Time // the last refusal event of this peer
	n     int       // refusals since then, not said yet
	last  Event     // the latest of them: said with Count n
}

// allowOffer takes one of key's new-offer tokens, if it has one (m.mu
// held). A key not tracked yet starts with offerBurst; with maxRateKeys
// tracked, new keys wait until tick forgets idle ones.
func (m *Manager) allowOffer(key [32]byte, now time.Time) bool {
	b := m.offerRate[key]
	if b == nil {
		if len(m.offerRate) >= maxRateKeys {
			m.stats.OffersRateFull++
			return false
		}
		b = &bucket{tokens: offerBurst, at: now}
		m.offerRate[key] = b
	}
	b.fill(now)
	if b.tokens < 1 {
		m.stats.OffersRateLimited++
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) fill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(offerBurst, b.tokens+d.Seconds()*offerRate)
	}
	b.at = now
}

// refuseOffer reports a refused offer of key (m.mu held): at once if the
// peer had no refusal reported in the last refusalEvery, else later by
// tickPeers, folded into one event with a Count.
func (m *Manager) refuseOffer(key [32]byte, e Event, now time.Time) {
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
		m.emitFromPeer(e)
	}
}

// tickPeers says coalesced refusals and forgets idle peers' budgets (m.mu
// held).
func (m *Manager) tickPeers(now time.Time) {
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
		m.emitFromPeer(e)
	}
	for k, b := range m.offerRate {
		if b.fill(now); b.tokens >= offerBurst {
			delete(m.offerRate, k) // as good as new
		}
	}
}
