package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Helpers over event logs: counting, extracting, comparing sequences.

// noEvent checks that no event in evs (typically everything before a
// marker) matches.
func noEvent(t *testing.T, p *Proc, evs []Event, what string, match func(Event) bool) {
	t.Helper()
	for _, e := range evs {
		if match(e) {
			t.Fatalf("%s: unexpected %s: %s\n%s", p, what, e, p.Report())
		}
	}
}

func countEvents(p *Proc, match func(Event) bool) int {
	n := 0
	for _, e := range p.Events() {
		if match(e) {
			n++
		}
	}
	return n
}

func countKind(evs []Event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Event == kind {
			n++
		}
	}
	return n
}

func countText(p *Proc, text string) int {
	return countEvents(p, func(e Event) bool { return e.Event == "message" && strings.Contains(e.Text, text) })
}

// relCountInfo counts info events containing sub.
func relCountInfo(evs []Event, sub string) int {
	n := 0
	for _, e := range evs {
		if e.Event == "info" && strings.Contains(e.Text, sub) {
			n++
		}
	}
	return n
}

// relMessages returns the texts of the "message" events from from to to in
// evs, in order.
func relMessages(evs []Event, from, to string) []string {
	var got []string
	for _, e := range evs {
		if e.Event == "message" && e.From == from && e.To == to {
			got = append(got, e.Text)
		}
	}
	return got
}

// relSentIDs collects the ids of the "sent" events to to in evs.
func relSentIDs(evs []Event, to string) []Flex {
	var ids []Flex
	for _, e := range evs {
		if e.Event == "sent" && e.To == to {
			ids = append(ids, e.IDs...)
		}
	}
	return ids
}

// relCountIDs matches once "sent" events to to have given n ids in all
// (it counts the events it is shown, so use it with one WaitFrom only).
func relCountIDs(to string, n int) func(Event) bool {
	got := 0
	return func(e Event) bool {
		if e.Event == "sent" && e.To == to {
			got += len(e.IDs)
		}
		return got >= n
	}
}

// relNoJunk fails if any stdout line of p was not a JSON object.
func relNoJunk(t testing.TB, p *Proc) {
	t.Helper()
	for _, e := range p.Events() {
		if e.Err != nil || e.Event == "" {
			t.Errorf("%s printed a line that is not a JSON event: %s", p, e)
		}
	}
}

// relRetransmitsExposed reports whether any event or /peers field would
// show a retransmission count (so that the test can log it if it ever does).
func relRetransmitsExposed(evs []Event) bool {
	for _, e := range evs {
		if strings.Contains(strings.ToLower(e.Raw), "retrans") {
			return true
		}
	}
	return false
}

func flexStrings(f []Flex) []string {
	s := make([]string, len(f))
	for i, x := range f {
		s[i] = string(x)
	}
	return s
}

// relNumbered returns prefix0001, prefix0002, ... prefixN.
func relNumbered(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return s
}

// seqDiff describes how got differs from want (a sequence of distinct
// strings): first divergence, duplicates, missing.
func seqDiff(got, want []string) string {
	var b strings.Builder
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			fmt.Fprintf(&b, "first difference at position %d: got %q, want %q; ", i, got[i], want[i])
			break
		}
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	var dup, missing []string
	for _, w := range want {
		switch seen[w] {
		case 0:
			missing = append(missing, w)
		case 1:
		default:
			dup = append(dup, fmt.Sprintf("%s x%d", w, seen[w]))
		}
	}
	fmt.Fprintf(&b, "duplicates %v; missing %v", head(dup), head(missing))
	return b.String()
}

func head(s []string) []string {
	if len(s) > 20 {
		return append(s[:20:20], fmt.Sprintf("...%d more", len(s)-20))
	}
	return s
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
