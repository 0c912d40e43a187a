//go:build !unix

package peer

import "net"

// noBroadcast leaves the socket as it is here: usableLead still refuses
// leads at the broadcast address of a local prefix.
func noBroadcast(u *net.UDPConn) error { return nil }
