package transfer

import "sync/atomic"

// Stats counts what the manager refused or dropped, since it started.
type Stats struct {
	// StreamsBadHello: data connections closed because their hello was
	// late (handshakeTimeout), malformed, of another version, or named no
	// accepted transfer from the sender's key.
	StreamsBadHello uint64
	// StreamsUnauthenticated: data connections whose hello named a
	// transfer but that did not prove its key (a replayed hello): closed,
	// nothing changed.
	StreamsUnauthenticated uint64
}

// streamStats are the counters behind Stats (atomics: no lock).
type streamStats struct {
	badHello        atomic.Uint64
	unauthenticated atomic.Uint64
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	return Stats{
		StreamsBadHello:        m.stats.badHello.Load(),
		StreamsUnauthenticated: m.stats.unauthenticated.Load(),
	}
}
