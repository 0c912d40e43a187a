//go:build !linux

package store

import "testing"

// scratchDir is a temporary directory for the damage tests (see
// scratch_linux_test.go): t.TempDir() here.
func scratchDir(t testing.TB) string { return t.TempDir() }
