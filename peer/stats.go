package peer

// Stats counts what the node dropped or retried, for tests and benchmarks.
type Stats struct {
	Retransmits   uint64 // message packets sent again
	TCPSends      uint64 // message packets sent over TCP
	Dropped       uint64 // packets dropped: not ours, bad, failed authentication, replayed
	Replayed      uint64 // of which: replays
	Unauthentic   uint64 // of which: failed to open
	Duplicates    uint64 // messages received again (acknowledged, not shown)
	UnknownBudget uint64 // sealed packets from unknown keys not opened (flood guard)
	Backpressure  uint64 // messages not taken (nor acknowledged) because the user side is behind
	NoRoom        uint64 // messages ahead of a gap not taken for want of room (sent again)
	EventsDropped uint64 // notices about peers dropped because the event queue was full
	LeadsDropped  uint64 // peer-exchange entries not followed (over the bounds in exchange.go)
	LeadsRefused  uint64 // peer-exchange entries not followed for their address (broadcast or network address of a local prefix, multicast, loopback from afar: usableLead)
	// AnswersLimited counts answers to strangers (probes, packets of keys
	// we do not know) not sent: over the budget of the source's /24 or
	// /64, or of all strangers together (receive.go).
	AnswersLimited uint64
	ProbesUnproven uint64 // probes echoing a cookie we did not make for that key and address in the last 10 s (dropped)

	// The TCP listener's counters (NetTransport; zero on other transports).
	TCPRefusedFull     uint64 // accepted connections closed at once: every slot taken
	TCPRefusedSource   uint64 // closed at once: the source address (IPv6: /64) holds its share already
	TCPRefusedReserve  uint64 // closed at once: only the reserve for peers in the book was left
	TCPUnauthenticated uint64 // closed for sending no stream header nor a packet that opened in time

	// Sessions (session.go).
	Handshakes        uint64 // handshakes made: initiations sent and initiations answered
	HandshakesLimited uint64 // initiations of a key already known not read: over its budget (1 a second, 4 at once)
	NoSession         uint64 // data packets of a session we do not hold (dropped; we start a handshake)
	SessionsEvicted   uint64 // keys whose sessions were erased to make room for another (maxSessionPeers)
	QueueDropped      uint64 // packets that waited for a handshake and were dropped: over the queue's bound, or the handshake unanswered for 20 s
	OldVersion        uint64 // packets of another protocol version (dropped; EvVersion once per peer)
}

// Stats returns the counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	st := n.stats
	n.mu.Unlock()
	if t, ok := n.tr.(interface{ Stats() TCPStats }); ok {
		ts := t.Stats()
		st.TCPRefusedFull, st.TCPRefusedSource = ts.RefusedFull, ts.RefusedSource
		st.TCPRefusedReserve, st.TCPUnauthenticated = ts.RefusedReserve, ts.Unauthenticated
	}
	return st
}
