//go:build !linux

package shell

import "os"

// suspender does nothing here: Ctrl-Z goes to liner (which ignores it).
type suspender struct{}

func newSuspender(*os.File) *suspender { return nil }
func (*suspender) close()              {}
func (*suspender) suspend()            {}
