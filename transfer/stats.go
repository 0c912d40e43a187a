package transfer

// Stats counts what the manager dropped or refused to stay within its
// bounds (README, "Everything a peer can make a node hold is bounded").
// Each field counts since New.
type Stats struct {
	// Offers.
	OffersRateLimited uint64 // new offers dropped unread: their peer sent more than 4 a second (burst 8); the sender repeats them
	OffersRateFull    uint64 // new offers dropped unread: the offer rates of 1,024 other peers were being tracked
	OffersBadName     uint64 // offers refused (bad-offer) for a name that would land outside the downloads folder
	OffersBusy        uint64 // offers refused (busy): 8 waiting from that peer (1 from a stranger), 16 from strangers, or 32 in all
	OffersCollided    uint64 // offers refused (busy): their id is that of another sender's live incoming transfer
	OffersExpired     uint64 // undecided offers dropped: not repeated by their sender for 8 s, or the sender went offline
	AutoAcceptsHeld   uint64 // -accept-from offers left for the user: 4 transfers (or 1 TiB) from that peer, or 32 in all, were being received

	// State files.
	StatesRefused uint64 // state files not taken in at start: damaged, or in the wrong folder for their direction (an outgoing one in the downloads folder)

	// Events for the reader of Events.
	RefusalsCoalesced uint64 // bad-offer refusals folded into a later event with a Count (one event per peer every 10 s)
	RefusalsUnsaid    uint64 // bad-offer refusals never reported: the refusals of 256 other peers were being counted
	EventsDropped     uint64 // events dropped: 1,024 events or 1 MiB waited for the reader (3/4 of that for events a peer's offer causes)
	ProgressDropped   uint64 // progress events dropped: more than 16 events waited for the reader
}

// Stats is a snapshot of the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}
