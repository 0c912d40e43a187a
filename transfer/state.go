package transfer

import "fmt"

// State is where a transfer stands, on either side.
type State int

// Transfer states. Offered, Connecting, Active and Paused are live; the
// others are final.
const (
	Offered    State = iota // the receiver has not decided yet
	Connecting              // accepted; no data connection yet
	Active                  // data flowing
	Paused                  // accepted, the data connection was lost: it resumes when the peer is back
	Done                    // every file arrived and verified
	Failed                  // given up (a file did not verify, a source changed, protocol error)
	Rejected                // the receiver said no
	Cancelled               // one side cancelled
)

var stateNames = [...]string{"offered", "connecting", "active", "paused", "done", "failed", "rejected", "cancelled"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Final reports whether nothing more happens to a transfer in state s.
func (s State) Final() bool { return s >= Done }

// input is what happens to a transfer.
type input int

const (
	inAccept    input = iota // the receiver accepted
	inReject                 // the receiver rejected
	inCancel                 // either side cancelled
	inConnected              // a data connection is up
	inLost                   // the data connection ended before the end
	inVerified               // every file's verdict is in, all good (in a data connection, or told by a new one's resume frame)
	inFail                   // a file did not verify, or another fatal error
)

var inputNames = [...]string{"accept", "reject", "cancel", "connected", "lost", "verified", "fail"}

func (i input) String() string { return inputNames[i] }

// step is the transfer state machine: the state after in, and whether in
// means anything in state s (if not, s is returned and in is ignored).
func step(s State, in input) (State, bool) {
	if s.Final() {
		return s, false
	}
	switch in {
	case inCancel:
		return Cancelled, true
	case inFail:
		return Failed, true
	}
	switch s {
	case Offered:
		switch in {
		case inAccept:
			return Connecting, true
		case inReject:
			return Rejected, true
		}
	case Connecting, Paused:
		switch in {
		case inConnected:
			return Active, true
		case inLost:
			return s, true // still waiting for a connection
		case inVerified:
			return Done, true // the verdicts of an earlier connection, told by the next one's resume frame
		}
	case Active:
		switch in {
		case inLost:
			return Paused, true
		case inVerified:
			return Done, true
		}
	}
	return s, false
}

// applyLocked moves x's state by in, and reports whether in meant anything
// (Manager.mu held). It is the only change of a transfer's state: the
// state is otherwise set only where an xfer is made (Send, onOfferLocked,
// load), before anything else can see it.
func (x *xfer) applyLocked(in input) bool {
	s, ok := step(x.state, in)
	x.state = s
	return ok
}
