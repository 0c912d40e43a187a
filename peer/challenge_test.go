package peer

import (
	"testing"
	"time"
)

func testChallenger(secret byte) *challenger {
	c := &challenger{start: t0}
	for i := range c.secret {
		c.secret[i] = secret ^ byte(i)
	}
	return c
}

// TestChallenge: a challenge is valid only for the key it was made for, by
// the run that made it, within challengeLife; nothing else passes, and the
// zero challenge (nothing echoed) never does.
func TestChallenge(t *testing.T) {
	c := testChallenger(1)
	k1, k2 := testKey(1), testKey(2)
	made := t0.Add(90 * time.Minute)
	ch := c.make(&k1, made)
	tampered := ch
	tampered[15] ^= 1
	aged := ch
	aged[stampLen-1]-- // claims to be a tick older: the MAC does not match
	for _, tc := range []struct {
		name string
		c    *challenger
		key  *[32]byte
		echo [16]byte
		at   time.Time
		want bool
	}{
		{"answered at once", c, &k1, ch, made, true},
		{"answered late but within its life", c, &k1, ch, made.Add(challengeLife), true},
		{"expired", c, &k1, ch, made.Add(challengeLife + 2*time.Second), false},
		{"an hour later", c, &k1, ch, made.Add(time.Hour), false},
		{"from the future (clock of an earlier run)", c, &k1, ch, made.Add(-2 * time.Second), false},
		{"another key", c, &k2, ch, made, false},
		{"another run of ours (another secret, same start)", testChallenger(2), &k1, ch, made, false},
		{"tampered MAC", c, &k1, tampered, made, false},
		{"tampered time", c, &k1, aged, made, false},
		{"zero", c, &k1, [16]byte{}, made, false},
		{"zero, at the start", c, &k1, [16]byte{}, t0, false},
	} {
		got, when := tc.c.valid(tc.key, tc.echo, tc.at)
		if got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
		if got && (when.After(made) || made.Sub(when) >= challengeTick) {
			t.Errorf("%s: made at %v, want %v to the tick", tc.name, when, made)
		}
	}
}

// TestChallengeDistinct: challenges for different keys, or made in
// different ticks, differ; challenges made in the same tick for the same
// key are the same (they are stateless: nothing is stored per key).
func TestChallengeDistinct(t *testing.T) {
	c := testChallenger(1)
	k1, k2 := testKey(1), testKey(2)
	a := c.make(&k1, t0.Add(10*time.Second))
	if b := c.make(&k1, t0.Add(10*time.Second+challengeTick/2)); b != a {
		t.Error("same key, same tick: challenges differ")
	}
	if b := c.make(&k2, t0.Add(10*time.Second)); b == a {
		t.Error("two keys got the same challenge")
	}
	if b := c.make(&k1, t0.Add(10*time.Second+challengeTick)); b == a {
		t.Error("two ticks gave the same challenge")
	}
	if a == ([16]byte{}) {
		t.Error("a made challenge is zero")
	}
}

// TestChallengeMadeAtStart: a challenge made in the node's first second is
// valid (its time field is 0, but it is not the zero challenge).
func TestChallengeMadeAtStart(t *testing.T) {
	c := testChallenger(1)
	k := testKey(1)
	ch := c.make(&k, t0)
	if ok, _ := c.valid(&k, ch, t0.Add(time.Second)); !ok {
		t.Fatal("a challenge of the first second is refused")
	}
}

// TestChallengeAcrossTickWrap: challenges still validate after the 32-bit
// tick count wraps (497 days of uptime), and still expire (review B9).
func TestChallengeAcrossTickWrap(t *testing.T) {
	wrap := time.Duration(1<<32) * challengeTick
	k := testKey(1)
	for _, tc := range []struct {
		name   string
		uptime time.Duration // when the challenge is made
		answer time.Duration // how long after that it is answered
		want   bool
	}{
		{"made before the wrap, answered after", wrap - 500*time.Millisecond, 2 * time.Second, true},
		{"made after the wrap", wrap + time.Hour, time.Second, true},
		{"made after the wrap, expired", wrap + time.Hour, challengeLife + 2*time.Second, false},
		{"made two wraps on", 2*wrap + 7*time.Minute, 3 * time.Second, true},
		{"answered a wrap later", time.Hour, wrap + time.Second, false},
	} {
		c := testChallenger(1)
		made := t0.Add(tc.uptime)
		ch := c.make(&k, made)
		got, when := c.valid(&k, ch, made.Add(tc.answer))
		if got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
		if got && (when.After(made) || made.Sub(when) >= challengeTick) {
			t.Errorf("%s: made at %v, want %v to the tick", tc.name, when, made)
		}
	}
}
