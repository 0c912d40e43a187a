// Package peer is a p2pchat node: one UDP socket for sending and receiving,
// a TCP listener on the same port for fallback, the wire format, end-to-end
// encryption, the address book and reliable, ordered delivery.
//
// Encryption is in sessions (session.go, wire version 2): a Noise IK
// handshake (github.com/flynn/noise) between the two identity keys and
// fresh ephemeral keys, data sealed with the session's keys under an
// explicit counter with a replay window per session, a new session every
// 2 minutes or 2^20 packets, and the keys of a replaced session and of a
// finished handshake zeroed (wipe.go). The identity keys only
// authenticate handshakes, so a stolen key does not open recorded
// traffic. Above the sessions nothing changed from version 1: the inner
// payloads, the per-peer replay window over (boot, counter), challenges
// and the durable streams. A packet of another protocol version is
// dropped and reported once per peer (EvVersion).
//
// A Node never prints; it reports what happens as Events.
//
// # Events and errors: codes, not sentences
//
// What this package tells (Events) and answers (the commands' errors) is
// codes and fields: an event's Kind, Reason and Code with the fields the
// Code names (a left event's Code says why the peer left: CodeQuit,
// CodeNoAnswer; a store-damaged warning carries the store's Damage); a
// command's error is a sentinel (ErrUnknownPeer, ErrNoPeers, ErrEmpty,
// ErrTooLong, ErrNotUTF8, ErrClosed, ErrAwayTooLong, ErrAwayNotUTF8,
// ErrOwnName), a *QueueFullError (ErrQueueFull) or a *wire.NameError
// (ErrBadName), and an event's Err is one of those or the message
// store's (internal/store's sentinels, wrapping the operating system's
// error). The shell writes the sentences the user reads
// (shell/peerwords.go, shell/format.go); an error's own text is for the
// debug log. Text carries only what a peer or the application wrote
// (messages, the first characters of a message delivered late) and
// Notice's text.
package peer
