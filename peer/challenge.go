package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
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

// challenger makes and checks the challenges of hellos: a node takes a key
// it does not know into its book only when that key's hello echoes a
// challenge the node made for that key within challengeLife. Recorded
// hellos (and the packets recorded after them) therefore cannot bring back
// a peer the node forgot. Challenges are stateless: 4 bytes of time (in
// challengeTicks since the node started) and a MAC of the time and the key
// under a secret of this run.
type challenger struct {
	secret [32]byte
	start  time.Time // challenge times count seconds from here
}

// make returns a fresh challenge for key.
func (c *challenger) make(key *[32]byte, now time.Time) [16]byte {
	var ch [16]byte
	ticks := uint32(now.Sub(c.start) / challengeTick)
	binary.BigEndian.PutUint32(ch[:4], ticks)
	copy(ch[4:], c.mac(key, ch[:4]))
	return ch
}

// valid reports whether echo is a challenge made for key, not expired, and
// when it was made (to challengeTick).
func (c *challenger) valid(key *[32]byte, echo [16]byte, now time.Time) (bool, time.Time) {
	if echo == ([16]byte{}) {
		return false, time.Time{}
	}
	made := c.start.Add(time.Duration(binary.BigEndian.Uint32(echo[:4])) * challengeTick)
	if age := now.Sub(made); age < 0 || age > challengeLife+challengeTick {
		return false, time.Time{}
	}
	if !hmac.Equal(echo[4:], c.mac(key, echo[:4])) {
		return false, time.Time{}
	}
	return true, made
}

func (c *challenger) mac(key *[32]byte, stamp []byte) []byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write(key[:])
	m.Write(stamp)
	return m.Sum(nil)[:12]
}
