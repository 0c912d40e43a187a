package peer

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// TestProbeReflection: whatever a stranger spoofs, probes make the node
// answer one victim address at most about 10 times a second, with answers
// no larger than a few times the probe (finding 8). The probes name a key
// in the book (keys are public: every node's mDNS record carries one), and
// between two of the victim's, 1,025 come from other spoofed /24s: they
// used to reset the per-address memory, and probes of known keys skipped
// the strangers' budget.
func TestProbeReflection(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(8)
		n := startNode(t, mn, "alice", func(c *Config) { c.Host = strings.Repeat("h", 60) })
		if err := n.SetAway("out for lunch, back at three, do leave a message"); err != nil {
			t.Fatal(err)
		}
		f := newFakePeer(t, n.Node, "10.9.9.9:7117")
		f.join("bob")
		probe := f.id.probe()
		victim := netip.MustParseAddrPort("192.0.2.1:7117")
		var toVictim, victimBytes, toOthers int
		send := func(from netip.AddrPort) {
			n.handle(Packet{Data: probe, From: from, Reply: func(b []byte) {
				if from == victim {
					toVictim++
					victimBytes += len(b)
				} else {
					toOthers++
				}
			}})
		}
		const rounds, spoofed = 200, 1025
		start := time.Now()
		for i := range rounds {
			for j := range spoofed {
				k := i*spoofed + j
				send(netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(11 + k>>16), byte(k >> 8), byte(k), 1}), 7117))
			}
			send(victim)
		}
		elapsed := time.Since(start)
		t.Logf("%d probes from the victim's address, each after %d from other spoofed /24s, in %v: %d answered to the victim (%d bytes for %d-byte probes), %d to the others",
			rounds, spoofed, elapsed.Round(time.Millisecond), toVictim, victimBytes, len(probe), toOthers)
		if limit := int(answerRate*elapsed.Seconds()) + answerBurst; toVictim > limit {
			t.Errorf("the victim got %d answers in %v: the bound is %d a second (and %d at once)", toVictim, elapsed, answerRate, answerBurst)
		}
		if toVictim > 0 && victimBytes > 3*len(probe)*toVictim {
			t.Errorf("the victim got %d bytes for %d probes of %d bytes: %.1fx", victimBytes, toVictim, len(probe), float64(victimBytes)/float64(len(probe)*toVictim))
		}
		if limit := int(probeAnswerRate*elapsed.Seconds()) + probeAnswerRate + answerBurst; toOthers > limit {
			t.Errorf("%d probe answers in %v to spoofed sources: the global bound is %d a second", toOthers, elapsed, probeAnswerRate)
		}

		// The victim's whole /24, spoofed, shares one budget (a fresh node:
		// the common budget of the first is spent).
		n2 := startNode(t, mn, "carol")
		toVictim, victimBytes = 0, 0
		start = time.Now()
		for i := range 2000 {
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 7117)
			n2.handle(Packet{Data: probe, From: from, Reply: func(b []byte) { toVictim++; victimBytes += len(b) }})
		}
		elapsed = time.Since(start)
		t.Logf("2000 probes from 256 addresses of one /24 in %v: %d answered (%d bytes)", elapsed.Round(time.Millisecond), toVictim, victimBytes)
		if limit := int(answerRate*elapsed.Seconds()) + answerBurst; toVictim > limit {
			t.Errorf("one /24 got %d answers in %v: the bound is %d a second (and %d at once)", toVictim, elapsed, answerRate, answerBurst)
		}
		if st := n.Stats(); st.AnswersLimited == 0 {
			t.Errorf("no answer counted as limited: %+v", st)
		}
	})
}

// TestProbeCookies: a UDP probe is answered with a cookie probe, no larger
// than a few times the probe; the hello comes only for the echo of that
// cookie from the same key and address, so a version 1 peer that takes
// the cookie probe for a plain probe and answers with its hello still
// joins. A cookie probe is answered with its echo; an echo is never
// answered with a probe, so two nodes cannot bounce probes for ever.
func TestProbeCookies(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(12)
		n := startNode(t, mn, "alice")
		f := newFakePeer(t, n.Node, "10.0.5.5:7117")
		other := netip.MustParseAddrPort("10.0.6.6:7117")
		// ask hands pkt to the node from from and returns its raw answers.
		ask := func(pkt []byte, from netip.AddrPort) [][]byte {
			var out [][]byte
			n.handle(Packet{Data: pkt, From: from, Reply: func(b []byte) { out = append(out, append([]byte(nil), b...)) }})
			return out
		}
		probeOf := func(b []byte) (byte, [16]byte) {
			o, err := wire.ParseOuter(b)
			if err != nil || o.Type != wire.TypeProbe {
				t.Fatalf("answer is not a probe: %v", err)
			}
			if o.Key != n.id.Public {
				t.Fatalf("probe answer names another key")
			}
			return wire.ParseProbe(b)
		}
		plain := f.id.probe()
		ans := ask(plain, f.from)
		if len(ans) != 1 || len(ans[0]) > 3*len(plain) {
			t.Fatalf("plain probe (%d bytes): %d answers, want one cookie probe of at most %d bytes", len(plain), len(ans), 3*len(plain))
		}
		kind, cookie := probeOf(ans[0])
		if kind != wire.ProbeCookie {
			t.Fatalf("plain probe answered with probe kind %d", kind)
		}
		t.Logf("a %d-byte probe is answered with a %d-byte cookie probe", len(plain), len(ans[0]))

		for _, tc := range []struct {
			name   string
			pkt    []byte
			from   netip.AddrPort
			answer string // "hello", "echo" or ""
		}{
			{"echo from another address", wire.AppendProbe(nil, &f.id.Public, wire.ProbeEcho, &cookie), other, ""},
			{"echo of a made-up cookie", wire.AppendProbe(nil, &f.id.Public, wire.ProbeEcho, &[16]byte{1, 2, 3}), f.from, ""},
			{"cookie probe", wire.AppendProbe(nil, &f.id.Public, wire.ProbeCookie, &cookie), other, "echo"},
			{"echo of our cookie", wire.AppendProbe(nil, &f.id.Public, wire.ProbeEcho, &cookie), f.from, "hello"},
		} {
			ans := ask(tc.pkt, tc.from)
			got := ""
			if len(ans) == 1 {
				o, _ := wire.ParseOuter(ans[0])
				switch {
				case o.Type == wire.TypeInit || o.Type == wire.TypeData:
					got = "hello"
				case o.Type == wire.TypeProbe:
					if k, c := probeOf(ans[0]); k == wire.ProbeEcho && c == cookie {
						got = "echo"
					}
				}
			}
			if len(ans) > 1 || got != tc.answer {
				t.Errorf("%s: %d answers (%q), want %q", tc.name, len(ans), got, tc.answer)
			}
		}
		if st := n.Stats(); st.ProbesUnproven != 2 {
			t.Errorf("%d unproven echoes counted, want 2", st.ProbesUnproven)
		}

		// A version 1 peer answers the cookie probe as a plain probe: with its
		// hello. It joins as any stranger does.
		v1 := newFakePeer(t, n.Node, "10.0.7.7:7117")
		if ans := ask(v1.id.probe(), v1.from); len(ans) != 1 {
			t.Fatalf("the version 1 peer's probe: %d answers", len(ans))
		}
		v1.join("carol")
	})
}
