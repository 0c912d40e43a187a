// Package peer is a p2pchat node: one UDP socket for sending and receiving,
// a TCP listener on the same port for fallback, the wire format, end-to-end
// encryption, the address book and reliable, ordered delivery.
//
// A Node never prints; it reports what happens as Events.
package peer
