package transfer

import "testing"

func TestStep(t *testing.T) {
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
		{Connecting, inVerified, Connecting, false},
		{Active, inLost, Paused, true},
		{Active, inVerified, Done, true},
		{Active, inFail, Failed, true},
		{Active, inCancel, Cancelled, true},
		{Active, inAccept, Active, false},
		{Paused, inConnected, Active, true},
		{Paused, inLost, Paused, true},
		{Paused, inVerified, Paused, false},
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
	for s := Offered; s <= Cancelled; s++ {
		if s.Final() != (s == Done || s == Failed || s == Rejected || s == Cancelled) {
			t.Errorf("%v.Final() = %v", s, s.Final())
		}
	}
}
