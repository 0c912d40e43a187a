package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/p2pchat/p2pchat/shell"
)

// TestExitCode: the exit status README.md and -h document, for each way a
// run can end.
func TestExitCode(t *testing.T) {
	notSent := fmt.Errorf("2 files: %w", shell.ErrNotSent)
	failed := errors.New("cannot read input")
	tests := []struct {
		name string
		r    outcome
		want int
	}{
		{"normal end", outcome{}, exitOK},
		{"shell error", outcome{shellErr: failed}, exitError},
		{"a /send not sent", outcome{shellErr: notSent}, exitFiles},
		{"messages queued", outcome{queued: true}, exitQueue},
		{"messages queued after a shell error", outcome{shellErr: failed, queued: true}, exitError},
		{"messages queued after a /send not sent", outcome{shellErr: notSent, queued: true}, exitFiles},
		{"transfers given up", outcome{filesGaveUp: true}, exitWait},
		{"transfers given up after a /send not sent", outcome{shellErr: notSent, filesGaveUp: true}, exitWait},
		{"transfers given up after a shell error", outcome{shellErr: failed, filesGaveUp: true}, exitError},
		{"transfers given up, messages queued", outcome{queued: true, filesGaveUp: true}, exitQueue},
		{"transfers not verified", outcome{filesUnverified: true}, exitFiles},
		{"transfers not verified, messages queued", outcome{queued: true, filesUnverified: true}, exitQueue},
		{"transfers not verified after a shell error", outcome{shellErr: failed, filesUnverified: true}, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.r); got != tt.want {
				t.Errorf("exitCode(%+v) = %d, want %d", tt.r, got, tt.want)
			}
		})
	}
	// The documented numbers themselves.
	for code, want := range map[int]int{exitOK: 0, exitError: 1, exitUsage: 2, exitFiles: 3, exitQueue: 4, exitWait: 5} {
		if code != want {
			t.Errorf("exit code constant %d, documented %d", code, want)
		}
	}
}
