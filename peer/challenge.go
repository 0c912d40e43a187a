package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"
)

// challengeLife is how long a challenge may be answered. A LAN answers in
// milliseconds; the slack covers a peer that is busy or on TCP. It must stay
// shorter than the silence after which a peer has left (Timing.Expire):
// only a peer that left can be forgotten, so an answer recorded when a peer
// joined has expired before that peer can be forgotten and the answer
// replayed (the book also refuses answers to challenges made before it
// forgot the key).
const challengeLife = 10 * time.Second

// challengeTick is the unit of a challenge's time stamp.
const challengeTick = 10 * time.Millisecond

// stampLen is the size of a challenge's time stamp: 48 bits of
// challengeTicks last 89,000 years, so the count never wraps (32 bits
// wrapped after 497 days of uptime, after which every challenge looked
// expired). The rest of the 16 bytes is the MAC (80 bits).
const stampLen = 6

// challenger makes and checks the challenges of hellos: a node takes a key
// it does not know into its book only when that key's hello echoes a
// challenge the node made for that key within challengeLife. Recorded
// hellos (and the packets recorded after them) therefore cannot bring back
// a peer the node forgot. Challenges are stateless: a time stamp (in
// challengeTicks since the node started) and a MAC of the time and the key
// under a secret of this run. Only the node that made a challenge reads
// it: its peers echo it as 16 opaque bytes, so its layout is not part of
// the wire format.
//
// The same secret makes the cookies of probes (receive.go), with the
// prober's address in the MAC and a domain byte that tells the two apart:
// neither passes for the other.
type challenger struct {
	secret [32]byte
	start  time.Time // time stamps count challengeTicks from here
}

// MAC domains.
const (
	domainChallenge byte = 1
	domainCookie    byte = 2
)

// make returns a fresh challenge for key.
func (c *challenger) make(key *[32]byte, now time.Time) [16]byte {
	return c.stamp(domainChallenge, key, netip.AddrPort{}, now)
}

// valid reports whether echo is a challenge made for key, not expired, and
// when it was made (to challengeTick).
func (c *challenger) valid(key *[32]byte, echo [16]byte, now time.Time) (bool, time.Time) {
	return c.check(domainChallenge, key, netip.AddrPort{}, echo, now)
}

// cookie returns a fresh probe cookie for key at addr.
func (c *challenger) cookie(key *[32]byte, addr netip.AddrPort, now time.Time) [16]byte {
	return c.stamp(domainCookie, key, addr, now)
}

// validCookie reports whether cookie was made for key at addr within
// challengeLife.
func (c *challenger) validCookie(key *[32]byte, addr netip.AddrPort, cookie [16]byte, now time.Time) bool {
	ok, _ := c.check(domainCookie, key, addr, cookie, now)
	return ok
}

func (c *challenger) stamp(domain byte, key *[32]byte, addr netip.AddrPort, now time.Time) [16]byte {
	var ch [16]byte
	ticks := uint64(now.Sub(c.start) / challengeTick)
	var t8 [8]byte
	binary.BigEndian.PutUint64(t8[:], ticks)
	copy(ch[:stampLen], t8[8-stampLen:])
	copy(ch[stampLen:], c.mac(domain, key, addr, ch[:stampLen]))
	return ch
}

func (c *challenger) check(domain byte, key *[32]byte, addr netip.AddrPort, echo [16]byte, now time.Time) (bool, time.Time) {
	if echo == ([16]byte{}) {
		return false, time.Time{}
	}
	var t8 [8]byte
	copy(t8[8-stampLen:], echo[:stampLen])
	made := c.start.Add(time.Duration(binary.BigEndian.Uint64(t8[:])) * challengeTick)
	if age := now.Sub(made); age < 0 || age > challengeLife+challengeTick {
		return false, time.Time{}
	}
	if !hmac.Equal(echo[stampLen:], c.mac(domain, key, addr, echo[:stampLen])) {
		return false, time.Time{}
	}
	return true, made
}

func (c *challenger) mac(domain byte, key *[32]byte, addr netip.AddrPort, stamp []byte) []byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write([]byte{domain})
	m.Write(key[:])
	if addr.IsValid() {
		a := addr.Addr().Unmap().As16()
		m.Write(a[:])
		m.Write(binary.BigEndian.AppendUint16(nil, addr.Port()))
	}
	m.Write(stamp)
	return m.Sum(nil)[:16-stampLen]
}
