package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCompletePaths: Tab after "/send NAME " completes paths from the
// disk: quoted when a name has a space or a quote (all candidates the
// same way, so that they share a prefix), in the user's quoting when they
// opened one, folders with a trailing '/' and left open, files closed
// with a space; hidden names only when asked for; any argument, not only
// the first. Every completed file reads back (splitPaths) as its path.
func TestCompletePaths(t *testing.T) {
	base := t.TempDir()
	for _, f := range []string{"report.pdf", "my file.txt", "it's.txt", ".hidden", "my folder/inner.txt", "photos/a.jpg", "ctl\x1bname"} {
		p := filepath.Join(base, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("photos", filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	names := []string{"bob", "carol"}
	tests := []struct {
		line string
		pos  int // -1: the end
		head string
		want []string
		tail string
	}{
		{"/send bob rep", -1, "/send bob ", []string{"report.pdf "}, ""},
		{"/send bob my", -1, "/send bob ", []string{`"my file.txt" `, `"my folder/`}, ""},
		{`/send bob "my f`, -1, "/send bob ", []string{`"my file.txt" `, `"my folder/`}, ""},
		{`/send bob 'my fo`, -1, "/send bob ", []string{`'my folder/`}, ""},
		{`/send bob my\ fi`, -1, "/send bob ", []string{`"my file.txt" `}, ""},
		{`/send bob "my folder/`, -1, "/send bob ", []string{`"my folder/inner.txt" `}, ""},
		{"/send bob ph", -1, "/send bob ", []string{"photos/"}, ""},
		{"/send bob photos/", -1, "/send bob ", []string{"photos/a.jpg "}, ""},
		{"/send bob li", -1, "/send bob ", []string{"link/"}, ""},
		{"/send bob ", -1, "/send bob ", []string{`"it's.txt" `, `"link/`, `"my file.txt" `, `"my folder/`, `"photos/`, `"report.pdf" `}, ""},
		{"/send bob .h", -1, "/send bob ", []string{".hidden "}, ""},
		{"/send bob it", -1, "/send bob ", []string{`"it's.txt" `}, ""},
		{"/send bob 'it", -1, "/send bob ", []string{`"it's.txt" `}, ""},
		{"/send bob ctl", -1, "/send bob ", nil, ""},
		{"/send bob report.pdf ph", -1, "/send bob report.pdf ", []string{"photos/"}, ""},
		{`/send bob "my file.txt" rep`, -1, `/send bob "my file.txt" `, []string{"report.pdf "}, ""},
		{"/send  bob   rep", -1, "/send  bob   ", []string{"report.pdf "}, ""},
		{"/SEND bob rep", -1, "/SEND bob ", []string{"report.pdf "}, ""},
		{"/send bob rep photos", 13, "/send bob ", []string{"report.pdf "}, " photos"},
		{"/send bob zzz", -1, "/send bob ", nil, ""},
		{"/send bob nowhere/x", -1, "/send bob ", nil, ""},
		{"/send bob " + base + "/pho", -1, "/send bob ", []string{base + "/photos/"}, ""},
		{"/send c", -1, "/send ", []string{"carol "}, ""},
		{"/send bob", -1, "/send ", []string{"bob "}, ""},
	}
	for _, tt := range tests {
		pos := tt.pos
		if pos < 0 {
			pos = utf8.RuneCountInString(tt.line)
		}
		head, got, tail := complete(tt.line, pos, names)
		if head != tt.head || tail != tt.tail || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("complete(%q, %d) = %q, %q, %q; want %q, %q, %q", tt.line, pos, head, got, tail, tt.head, tt.want, tt.tail)
		}
		for _, c := range got {
			if !strings.HasSuffix(c, " ") || !strings.HasPrefix(head, "/send bob") {
				continue // a folder (still open), or a name
			}
			paths, err := splitPaths(c)
			if err != nil || len(paths) != 1 {
				t.Errorf("completion %q does not parse as one path: %v, %v", c, paths, err)
				continue
			}
			if _, err := os.Stat(paths[0]); err != nil {
				t.Errorf("completion %q reads back as %q, which is not there: %v", c, paths[0], err)
			}
		}
	}
}
