package transfer

import (
	"slices"
	"testing"
)

// TestFlowGate: Flowing is called on the edges only: when the first data
// connection starts and when the last one ends.
func TestFlowGate(t *testing.T) {
	tests := []struct {
		name   string
		deltas []int
		want   []bool
	}{
		{"one connection", []int{1, -1}, []bool{true, false}},
		{"two overlapping", []int{1, 1, -1, -1}, []bool{true, false}},
		{"one after the other", []int{1, -1, 1, -1}, []bool{true, false, true, false}},
		{"overlap then alone", []int{1, 1, -1, 1, -1, -1}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g flowGate
			var got []bool
			for _, d := range tt.deltas {
				g.flowing(d, func(on bool) { got = append(got, on) })
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("calls %v, want %v", got, tt.want)
			}
		})
	}
	var g flowGate
	g.flowing(1, nil) // no callback: nothing to call
	g.flowing(-1, nil)
}
