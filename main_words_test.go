package main

import (
	"bytes"
	"net"
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
		{"damaged identity key",
			func(t *testing.T, home, _ string) {
				if err := os.WriteFile(filepath.Join(home, "identity.key"), []byte("# p2pchat private key\nnot hex\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			func(home, _ string) []string { return []string{"-downloads", home} },
			func(home, _ string) string {
				return "p2pchat: the key file " + filepath.Join(home, "identity.key") + " is damaged (expected 64 hex digits): " +
					"move it away to make a new identity (your peers then see a new key) (choose another with -home)\n"
			}},
		{"home is a file",
			func(*testing.T, string, string) {},
			func(_, file string) []string { return []string{"-home", file + "/sub"} },
			func(_, file string) string {
				return "p2pchat: the home directory " + file + "/sub is unusable: not a directory (choose another with -home)\n"
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

// TestFlagErrorWords: -name and -peer errors read in the shell's words:
// never the resolver's own text, which names the DNS server (before:
// `-peer "x.invalid:7000": cannot resolve x.invalid: lookup x.invalid on
// 10.0.0.1:53: no such host`), nor wire's Error text for a name.
func TestFlagErrorWords(t *testing.T) {
	lookupIP = func(host string) ([]net.IP, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.0.0.1:53", IsNotFound: true}
	}
	defer func() { lookupIP = net.LookupIP }()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-peer", "x.invalid:7000"}, `p2pchat: -peer "x.invalid:7000": cannot resolve x.invalid: no such host` + "\n"},
		{[]string{"-name", "a b"}, `p2pchat: -name: "a b" contains a space or control character` + "\n"},
		{[]string{"-name", "bob@home"}, `p2pchat: -name: "bob@home" may not contain '@' or '/'` + "\n"},
	} {
		var stderr bytes.Buffer
		if _, err := parseFlags(tc.args, &stderr); err == nil {
			t.Errorf("%v accepted", tc.args)
		}
		if got := stderr.String(); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
}
