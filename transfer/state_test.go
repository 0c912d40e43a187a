package transfer

import "testing"

func TestStep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from State
		in   input
		to   State
		ok   bool
	}{
		{Offered, inAccept, Connecting, true},
		{Offered, inReject, Rejected, true},
		{Offered, inCancel, Cancelled, true},
		{Offered, inConnected, Offered, false}, // data before an accept
		{Offered, inVerified, Offered, false},
		{Offered, inLost, Offered, false},
		{Connecting, inConnected, Active, true},
		{Connecting, inLost, Connecting, true},
		{Connecting, inReject, Connecting, false}, // too late to reject
		{Connecting, inVerified, Done, true},      // the resume frame says every file is verified
		{Connecting, inAccept, Connecting, false},
		{Active, inLost, Paused, true},
		{Active, inVerified, Done, true},
		{Active, inFail, Failed, true},
		{Active, inCancel, Cancelled, true},
		{Active, inAccept, Active, false},
		{Paused, inConnected, Active, true},
		{Paused, inLost, Paused, true},
		{Paused, inVerified, Done, true},
		{Paused, inReject, Paused, false},
		{Paused, inCancel, Cancelled, true},
		{Done, inCancel, Done, false},
		{Done, inFail, Done, false},
		{Rejected, inAccept, Rejected, false},
		{Cancelled, inConnected, Cancelled, false},
		{Failed, inVerified, Failed, false},
	}
	for _, tt := range tests {
		got, ok := step(tt.from, tt.in)
		if got != tt.to || ok != tt.ok {
			t.Errorf("step(%v, %v) = %v, %v; want %v, %v", tt.from, tt.in, got, ok, tt.to, tt.ok)
		}
	}
	// Every (state, input) pair: the ones that mean something, and what
	// they lead to; any other pair leaves the state as it is.
	moves := map[State]map[input]State{
		Offered:    {inAccept: Connecting, inReject: Rejected, inCancel: Cancelled, inFail: Failed},
		Connecting: {inConnected: Active, inLost: Connecting, inVerified: Done, inCancel: Cancelled, inFail: Failed},
		Active:     {inLost: Paused, inVerified: Done, inCancel: Cancelled, inFail: Failed},
		Paused:     {inConnected: Active, inLost: Paused, inVerified: Done, inCancel: Cancelled, inFail: Failed},
	}
	for s := Offered; s <= Cancelled; s++ {
		for in := inAccept; in <= inFail; in++ {
			to, ok := moves[s][in]
			if !ok {
				to = s
			}
			got, gotOK := step(s, in)
			if got != to || gotOK != ok {
				t.Errorf("step(%v, %v) = %v, %v; want %v, %v", s, in, got, gotOK, to, ok)
			}
		}
	}
	for s := Offered; s <= Cancelled; s++ {
		if s.Final() != (s == Done || s == Failed || s == Rejected || s == Cancelled) {
			t.Errorf("%v.Final() = %v", s, s.Final())
		}
	}
}
