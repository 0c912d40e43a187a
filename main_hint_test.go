package main

import (
	"strings"
	"testing"
)

// TestNoPeerHint: the hint line names the interfaces looked on (or says none
// was usable) and the -peer flag; the words moved from discovery to main.
func TestNoPeerHint(t *testing.T) {
	tests := []struct {
		name   string
		ifaces []string
		want   []string
	}{
		{"none", nil, []string{"no peer found yet (no network interface is usable", "start with -peer HOST[:PORT]"}},
		{"two", []string{"eth0", "wlan0"}, []string{"no peer found yet (looked on eth0, wlan0)", "UDP 5353", "start with -peer HOST[:PORT]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := noPeerHint(tt.ifaces)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("noPeerHint(%q) = %q, want it to contain %q", tt.ifaces, got, w)
				}
			}
		})
	}
}
