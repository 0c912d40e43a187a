package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Helpers that talk to a node and check its answers.

// sendAndConfirm sends text from from to to ("" for /all) and waits until
// every one of receivers shows it, as from from.Name, and from hears every
// copy acknowledged.
func sendAndConfirm(t *testing.T, from *Proc, to, text string, receivers ...*Proc) {
	t.Helper()
	sendAndConfirmAs(t, from, from.Name, to, text, receivers...)
}

// sendAndConfirmAs is sendAndConfirm where the receivers show the sender
// as shownAs (say bob@laptop3).
func sendAndConfirmAs(t *testing.T, from *Proc, shownAs, to, text string, receivers ...*Proc) {
	t.Helper()
	m := from.Mark()
	if to == "" {
		from.Send("/all " + text)
	} else {
		from.Send("/to " + to + " " + text)
	}
	sent := from.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "sent" || e.Event == "error" })
	if sent.Event == "error" || len(sent.IDs) != len(receivers) {
		t.Fatalf("%s: sending %q to %q answered %s (want %d ids)", from, trimForLog(text, 60), to, sent, len(receivers))
	}
	for _, r := range receivers {
		toField := "all"
		if to != "" {
			toField = r.Name
		}
		r.Wait(t, msgTimeout, IsMessage(shownAs, toField, text))
	}
	for _, id := range sent.IDs {
		from.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "delivered" && e.ID == id })
	}
}

// command sends line and returns the first answer-like event after it.
func command(t *testing.T, p *Proc, line string, kinds ...string) Event {
	t.Helper()
	m := p.Mark()
	p.Send(line)
	return p.WaitFrom(t, m, msgTimeout, func(e Event) bool {
		for _, k := range kinds {
			if e.Event == k {
				return true
			}
		}
		return false
	})
}

// whoisAnswer is the JSON answer to /whois NAME (shell/doc.go).
type whoisAnswer struct {
	Name        string `json:"name"`
	Nick        string `json:"nick"`
	ID          string `json:"id"`
	Host        string `json:"host"`
	Addr        string `json:"addr"`
	Online      bool   `json:"online"`
	Fingerprint string `json:"fingerprint"`
}

func whois(t *testing.T, p *Proc, name string) whoisAnswer {
	t.Helper()
	m := p.Mark()
	p.Send("/whois " + name)
	e := p.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "whois" || e.Event == "error" })
	if e.Event == "error" {
		t.Fatalf("%s: /whois %s: %s\n%s", p, name, e.Text, p.Report())
	}
	var w whoisAnswer
	if err := json.Unmarshal([]byte(e.Raw), &w); err != nil {
		t.Fatalf("%s: /whois answer %s: %v", p, e.Raw, err)
	}
	return w
}

// readyFingerprint is the key fingerprint in a node's "ready" event.
func readyFingerprint(t *testing.T, p *Proc) string {
	t.Helper()
	var r struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal([]byte(p.Ready().Raw), &r); err != nil || r.Fingerprint == "" {
		t.Fatalf("%s: no fingerprint in ready event %s (%v)", p, p.Ready().Raw, err)
	}
	return r.Fingerprint
}

func findPeer(t *testing.T, p *Proc, name string) PeerEntry {
	t.Helper()
	peers := p.Peers(t)
	for _, pe := range peers {
		if pe.Name == name {
			return pe
		}
	}
	t.Fatalf("%s: /peers has no %q: %+v", p, name, peers)
	return PeerEntry{}
}

// relWaitDelivered waits until every id has a "delivered" event (to anyone)
// at or after from; it fails the test at the deadline naming what is missing.
func relWaitDelivered(t testing.TB, p *Proc, from int, deadline time.Time, ids []Flex) {
	t.Helper()
	want := map[Flex]bool{}
	for _, id := range ids {
		want[id] = true
	}
	_, err := p.Await(from, time.Until(deadline), func(e Event) bool {
		if e.Event == "delivered" {
			delete(want, e.ID)
		}
		return len(want) == 0
	})
	if err != nil {
		missing := slices.Sorted(func(yield func(Flex) bool) {
			for id := range want {
				if !yield(id) {
					return
				}
			}
		})
		t.Fatalf("%s: %d of %d messages never reported delivered (%v), e.g. ids %v\n%s",
			p, len(missing), len(ids), err, head(flexStrings(missing)), p.Report())
	}
}

// relTransports returns how p's /peers shows each of names: "udp", "tcp"
// or "" when it does not list it.
func relTransports(t testing.TB, p *Proc, names ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range names {
		m[n] = ""
	}
	for _, pe := range p.Peers(t) {
		if _, ok := m[pe.Name]; ok {
			m[pe.Name] = pe.Transport
		}
	}
	return m
}

// relWaitTransport polls p's /peers (bounded: up to timeout, waking on
// each new event or every half second) until every one of names is shown
// with transport tr; it reports how long that took and whether it happened.
func relWaitTransport(t testing.TB, p *Proc, tr string, timeout time.Duration, names ...string) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		all := true
		for _, got := range relTransports(t, p, names...) {
			all = all && got == tr
		}
		if all {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		p.Await(p.Mark(), 500*time.Millisecond, func(Event) bool { return true })
	}
}

// relQuitStats ends p with /quit and logs the final "stats" event (counters
// such as retransmissions and drops) if p2pchat prints one.
func relQuitStats(t testing.TB, p *Proc) {
	t.Helper()
	m := p.Mark()
	p.Send("/quit")
	if e, err := p.Await(m, exitTimeout, IsKind("stats")); err == nil {
		t.Logf("%s: final %s", p.Name, e.Raw)
	} else {
		t.Logf("%s: no \"stats\" event at exit: retransmissions are not reported", p.Name)
	}
	if code := p.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("%s exited with %d after /quit", p, code)
	}
}

// relChatUntil has from send to to one numbered message (prefix NNN) every
// 200 ms until stop is closed, each awaited on to's side within wait; it
// returns each one's latency, and those slower than 1 s in words.
func relChatUntil(t *testing.T, from, to *Proc, prefix string, wait time.Duration, stop <-chan struct{}) (lat []time.Duration, late []string) {
	t.Helper()
	tk := time.NewTicker(200 * time.Millisecond)
	defer tk.Stop()
	for i := 1; ; i++ {
		select {
		case <-stop:
			return lat, late
		case <-tk.C:
		}
		text := fmt.Sprintf("%s %03d", prefix, i)
		sent := time.Now()
		from.Send("/to " + to.Ready().Name + " " + text)
		e, err := to.Await(0, wait, IsMessage(from.Ready().Name, to.Ready().Name, text))
		if err != nil {
			t.Fatalf("%s did not show %q: %v\n%s", to, text, err, to.Report())
		}
		l := e.At.Sub(sent)
		lat = append(lat, l)
		if l > time.Second {
			late = append(late, fmt.Sprintf("%s after %v", text, l.Round(time.Millisecond)))
		}
	}
}
