//go:build !linux

package shell

import "os"

// PollableStdin returns os.Stdin and false: reopening standard input as a
// file of its own is done on Linux only (elsewhere /dev/fd/0 shares the
// shell's file description, and O_NONBLOCK would leak to it).
func PollableStdin() (*os.File, bool) { return os.Stdin, false }
