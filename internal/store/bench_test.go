package store

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

var benchText = strings.Repeat("a chat line of some length ", 4)

// BenchmarkWrite: one Queue per Write, each waited for: one synced commit
// per message.
func BenchmarkWrite(b *testing.B) {
	s, _ := openT(b, b.TempDir(), Limits{TotalBytes: 1 << 30, PeerBytes: 1 << 30})
	defer s.Close()
	b.ResetTimer()
	for i := range b.N {
		mustWrite(b, s, Write{Queue: []Queued{queued(1, uint64(i), uint64(i+1), benchText)}})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(s.commits.Load())/float64(b.N), "commits/msg")
}

// BenchmarkGroupCommit: 64 writers, each waiting for its Write: the
// writer commits whatever waits in one transaction.
func BenchmarkGroupCommit(b *testing.B) {
	s, _ := openT(b, b.TempDir(), Limits{TotalBytes: 1 << 30, PeerBytes: 1 << 30})
	defer s.Close()
	var seq atomic.Uint64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // 64 goroutines in all
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			if err := write(s, Write{Queue: []Queued{queued(byte(n%16), n, n, benchText)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(s.commits.Load())/float64(b.N), "commits/msg")
}

// BenchmarkOpen: Open (raw check, load, tidy) of a store holding 20,000
// waiting messages of 1 KB (20 MB) and 5,000 inbox entries.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, _ := openT(b, dir, Limits{TotalBytes: 1 << 30, PeerBytes: 1 << 30, InboxBytes: 1 << 30})
	text := strings.Repeat("x", 1000)
	for batch := range 40 {
		var w Write
		for i := range 500 {
			n := uint64(batch*500 + i)
			w.Queue = append(w.Queue, queued(byte(n%16), n, n+1, text))
			if i%4 == 0 {
				idx := uint64(batch*125 + i/4 + 1)
				w.Inbox = append(w.Inbox, inbox(idx, byte(n%16), idx, text))
			}
		}
		mustWrite(b, s, w)
	}
	s.Close()
	b.ResetTimer()
	for b.Loop() {
		s, snap := openT(b, dir, Limits{TotalBytes: 1 << 30, PeerBytes: 1 << 30, InboxBytes: 1 << 30})
		if len(snap.Out) != 16 || len(snap.Unshown) != 5000 {
			b.Fatalf("%d streams, %d unshown", len(snap.Out), len(snap.Unshown))
		}
		s.Close()
	}
}
