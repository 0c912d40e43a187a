package transfer

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a name after sanitising.
const (
	maxComponentBytes = 255 // one file or folder name: what common file systems allow
	maxDepth          = 32  // folders in one relative path
)

// partialDir is the folder inside the downloads folder that holds partial
// files and the state of accepted transfers; no received file may use it.
const partialDir = ".p2pchat-partial"

// ErrBadName is what SanitizeName's errors are (errors.Is; each is an
// *Error with a name-* Cause): the name points outside the downloads
// folder, or cannot be made safe. An offer with such a name
// is refused as a whole (an honest sender never writes one).
var ErrBadName = errors.New("unsafe file name")

// SanitizeName turns a file's relative path from an offer, which is
// hostile, into a safe relative '/'-separated path inside the downloads
// folder, or says why it cannot:
//
//   - absolute paths ("/etc/passwd", "\\server\x"), drive letters ("C:\x",
//     "C:x") and ".." anywhere are refused;
//   - "\" counts as a separator (a Windows sender's); empty and "."
//     components are dropped;
//   - control and format characters (newlines, escapes, bidi controls) and
//     the characters Windows forbids (<>:"|?*) become "_"; trailing dots and
//     spaces are dropped (Windows ignores them);
//   - Windows device names (CON, NUL, COM1, LPT1, ... with any extension)
//     get a "_" in front, as does the name of the folder of partial files;
//   - each component is cut to 255 bytes (keeping a short extension), and
//     at most 32 folders deep.
func SanitizeName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", &Error{Cause: CauseNameNotUTF8}
	}
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") {
		return "", &Error{Cause: CauseNameAbsolute}
	}
	if len(n) >= 2 && n[1] == ':' && isASCIILetter(n[0]) {
		return "", &Error{Cause: CauseNameDrive}
	}
	var parts []string
	for _, c := range strings.Split(n, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", &Error{Cause: CauseNameClimbs}
		}
		parts = append(parts, safeComponent(c))
	}
	if len(parts) == 0 {
		return "", &Error{Cause: CauseNameEmpty}
	}
	if len(parts) > maxDepth+1 {
		return "", &Error{Cause: CauseNameTooDeep, Have: int64(len(parts) - 1), Size: maxDepth}
	}
	if strings.EqualFold(parts[0], partialDir) {
		parts[0] = "_" + parts[0]
	}
	return strings.Join(parts, "/"), nil
}

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

// safeComponent makes one path component safe (see SanitizeName).
func safeComponent(c string) string {
	c = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029', r == utf8.RuneError:
			return '_'
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, c)
	c = strings.TrimRight(c, ". ")
	if c == "" {
		return "_"
	}
	if isDeviceName(c) {
		c = "_" + c
	}
	if len(c) > maxComponentBytes {
		ext := path.Ext(c)
		if len(ext) > 16 {
			ext = ""
		}
		c = cutBytes(c[:len(c)-len(ext)], maxComponentBytes-len(ext)) + ext
	}
	return c
}

// isDeviceName reports whether c names a Windows device: CON, PRN, AUX,
// NUL, COM0-9, LPT0-9, whatever follows a dot.
func isDeviceName(c string) bool {
	base, _, _ := strings.Cut(c, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		return base[3] >= '0' && base[3] <= '9'
	}
	return false
}

// cutBytes cuts s to at most n bytes at a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// numbered is rel with " (i)" before its extension: the i-th alternative
// for a name that is taken ("report.pdf" -> "report (1).pdf").
func numbered(rel string, i int) string {
	dir, file := path.Split(rel)
	ext := path.Ext(file)
	if ext == file || len(ext) > 16 { // ".bashrc", or no real extension
		ext = ""
	}
	base := file[:len(file)-len(ext)]
	suffix := fmt.Sprintf(" (%d)", i)
	base = cutBytes(base, maxComponentBytes-len(ext)-len(suffix))
	return dir + base + suffix + ext
}
