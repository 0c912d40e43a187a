//go:build !linux

package shell

import "io"

// writeNow writes b to out (printer_linux.go says why Linux does more).
func writeNow(out io.Writer, b []byte) error {
	_, err := out.Write(b)
	return err
}
