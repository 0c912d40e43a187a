package discovery

import (
	"net/netip"
	"syscall"
	"unsafe"
)

// Flags of an address that cannot be used yet or at all (linux/if_addr.h):
// duplicate address detection still running, or failed.
const (
	ifaFTentative = 0x40
	ifaFDadFailed = 0x08
)

// unusableAddrs returns the IPv6 addresses of the machine that cannot
// send yet (tentative: DAD still running) or ever (DAD failed), by
// interface index. Sending multicast from an interface whose only IPv6
// address is tentative fails ("cannot assign requested address"), so such
// addresses count as absent until DAD is done; the next rescan sees them.
// An error leaves the set empty.
func unusableAddrs() map[int][]netip.Addr {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_INET6)
	if err != nil {
		return nil
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil
	}
	out := map[int][]netip.Addr{}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		ifa := (*syscall.IfAddrmsg)(unsafe.Pointer(&m.Data[0]))
		if ifa.Flags&(ifaFTentative|ifaFDadFailed) == 0 {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type != syscall.IFA_ADDRESS {
				continue
			}
			if addr, ok := netip.AddrFromSlice(a.Value); ok && addr.Is6() {
				out[int(ifa.Index)] = append(out[int(ifa.Index)], addr)
			}
		}
	}
	return out
}
