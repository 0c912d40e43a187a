package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeepPrevious: a run of some phases rewrites the report with the
// figures of the others as they were, notes included, and a second such
// run reads its own output back the same way.
func TestKeepPrevious(t *testing.T) {
	prev, err := os.ReadFile(filepath.Join("..", "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "B.md")
	old := strings.Join([]string{
		"- **Run:** full, 2026-12-01 15:52 UTC, took 9m3s",
		"| # | figure | measured through | measured | raw floor | ratio | goal | met |",
		"|---|---|---|---|---|---|---|---|",
		"| 1 | start-up, median | p2pchat process | 22.87 ms | 9.86 ms | 2.32x | <= 100 ms | yes |",
		"| 2 | file transfer 1024 MiB, laptop to laptop | p2pchat \\| x | 434 MB/s | 1157 MB/s | 38% | >= 70% of floor | **NO** |",
		"| 3 | fan-out: /all | p2pchat process | 13.57 ms | 2.12 ms | 6.41x | <= 3x floor | **NO** |",
		"",
		"1. floor: do-nothing Go program. 10 starts.",
		"2. floor: raw TCP copy. median of 3.",
		"3. floor: 20 raw round trips. 50 rounds.",
		"## Hot paths (`go test`)",
		"",
		"```",
		"BenchmarkSeal-2 100 ns/op",
		"```",
		"",
		"## Method",
	}, "\n")
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &report{started: time.Now(), finished: time.Now(), ran: []string{"files", "attack"}}
	r.add(figure{Phase: "files", Name: "file transfer 1 MiB over a 20 Mbit/s link", Impl: "p2pchat", Text: "not done", Floor: 2, Unit: unitMBs, Goal: ">= 95% of floor", Note: "new"})
	r.add(figure{Phase: "attack", Name: "under X: CPU of a", Impl: "p2pchat", Value: 40, Unit: unitPct, Floor: 1, Goal: "< 10% of a core", Note: "shared"})
	r.keepPrevious(path)
	var names []string
	for _, f := range r.figures {
		names = append(names, f.Phase+":"+f.Name)
	}
	want := []string{"pair:start-up, median", "lan:fan-out: /all", "files:file transfer 1 MiB over a 20 Mbit/s link", "attack:under X: CPU of a"}
	if strings.Join(names, "; ") != strings.Join(want, "; ") {
		t.Fatalf("figures %q, want %q", names, want)
	}
	md := r.markdown()
	for _, s := range []string{
		"| 1 | pair | start-up, median | p2pchat process | 22.87 ms | 9.86 ms | 2.32x | <= 100 ms | PASS |",
		"| 2 | lan | fan-out: /all | p2pchat process | 13.57 ms | 2.12 ms | 6.41x | <= 3x floor | **FAIL** |",
		"2. floor: 20 raw round trips. 50 rounds.",
		"BenchmarkSeal-2 100 ns/op",
		"- **Kept:** the figures of phases not run this time are those of earlier runs: pair, lan, gobench from the full run of 2026-12-01 15:52 UTC\n",
		"#2 fan-out: /all (p2pchat process): 13.57 ms against goal <= 3x floor (kept from the previous report)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q:\n%s", s, md)
		}
	}
	// Again over its own output, now running only pair: the rest is kept.
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	r2 := &report{started: time.Now(), finished: time.Now(), ran: []string{"pair"}}
	r2.keepPrevious(path)
	if got, want := r2.keptLine(), keptIntro+"lan, gobench from the full run of 2026-12-01 15:52 UTC; files, attack from the full run of "+r.started.UTC().Format("2006-01-02 15:04 UTC"); got != want {
		t.Errorf("kept line %q, want %q", got, want)
	}
	if len(r2.figures) != 3 || r2.figures[1].Name != "file transfer 1 MiB over a 20 Mbit/s link" || r2.figures[2].NoteText != "floor: no floor. shared." {
		t.Fatalf("second pass kept %+v", r2.figures)
	}
	// The first kept line format: phases the quoted run did not name were
	// kept from a run before it.
	w := keptWhen("full, 2026-12-07 03:19 UTC, took 22m10s, phases files",
		"- **Kept:** the figures of pair, croc, attack (not run this time) are those of the previous report, whose run line read: full, 2026-12-07 03:14 UTC, took 2m36s, phases attack")
	for ph, want := range map[string]string{
		"pair": "a run before the full run of 2026-12-07 03:14 UTC", "attack": "the full run of 2026-12-07 03:14 UTC", "files": "the full run of 2026-12-07 03:19 UTC",
	} {
		if got := w(ph); got != want {
			t.Errorf("%s kept from %q, want %q", ph, got, want)
		}
	}
	// The real report parses: every row is kept with its note.
	if err := os.WriteFile(path, prev, 0o644); err != nil {
		t.Fatal(err)
	}
	r3 := &report{started: time.Now(), finished: time.Now()}
	r3.keepPrevious(path)
	rows := strings.Count(string(prev), "\n| ") - 1
	if len(r3.figures) != rows {
		t.Fatalf("kept %d figures of BENCHMARKS.md's %d", len(r3.figures), rows)
	}
	for _, f := range r3.figures {
		if !strings.HasPrefix(f.NoteText, "floor: ") || f.Phase == "" {
			t.Errorf("%s: phase %q note %q", f.Name, f.Phase, f.NoteText)
		}
	}
}
