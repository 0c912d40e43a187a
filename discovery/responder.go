package discovery

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// The mDNS responder. The hashicorp/mdns library's Server sends every
// answer by unicast to the query's source address. That breaks standard
// DNS-SD on a machine that also runs avahi-daemon (or any other mDNS stack):
// avahi queries from port 5353, several sockets share that port (avahi's,
// ours, another p2pchat's), and the kernel delivers a unicast datagram to
// only one of them, usually not avahi's, so `avahi-browse` never sees
// p2pchat nodes. responder answers as RFC 6762 section 6 says instead:
//
//   - a query from port 5353 (a full mDNS querier such as avahi, Bonjour or
//     python-zeroconf) is answered by multicast to 224.0.0.251:5353, which
//     every socket in the group receives, unless every question asks for a
//     unicast answer (the QU bit), which then goes to the source;
//   - a query from any other port is a "legacy" one-shot query (section
//     6.7; the hashicorp/mdns querier, which p2pchat nodes use, is one): it
//     is answered by unicast to the source, repeating the query ID and
//     question, with TTLs capped at 10 s and no cache-flush bits;
//   - answers the querier already knows (its known-answer list, with at
//     least half our TTL left) are left out (section 7.1);
//   - multicast answers set the cache-flush bit on the unique records (SRV,
//     TXT, A: section 10.2), and the IP TTL is 255 (section 11);
//   - multicast loopback is on, so other mDNS stacks on this machine hear
//     the answers too.

// mdnsPort is the mDNS port.
const mdnsPort = 5353

// legacyTTL caps the TTLs in answers to legacy queries (RFC 6762 section 6.7).
const legacyTTL = 10

// cacheFlush is the top bit of the rrclass of a unique record in an mDNS
// answer (RFC 6762 section 10.2); the top bit of a question's qclass is the
// QU bit (section 5.4).
const cacheFlush = 1 << 15

// mdnsGroup is the IPv4 mDNS group and port.
var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}

// responder answers mDNS queries for one zone on one interface until
// Shutdown.
type responder struct {
	zone mdns.Zone
	conn *net.UDPConn
	log  *slog.Logger
	done chan struct{} // closed when serve has returned

	once sync.Once
}

// newResponder starts answering queries for zone on iface.
func newResponder(zone mdns.Zone, iface *net.Interface, logger *slog.Logger) (*responder, error) {
	conn, err := net.ListenMulticastUDP("udp4", iface, mdnsGroup)
	if err != nil {
		return nil, err
	}
	// ListenMulticastUDP turns multicast loopback off and leaves the TTLs at
	// their defaults (1 for multicast).
	pc := ipv4.NewPacketConn(conn)
	for _, err := range []error{
		pc.SetMulticastLoopback(true),
		pc.SetMulticastTTL(255),
		pc.SetTTL(255),
	} {
		if err != nil {
			conn.Close()
			return nil, err
		}
	}
	r := &responder{zone: zone, conn: conn, log: logger, done: make(chan struct{})}
	go r.serve()
	return r, nil
}

// Shutdown stops the responder and waits for it; it is idempotent and
// always returns nil.
func (r *responder) Shutdown() error {
	r.once.Do(func() { r.conn.Close() })
	<-r.done
	return nil
}

func (r *responder) serve() {
	defer close(r.done)
	buf := make([]byte, 9000) // the largest mDNS message (RFC 6762 section 17)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.log.Debug("discovery: mdns responder: read", "err", err)
			continue
		}
		var q dns.Msg
		if err := q.Unpack(buf[:n]); err != nil {
			r.log.Debug("discovery: mdns responder: bad packet", "from", from, "err", err)
			continue
		}
		resp, to := answer(r.zone, &q, from)
		if resp == nil {
			continue
		}
		out, err := resp.Pack()
		if err != nil {
			r.log.Debug("discovery: mdns responder: pack", "err", err)
			continue
		}
		if _, err := r.conn.WriteToUDP(out, to); err != nil {
			r.log.Debug("discovery: mdns responder: send", "to", to, "err", err)
		}
	}
}

// answer returns the response to the mDNS message q received from from and
// where to send it, or nil if there is nothing to say. See the comment at
// the top of this file for the rules.
func answer(zone mdns.Zone, q *dns.Msg, from *net.UDPAddr) (*dns.Msg, *net.UDPAddr) {
	// RFC 6762 section 18: ignore responses and anything that is not a
	// standard query with rcode 0.
	if q.Response || q.Opcode != dns.OpcodeQuery || q.Rcode != dns.RcodeSuccess {
		return nil, nil
	}
	legacy := from.Port != mdnsPort
	unicast := legacy
	allQU := true
	var answers []dns.RR
	for _, question := range q.Question {
		if question.Qclass&cacheFlush == 0 {
			allQU = false
		}
		// Names are case-insensitive; the zone compares them exactly and
		// holds only lower-case names.
		lookup := dns.Question{Name: strings.ToLower(question.Name), Qtype: question.Qtype, Qclass: question.Qclass &^ cacheFlush}
		if lookup.Qclass != dns.ClassINET && lookup.Qclass != dns.ClassANY {
			continue
		}
		for _, rr := range zone.Records(lookup) {
			if !contains(answers, rr) && !knownAnswer(q.Answer, rr) {
				answers = append(answers, dns.Copy(rr))
			}
		}
	}
	if len(answers) == 0 {
		return nil, nil
	}
	if len(q.Question) > 0 && allQU {
		unicast = true
	}
	resp := &dns.Msg{
		MsgHdr:   dns.MsgHdr{Response: true, Opcode: dns.OpcodeQuery, Authoritative: true},
		Compress: true,
		Answer:   answers,
	}
	for _, rr := range answers {
		h := rr.Header()
		switch {
		case legacy:
			h.Ttl = min(h.Ttl, legacyTTL)
		case h.Rrtype != dns.TypePTR:
			h.Class |= cacheFlush // SRV, TXT, A, AAAA: ours alone
		}
	}
	if legacy {
		resp.Id = q.Id
		resp.Question = q.Question
	}
	if unicast {
		return resp, from
	}
	return resp, mdnsGroup
}

// contains reports whether rrs holds rr (same name, type, class and data).
func contains(rrs []dns.RR, rr dns.RR) bool {
	for _, x := range rrs {
		if dns.IsDuplicate(x, rr) {
			return true
		}
	}
	return false
}

// knownAnswer reports whether the querier's known answers hold rr with at
// least half its TTL left (RFC 6762 section 7.1), so rr need not be sent.
func knownAnswer(known []dns.RR, rr dns.RR) bool {
	for _, k := range known {
		kh := *k.Header()
		kh.Class &^= cacheFlush
		kc := dns.Copy(k)
		*kc.Header() = kh
		if dns.IsDuplicate(kc, rr) && 2*kh.Ttl >= rr.Header().Ttl {
			return true
		}
	}
	return false
}
