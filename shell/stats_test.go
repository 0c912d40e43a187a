package shell

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/p2pchat/p2pchat/peer"
)

// TestStatsLineHasEveryPeerCounter: every counter of peer.Stats reaches
// the -json stats line, so a counter added to peer cannot be forgotten
// here. Each field gets its own value; each value must appear once.
func TestStatsLineHasEveryPeerCounter(t *testing.T) {
	var st peer.Stats
	v := reflect.ValueOf(&st).Elem()
	for i := range v.NumField() {
		if v.Field(i).Kind() != reflect.Uint64 {
			t.Fatalf("peer.Stats.%s is a %s: counters are uint64", v.Type().Field(i).Name, v.Field(i).Kind())
		}
		v.Field(i).SetUint(uint64(1000 + i))
	}
	var b strings.Builder
	if err := WriteStats(&b, StatsLine{Peer: st}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	var values []float64
	for _, x := range got {
		if f, ok := x.(float64); ok {
			values = append(values, f)
		}
	}
	for i := range v.NumField() {
		if n := countOf(values, float64(1000+i)); n != 1 {
			t.Errorf("peer.Stats.%s appears %d times in the stats line, want once: %s", v.Type().Field(i).Name, n, b.String())
		}
	}
}

func countOf(vs []float64, x float64) int {
	n := 0
	for _, v := range vs {
		if v == x {
			n++
		}
	}
	return n
}

// TestStatsLineKeys: the peer's keys stay what scripts read (a rename
// breaks them); other packages' counters come each in an object of their
// own, keyed by the field's json tag or name in snake case, in field
// order; a field that
// is not a counter is refused rather than left out.
func TestStatsLineKeys(t *testing.T) {
	type fileCounters struct { // stands in for transfer.Stats and discovery.Stats
		OffersRateLimited uint64
		TCPRefused        uint64
		Dropped           uint64
		IPv6Answers       uint64 `json:"ipv6_answers"`
	}
	var b strings.Builder
	err := WriteStats(&b, StatsLine{Peer: peer.Stats{Dropped: 3, LeadsDropped: 4},
		Transfer: fileCounters{1, 2, 3, 4}, Discovery: &fileCounters{Dropped: 9}})
	if err != nil {
		t.Fatal(err)
	}
	// The first keys, in their order, as scripts read them; counters added
	// to peer.Stats since come after them.
	head := `{"event":"stats","retransmits":0,"tcp_sends":0,"dropped":3,"replayed":0,"unauthentic":0,"duplicates":0,"not_opened":0,"held_back":0,"no_room":0,"notices_dropped":0,"leads_dropped":4,`
	tail := `"transfer":{"offers_rate_limited":1,"tcp_refused":2,"dropped":3,"ipv6_answers":4},"discovery":{"offers_rate_limited":0,"tcp_refused":0,"dropped":9,"ipv6_answers":0}}` + "\n"
	if got := b.String(); !strings.HasPrefix(got, head) || !strings.HasSuffix(got, ","+tail) {
		t.Errorf("\n got %s\nwant %s...%s", got, head, tail)
	}
	b.Reset()
	if err := WriteStats(&b, StatsLine{Transfer: struct{ Rate float64 }{}}); err == nil || !strings.Contains(err.Error(), "Rate") {
		t.Errorf("a stats struct with a non-counter field: err %v, wrote %q", err, b.String())
	}
	for in, want := range map[string]string{"TCPSends": "tcp_sends", "EventsDropped": "events_dropped", "QueriesOverCap": "queries_over_cap", "X": "x"} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
