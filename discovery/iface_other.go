//go:build !linux

package discovery

import "net/netip"

// unusableAddrs is Linux's (iface_linux.go); elsewhere every address listed
// counts as usable.
func unusableAddrs() map[int][]netip.Addr { return nil }
