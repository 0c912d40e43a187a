package proctest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// RSS is the resident set size of pid in KiB (VmRSS in /proc/PID/status).
func RSS(pid int) (int64, error) { return StatusKB(pid, "VmRSS") }

// StatusKB reads a KiB field of /proc/PID/status, such as VmRSS or VmHWM.
func StatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(string(b), field)
}

func parseStatusKB(status, field string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s in /proc status: %w", field, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc (100 on Linux).
const clockTicks = 100

// CPUTime is utime+stime of pid, from /proc/PID/stat (10 ms ticks).
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return 0, fmt.Errorf("/proc stat without a command name: %q", TrimForLog(s, 80))
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat too short: %q", TrimForLog(s, 80))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat utime %q stime %q", f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// RunTime is the CPU time of pid's threads, from /proc/PID/task/*/schedstat
// (finer than CPUTime's ticks; threads that ended are not counted).
func RunTime(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum), nil
}

// RSSSample is one reading of a process's resident set size.
type RSSSample struct {
	At time.Duration // since the sampling started
	KB int64
}

// RSSSampler reads a process's RSS on a ticker until Stop.
type RSSSampler struct {
	stop, done chan struct{}
	samples    []RSSSample
}

// SampleRSS starts reading pid's RSS every interval.
func SampleRSS(pid int, every time.Duration) *RSSSampler {
	s := &RSSSampler{stop: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(s.done)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tk.C:
				if r, err := RSS(pid); err == nil {
					s.samples = append(s.samples, RSSSample{time.Since(start), r})
				}
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the readings, oldest first.
func (s *RSSSampler) Stop() []RSSSample {
	close(s.stop)
	<-s.done
	return s.samples
}

// PeakKB is the largest reading in samples, or floor if larger.
func PeakKB(floor int64, samples []RSSSample) int64 {
	for _, x := range samples {
		floor = max(floor, x.KB)
	}
	return floor
}
