//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package discovery

import "syscall"

// reuse does nothing here: a second mDNS socket on this host may fail to bind.
func reuse(_, _ string, _ syscall.RawConn) error { return nil }
