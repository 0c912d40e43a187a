package proctest

import (
	"os"
	"testing"
	"time"
)

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tp2pchat\nVmHWM:\t   12345 kB\nVmRSS:\t    8000 kB\nThreads:\t5\n"
	for _, tc := range []struct {
		field string
		want  int64
		ok    bool
	}{
		{"VmRSS", 8000, true},
		{"VmHWM", 12345, true},
		{"VmSwap", 0, false},
		{"Name", 0, false}, // not a number
	} {
		got, err := parseStatusKB(status, tc.field)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: %d, %v; want %d ok=%v", tc.field, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 are utime and stime; the name holds ") (" on purpose.
	stat := "4242 (a) (b) S 1 2 3 4 5 6 7 8 9 10 150 250 0 0 20 0 1 0"
	if got, err := parseStatCPU(stat); err != nil || got != 4*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 4s", got, err)
	}
	if _, err := parseStatCPU("4242 (a) S 1"); err == nil {
		t.Error("a short stat line parsed")
	}
}

func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	if rss, err := RSS(pid); err != nil || rss <= 0 {
		t.Errorf("RSS = %d, %v", rss, err)
	}
	if _, err := CPUTime(pid); err != nil {
		t.Errorf("CPUTime: %v", err)
	}
	if rt, err := RunTime(pid); err != nil || rt <= 0 {
		t.Errorf("RunTime = %v, %v", rt, err)
	}
}
