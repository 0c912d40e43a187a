//go:build linux || darwin || openbsd || freebsd || netbsd || solaris

package shell

import (
	"os"
	"syscall"
)

// canRedraw: on these systems liner edits the line itself and redraws
// prompt and typed text when it receives SIGWINCH (the same build
// constraint as liner's input.go).
const canRedraw = true

// redrawPrompt sends this process SIGWINCH. liner's Prompt listens for it
// (signal.Notify) and redraws; when no Prompt runs the signal waits in
// liner's channel and costs one harmless redraw at the next prompt.
func redrawPrompt() {
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
}
