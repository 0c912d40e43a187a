package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The sockets of one address family. IPv4 uses 224.0.0.251 and IPv6
// ff02::fb, port 5353 both (RFC 6762 section 3); each family has its pair
// of sockets (see the package comment), so that what arrives on one is
// answered on the same family, and an IPv4-only machine is served exactly
// as before IPv6 was added.

// mdnsGroup4 and mdnsGroup6 are the mDNS groups and port.
var (
	mdnsGroup4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}
	mdnsGroup6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: mdnsPort}
)

// family is the pair of sockets of one address family. Its fields are
// immutable after listenFamily; its sockets are shared: each is read by
// its own reader goroutine (Discovery.serve), sent on under
// Discovery.sendMu, joined and left under Discovery.mu, and closed by
// shutdown.
type family struct {
	v6    bool
	group *net.UDPAddr
	m     conn // port 5353: responder, announcements
	q     conn // random port: queries and their answers
}

// conn is what discovery does with a socket: mconn on the network, an
// in-memory one in the virtual-time tests.
type conn interface {
	join(ifi *net.Interface, group *net.UDPAddr) error
	leave(ifi *net.Interface, group *net.UDPAddr) error
	sendTo(b []byte, ifi *net.Interface, dst *net.UDPAddr) error
	read(buf []byte) (n, ifIndex int, src net.Addr, err error)
	close()
}

func (f *family) String() string {
	if f.v6 {
		return "IPv6"
	}
	return "IPv4"
}

// mconn is a multicast UDP socket of either family.
type mconn struct {
	v4 *ipv4.PacketConn
	v6 *ipv6.PacketConn
}

// listenFamily opens the two sockets of a family; the query socket binds
// bind if it is valid.
func listenFamily(v6 bool, bind netip.Addr) (*family, error) {
	network, any := "udp4", "0.0.0.0"
	f := &family{group: mdnsGroup4}
	if v6 {
		network, any = "udp6", "[::]"
		f.v6, f.group = true, mdnsGroup6
	}
	lc := net.ListenConfig{Control: reuse}
	mc, err := lc.ListenPacket(context.Background(), network, fmt.Sprintf("%s:%d", any, mdnsPort))
	if err != nil {
		return nil, fmt.Errorf("discovery: %v mDNS port: %w", f, err)
	}
	qaddr := any + ":0"
	if bind.IsValid() {
		qaddr = netip.AddrPortFrom(bind, 0).String()
	}
	qc, err := net.ListenPacket(network, qaddr)
	if err != nil {
		mc.Close()
		return nil, fmt.Errorf("discovery: %v query socket: %w", f, err)
	}
	m, q := wrap(mc, v6), wrap(qc, v6)
	f.m, f.q = m, q
	for _, c := range []mconn{m, q} {
		if err := c.setOptions(); err != nil {
			f.close()
			return nil, fmt.Errorf("discovery: %v socket options: %w", f, err)
		}
	}
	return f, nil
}

func wrap(c net.PacketConn, v6 bool) mconn {
	if v6 {
		return mconn{v6: ipv6.NewPacketConn(c)}
	}
	return mconn{v4: ipv4.NewPacketConn(c)}
}

// setOptions sets RFC 6762 section 11's IP TTL (hop limit) 255, multicast
// loopback (other mDNS stacks and p2pchats on this machine hear us too),
// and asks for the arrival interface of each packet, which tells which
// interface's records to answer with (where the platform cannot say, the
// source's subnet does).
func (c mconn) setOptions() error {
	var errs []error
	if c.v6 != nil {
		errs = []error{c.v6.SetMulticastHopLimit(255), c.v6.SetHopLimit(255), c.v6.SetMulticastLoopback(true)}
		_ = c.v6.SetControlMessage(ipv6.FlagInterface|ipv6.FlagDst, true)
	} else {
		errs = []error{c.v4.SetMulticastTTL(255), c.v4.SetTTL(255), c.v4.SetMulticastLoopback(true)}
		_ = c.v4.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (c mconn) join(ifi *net.Interface, group *net.UDPAddr) error {
	if c.v6 != nil {
		return c.v6.JoinGroup(ifi, &net.UDPAddr{IP: group.IP})
	}
	return c.v4.JoinGroup(ifi, &net.UDPAddr{IP: group.IP})
}

func (c mconn) leave(ifi *net.Interface, group *net.UDPAddr) error {
	if c.v6 != nil {
		return c.v6.LeaveGroup(ifi, &net.UDPAddr{IP: group.IP})
	}
	return c.v4.LeaveGroup(ifi, &net.UDPAddr{IP: group.IP})
}

// sendTo sends b to dst; multicast leaves on ifi (callers serialise the
// sends of one socket: the multicast interface is a socket option).
func (c mconn) sendTo(b []byte, ifi *net.Interface, dst *net.UDPAddr) error {
	if c.v6 != nil {
		if dst.IP.IsMulticast() {
			if err := c.v6.SetMulticastInterface(ifi); err != nil {
				return fmt.Errorf("multicast interface: %w", err)
			}
		}
		_, err := c.v6.WriteTo(b, nil, dst)
		return err
	}
	if dst.IP.IsMulticast() {
		if err := c.v4.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("multicast interface: %w", err)
		}
	}
	_, err := c.v4.WriteTo(b, nil, dst)
	return err
}

// read reads one packet and the index of the interface it arrived on (0
// when the platform does not say).
func (c mconn) read(buf []byte) (int, int, net.Addr, error) {
	ifIndex := 0
	if c.v6 != nil {
		n, cm, src, err := c.v6.ReadFrom(buf)
		if cm != nil {
			ifIndex = cm.IfIndex
		}
		return n, ifIndex, src, err
	}
	n, cm, src, err := c.v4.ReadFrom(buf)
	if cm != nil {
		ifIndex = cm.IfIndex
	}
	return n, ifIndex, src, err
}

func (c mconn) close() {
	if c.v6 != nil {
		c.v6.Close()
	} else if c.v4 != nil {
		c.v4.Close()
	}
}

func (f *family) close() {
	f.m.close()
	f.q.close()
}
