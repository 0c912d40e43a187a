//go:build !(linux || darwin || openbsd || freebsd || netbsd || solaris)

package shell

// canRedraw: on Windows (and systems where liner has no line editing) there
// is no way to make liner redraw its prompt, so lines that arrive while the
// user types are held and shown after Enter.
const canRedraw = false

func redrawPrompt() {}
