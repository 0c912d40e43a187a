package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestStartErrorWords: an error that stops p2pchat at start-up reads as
// the shell words it (shell.Words), with main's advice after it, never the
// domain package's Error text. Before, main printed the error as it was:
// "p2pchat: roomsnet: signing key file HOME/signing.key is damaged
// (expected 64 hex digits); move it away to make a new one (your rooms'
// members then see a new key) (choose another with -home)" and
// "p2pchat: transfer: downloads folder D is unusable: mkdir D: not a
// directory (choose another with -downloads)".
func TestStartErrorWords(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, home, file string)
		args  func(home, file string) []string
		want  func(home, file string) string
	}{
		{"damaged signing key",
			func(t *testing.T, home, _ string) {
				if err := os.WriteFile(filepath.Join(home, "signing.key"), []byte("# p2pchat signing key\nnot hex\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			func(home, _ string) []string { return []string{"-downloads", home} },
			func(home, _ string) string {
				return "p2pchat: the signing key file " + filepath.Join(home, "signing.key") + " is damaged (expected 64 hex digits): " +
					"move it away to make a new one (your rooms' members then see a new key) (choose another with -home)\n"
			}},
		{"downloads is a file",
			func(*testing.T, string, string) {},
			func(_, file string) []string { return []string{"-downloads", file} },
			func(_, file string) string {
				return "p2pchat: a disk error on " + file + ": not a directory (choose another with -downloads)\n"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			file := filepath.Join(t.TempDir(), "a-file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, home, file)
			args := append([]string{"-name", "alice", "-home", home, "-store=false", "-mdns=false", "-bind", "127.0.0.1", "-port", "0", "-json"},
				tc.args(home, file)...)
			var stdout, stderr bytes.Buffer
			if code := run(args, nil, &stdout, &stderr); code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if got, want := stderr.String(), tc.want(home, file); got != want {
				t.Errorf("stderr:\n got %q\nwant %q", got, want)
			}
		})
	}
}
