package discovery

// The schedule loop on virtual time (testing/synctest): discovery runs with
// its production timings over in-memory sockets, so a minute of
// announcements, queries and rescans takes no wall time, and the bubble
// fails the test if Close leaves a goroutine behind.

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"
)

// memConn is an in-memory conn: it records what is sent and blocks reads
// until closed.
type memConn struct {
	start time.Time // the bubble's start, for sent's times

	mu   sync.Mutex // guards sent
	sent []memSent

	done chan struct{}
	once sync.Once
}

// memSent is one datagram sent, at a time since the bubble's start.
type memSent struct {
	at  time.Duration
	msg *dns.Msg
}

func newMemConn(start time.Time) *memConn {
	return &memConn{start: start, done: make(chan struct{})}
}

func (c *memConn) join(*net.Interface, *net.UDPAddr) error  { return nil }
func (c *memConn) leave(*net.Interface, *net.UDPAddr) error { return nil }

func (c *memConn) sendTo(b []byte, _ *net.Interface, _ *net.UDPAddr) error {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, memSent{at: time.Since(c.start), msg: m})
	return nil
}

func (c *memConn) read([]byte) (int, int, net.Addr, error) {
	<-c.done
	return 0, 0, nil, net.ErrClosed
}

func (c *memConn) close() { c.once.Do(func() { close(c.done) }) }

// log returns what was sent so far.
func (c *memConn) log() []memSent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// memSystem is a machine with in-memory IPv4 sockets (m, q), IPv6 ones
// (m6, q6) if v6, and the interfaces ifaces returns at the time asked.
type memSystem struct {
	m, q, m6, q6 *memConn
	v6           bool
	ifaces       func() []candidate
}

func newMemSystem(ifaces func() []candidate) *memSystem {
	now := time.Now()
	return &memSystem{m: newMemConn(now), q: newMemConn(now), m6: newMemConn(now), q6: newMemConn(now), ifaces: ifaces}
}

func (s *memSystem) system() system {
	return system{
		interfaces: func() ([]candidate, error) { return s.ifaces(), nil },
		listen: func(v6 bool, _ netip.Addr) (*family, error) {
			switch {
			case v6 && s.v6:
				return &family{v6: true, group: mdnsGroup6, m: s.m6, q: s.q6}, nil
			case v6:
				return nil, net.UnknownNetworkError("no IPv6 here")
			}
			return &family{group: mdnsGroup4, m: s.m, q: s.q}, nil
		},
	}
}

// memIface is a usable interface named name: join looks its index up, so
// it takes the loopback's (the in-memory sockets never use it).
func memIface(t *testing.T, name string) candidate {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no loopback interface:", err)
	}
	return candidate{Name: name, Index: lo.Index, Flags: net.FlagUp | net.FlagMulticast | net.FlagBroadcast,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}}
}

// kind classifies a datagram discovery sent: "query", "announce" or "goodbye".
func kind(m *dns.Msg) string {
	if !m.Response {
		return "query"
	}
	for _, e := range entries(m) {
		if e.Goodbye {
			return "goodbye"
		}
	}
	return "announce"
}

// times lists when datagrams of kind k were sent, in seconds.
func times(sent []memSent, k string) []time.Duration {
	var out []time.Duration
	for _, s := range sent {
		if kind(s.msg) == k {
			out = append(out, s.at)
		}
	}
	return out
}

// TestScheduleOnVirtualTime: with the production schedule, a node announces
// itself at once and a second later, queries at once and then 1, 2, 4, 8 s
// later (t = 0, 1, 3, 7, 15 s), announces its new name at once and a second
// later after Update (t = 10, 11 s), and says goodbye once, at Close (t = 20 s);
// Close leaves no goroutine behind (the bubble would fail the test).
// On real sockets, TestAnnounceAndGoodbye checks the announcements and the
// goodbye reach another host.
func TestScheduleOnVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eth0 := memIface(t, "eth0")
		sys := newMemSystem(func() []candidate { return []candidate{eth0} })
		d, err := start(t.Context(), Config{Self: node(1, "alice")}, sys.system())
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Ifaces(); !slices.Equal(got, []string{"eth0"}) {
			t.Fatalf("Ifaces() = %q, want [eth0]", got)
		}
		time.Sleep(10 * time.Second)
		if err := d.Update(node(1, "bob")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		s := time.Second
		var names []string
		for _, m := range sys.m.log() {
			for _, e := range entries(m.msg) {
				if info, err := ParseTXT(mustUnescape(t, e.TXT)); err == nil {
					names = append(names, info.Name)
				}
			}
		}
		if want := []string{"alice", "alice", "bob", "bob", "bob"}; !slices.Equal(names, want) {
			t.Errorf("names announced (then in the goodbye) %q, want %q", names, want)
		}
		tests := []struct {
			conn *memConn
			kind string
			want []time.Duration
		}{
			{sys.m, "announce", []time.Duration{0, 1 * s, 10 * s, 11 * s}},
			{sys.m, "goodbye", []time.Duration{20 * s}},
			{sys.m, "query", nil},
			{sys.q, "query", []time.Duration{0, 1 * s, 3 * s, 7 * s, 15 * s}},
			{sys.q, "announce", nil},
		}
		for _, tt := range tests {
			if got := times(tt.conn.log(), tt.kind); !slices.Equal(got, tt.want) {
				t.Errorf("%s sent at %v, want at %v", tt.kind, got, tt.want)
			}
		}
		if err := d.Update(node(1, "alice2")); err != ErrClosed {
			t.Errorf("Update after Close: %v, want ErrClosed", err)
		}
	})
}

