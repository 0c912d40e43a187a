package peer

import "fmt"

// Queue names the bound of the outbox that a message did not fit in.
type Queue string

// Queues of a *QueueFullError.
const (
	QueuePeerCount Queue = "peer-count" // Have messages for Peer are not yet acknowledged (at most Max)
	QueuePeerBytes Queue = "peer-bytes" // Have bytes of messages for Peer are not yet acknowledged (at most Max)
	QueueAllBytes  Queue = "all-bytes"  // Have bytes of messages wait for their recipients (at most Max)
	QueueEvery     Queue = "every"      // Send to all: no peer's queue took the message
	QueueBook      Queue = "book"       // SendApp: the address book has no room for the recipient
)

// QueueFullError is why a message was not queued: errors.Is(err,
// ErrQueueFull) holds. Its Error text is for logs; the shell words it
// from the fields.
type QueueFullError struct {
	Queue Queue
	Peer  string // peer-count, peer-bytes: the recipient's display name
	Have  int    // how many messages, or bytes, wait
	Max   int    // the bound
}

func (e *QueueFullError) Error() string {
	s := ErrQueueFull.Error() + ": " + string(e.Queue)
	if e.Peer != "" {
		s += " " + e.Peer
	}
	if e.Max != 0 {
		s += fmt.Sprintf(" %d of %d", e.Have, e.Max)
	}
	return s
}

// Is reports that a QueueFullError is ErrQueueFull.
func (e *QueueFullError) Is(target error) bool { return target == ErrQueueFull }
