package shell

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Tab completion of the paths of /send NAME PATH..., read the way
// splitPaths reads them ("double" or 'single' quotes, a\ b: scanArgs).

// maxPathCompletions bounds what one Tab lists from a huge folder.
const maxPathCompletions = 500

// lastArg finds the argument the cursor is in, at the end of s (the
// paths of a /send up to the cursor): its start in s, its text without
// quotes and escapes, and the quote still open at the end (0 if none).
func lastArg(s string) (start int, text string, open rune) {
	args, open, _ := scanArgs(s)
	if len(args) == 0 || args[len(args)-1].end != len(s) {
		return len(s), "", 0 // the cursor is after white space: a new argument
	}
	last := args[len(args)-1]
	return last.start, last.text, open
}

// completePaths completes the path argument the cursor is at the end of
// in args (what follows "/send NAME "): it returns where that argument
// starts in args and the candidates that replace it, quoted so that
// splitPaths reads them back. A file ends its argument (closing quote and
// a space); a folder gets a trailing '/' and stays open for the next Tab.
// Names starting with '.' are offered only if the argument's last part
// does; names with control characters never are.
func completePaths(args string) (int, []string) {
	start, typed, open := lastArg(args)
	dir, base := "", typed
	if i := strings.LastIndexByte(typed, '/'); i >= 0 {
		dir, base = typed[:i+1], typed[i+1:]
	}
	readFrom := dir
	if readFrom == "" {
		readFrom = "."
	}
	entries, err := os.ReadDir(readFrom)
	if err != nil {
		return start, nil
	}
	type cand struct {
		path string
		dir  bool
	}
	var cands []cand
	quote := open
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) ||
			strings.IndexFunc(name, unicode.IsControl) >= 0 {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(readFrom, name)); err == nil {
				isDir = st.IsDir()
			}
		}
		c := cand{path: dir + name, dir: isDir}
		if quote == 0 && strings.ContainsAny(c.path, " \t\"'\\") {
			quote = '"' // one quoting for all, so that they share their prefix
		}
		cands = append(cands, c)
		if len(cands) == maxPathCompletions {
			break
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].path < cands[j].path })
	out := make([]string, 0, len(cands))
	for _, c := range cands {
		s, q := quotePath(c.path, quote)
		if c.dir {
			s = strings.TrimSuffix(s, string(q)) + "/" // still open
		} else {
			s += " "
		}
		out = append(out, s)
	}
	return start, out
}

// quotePath writes p so that splitPaths reads it back as p: bare (quote
// 0), in single quotes (if p has none), else in double quotes with '"'
// and '\' escaped. It returns the quote it used (0: none).
func quotePath(p string, quote rune) (string, rune) {
	switch {
	case quote == 0:
		return p, 0
	case quote == '\'' && !strings.ContainsRune(p, '\''):
		return "'" + p + "'", '\''
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(p) + `"`, '"'
}
