package transfer

import "sync/atomic"

// Stats counts what the manager dropped or refused to stay within its
// bounds (README, "Everything a peer can make a node hold is bounded").
// Each field counts since New.
type Stats struct {
	// Offers.
	OffersRateLimited   uint64 // new offers dropped unread: their peer sent more than 4 a second (burst 8); the sender repeats them
	OfferRatesForgotten uint64 // peers' offer rates forgotten to make room for a new peer's (1,024 kept, the one that offered longest ago goes)
	OffersBadName       uint64 // offers refused (bad-offer) for a name that would land outside the downloads folder
	OffersBusy          uint64 // offers refused (busy): 8 waiting from that peer (1 from a stranger), 16 from strangers, or 32 in all
	OffersCollided      uint64 // offers refused (busy): their id is that of another sender's live incoming transfer
	OffersExpired       uint64 // undecided offers dropped: not repeated by their sender for 8 s, or the sender went offline
	AutoAcceptsHeld     uint64 // -accept-from offers left for the user: 4 transfers (or 1 TiB) from that peer, or 32 in all, were being received

	// State files.
	StatesRefused uint64 // state files not taken in at start: damaged, or in the wrong folder for their direction (an outgoing one in the downloads folder)

	// Events for the reader of Events.
	RefusalsCoalesced uint64 // bad-offer refusals folded into a later event with a Count (one event per peer every 10 s)
	RefusalsUnsaid    uint64 // bad-offer refusals never reported: the refusals of 256 other peers were being counted
	EventsDropped     uint64 // events dropped: 1,024 events or 1 MiB waited for the reader (3/4 of that for events a peer's offer causes)
	ProgressDropped   uint64 // progress events dropped: more than 16 events waited for the reader

	// Data connections received (handshakes.go).
	StreamsBadHello        uint64 // closed: hello late (handshakeTimeout), malformed, of another version, or naming no accepted transfer from the sender's key
	StreamsUnauthenticated uint64 // closed: the hello named a transfer but the key was not proved (a replayed hello); nothing changed
	StreamsRefusedSource   uint64 // closed at once: maxHandshakesPerSource connections from that IPv4 address or IPv6 /64 were in their handshake
	StreamsRefusedBusy     uint64 // closed at once: maxHandshakes connections from all sources were in their handshake
	StreamsNoSlot          uint64 // proved their key but found maxStreams others running: closed (the sender tries again)
}

// streamStats are the data-connection counters behind Stats (atomics: the
// connections' goroutines count without Manager.mu).
type streamStats struct {
	badHello        atomic.Uint64
	unauthenticated atomic.Uint64
	refusedSource   atomic.Uint64
	refusedBusy     atomic.Uint64
	noSlot          atomic.Uint64
}

// Stats is a snapshot of the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	st := m.stats
	st.OfferRatesForgotten = m.offerRate.Evicted()
	m.mu.Unlock()
	st.StreamsBadHello = m.sstats.badHello.Load()
	st.StreamsUnauthenticated = m.sstats.unauthenticated.Load()
	st.StreamsRefusedSource = m.sstats.refusedSource.Load()
	st.StreamsRefusedBusy = m.sstats.refusedBusy.Load()
	st.StreamsNoSlot = m.sstats.noSlot.Load()
	return st
}