// TestRescanOnVirtualTime: an interface that appears is joined at the next
// rescan (every DefaultRescan, 2 s), announced on and browsed at once, and
// one that goes away is left at the next rescan, with OnChange told each
// time; nothing is sent once it is gone.
func TestRescanOnVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eth0 := memIface(t, "eth0")
		var mu sync.Mutex // guards up
		up := false
		set := func(v bool) { mu.Lock(); up = v; mu.Unlock() }
		sys := newMemSystem(func() []candidate {
			mu.Lock()
			defer mu.Unlock()
			if up {
				return []candidate{eth0}
			}
			return nil
		})
		type change struct {
			at     time.Duration
			ifaces []string
		}
		begin := time.Now()
		var changes []change // written by the loop, read after Close
		d, err := start(context.Background(), Config{Self: node(1, "alice"), OnChange: func(ifaces []string) {
			changes = append(changes, change{time.Since(begin), ifaces})
		}}, sys.system())
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Ifaces(); len(got) != 0 {
			t.Fatalf("Ifaces() = %q at start, want none", got)
		}
		time.Sleep(3 * time.Second)
		set(true) // plugged in at 3 s: joined at the rescan at 4 s
		time.Sleep(2500 * time.Millisecond)
		set(false) // gone at 5.5 s: left at the rescan at 6 s
		time.Sleep(10 * time.Second)
		d.Close()

		s := time.Second
		want := []change{{4 * s, []string{"eth0"}}, {6 * s, []string{}}}
		if !slices.EqualFunc(changes, want, func(a, b change) bool {
			return a.at == b.at && slices.Equal(a.ifaces, b.ifaces)
		}) {
			t.Errorf("OnChange calls %v, want %v", changes, want)
		}
		if got, want := times(sys.m.log(), "announce"), []time.Duration{4 * s, 5 * s}; !slices.Equal(got, want) {
			t.Errorf("announcements at %v, want %v", got, want)
		}
		if got, want := times(sys.q.log(), "query"), []time.Duration{4 * s, 5 * s}; !slices.Equal(got, want) {
			t.Errorf("queries at %v, want %v", got, want)
		}
		if got := times(sys.m.log(), "goodbye"); len(got) != 0 {
			t.Errorf("goodbyes at %v, want none (the interface had gone)", got)
		}
	})
}

// mustUnescape unescapes TXT strings read from a message.
func mustUnescape(t *testing.T, txt []string) []string {
	t.Helper()
	out, err := unescapeFields(txt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDualStackOnVirtualTime: on an interface with IPv4 and IPv6, both
// families announce at 0 and 1 s, and each round's IPv6 query goes
// familyGap (250 ms) after the IPv4 one (so that the IPv4 answers are its
// known answers).
func TestDualStackOnVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eth0 := memIface(t, "eth0")
		eth0.Addrs = append(eth0.Addrs, netip.MustParsePrefix("fe80::1/64"))
		sys := newMemSystem(func() []candidate { return []candidate{eth0} })
		sys.v6 = true
		d, err := start(t.Context(), Config{Self: node(1, "alice")}, sys.system())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		d.Close()
		s, ms := time.Second, time.Millisecond
		tests := []struct {
			name string
			conn *memConn
			kind string
			want []time.Duration
		}{
			{"IPv4", sys.m, "announce", []time.Duration{0, 1 * s}},
			{"IPv6", sys.m6, "announce", []time.Duration{0, 1 * s}},
			{"IPv4", sys.q, "query", []time.Duration{0, 1 * s, 3 * s}},
			{"IPv6", sys.q6, "query", []time.Duration{250 * ms, 1250 * ms, 3250 * ms}},
			{"IPv4", sys.m, "goodbye", []time.Duration{5 * s}},
			{"IPv6", sys.m6, "goodbye", []time.Duration{5 * s}},
		}
		for _, tt := range tests {
			if got := times(tt.conn.log(), tt.kind); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %s sent at %v, want at %v", tt.name, tt.kind, got, tt.want)
			}
		}
	})
}
