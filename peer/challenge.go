package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// challengeLife is how long a challenge may be answered. A LAN answers in
// milliseconds; the slack covers a peer that is busy or on TCP.
const challengeLife = 30 * time.Second

// challenger makes and checks the challenges of hellos: a node takes a key
// it does not know into its book only when that key's hello echoes a
// challenge the node made for that key within challengeLife. Recorded
// hellos (and the packets recorded after them) therefore cannot bring back
// a peer the node forgot. Challenges are stateless: 4 bytes of time and a
// MAC of the time and the key under a secret of this run.
type challenger struct {
	secret [32]byte
	start  time.Time // challenge times count seconds from here
}

// make returns a fresh challenge for key.
func (c *challenger) make(key *[32]byte, now time.Time) [16]byte {
	var ch [16]byte
	secs := uint32(now.Sub(c.start) / time.Second)
	binary.BigEndian.PutUint32(ch[:4], secs)
	copy(ch[4:], c.mac(key, ch[:4]))
	return ch
}

// valid reports whether echo is a challenge made for key, not expired.
func (c *challenger) valid(key *[32]byte, echo [16]byte, now time.Time) bool {
	if echo == ([16]byte{}) {
		return false
	}
	secs := binary.BigEndian.Uint32(echo[:4])
	age := now.Sub(c.start) - time.Duration(secs)*time.Second
	if age < 0 || age > challengeLife+time.Second {
		return false
	}
	return hmac.Equal(echo[4:], c.mac(key, echo[:4]))
}

func (c *challenger) mac(key *[32]byte, secs []byte) []byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write(key[:])
	m.Write(secs)
	return m.Sum(nil)[:12]
}
