package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// forbiddenInTerminal describes the first byte sequence in out that must
// not reach a terminal from the network: a C0 control other than "\n"
// (ESC, BEL, CR, BS, ...), DEL, a C1 control (U+0080-U+009F) or a bidi
// embedding/override/isolate; "" if there is none.
func forbiddenInTerminal(out []byte) string {
	if !utf8.Valid(out) {
		return "invalid UTF-8"
	}
	for i, r := range string(out) {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U at byte %d, in %q", r, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
	return ""
}

// TestTerminalEscapesNeutralised: alice sends messages full of terminal
// escapes to bob, who runs p2pchat in text mode with its output going to a
// pipe (as to a terminal: no -json), and to carol (-json). alice's host
// name, which peers see in her hello, carries escapes too, and so does her
// away text. bob's output must not contain a single control character but
// "\n"; carol must get the exact texts, JSON-escaped. And nicknames with
// control characters are refused at the start.
func TestTerminalEscapesNeutralised(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 3)
	h0 := lab.Hosts[0]
	// Same namespace as lab.Hosts[0], with a host name that is an attack.
	evilHost := &testnet.Host{Name: h0.Name, Hostname: "evil\x1b]0;pwned-host\x07\x1b[31m\x7f", IP: h0.IP, Index: h0.Index, Lab: lab}
	// (p2pchat refuses to advertise such a host name over mDNS, and then
	// does no discovery at all: alice finds the others with -peer, and
	// her hello, which carries the host name, reaches them that way.)
	alice := StartNode(t, evilHost, "alice", "-mdns=false", "-peer", peerAddr(lab.Hosts[1]), "-peer", peerAddr(lab.Hosts[2]))
	bob := startTextNode(t, lab.Hosts[1], "bob")
	carol := StartNode(t, lab.Hosts[2], "carol")
	alice.WaitJoined(t, "bob", "carol")
	carol.WaitJoined(t, "alice")

	texts := []string{
		"\x1b[2J\x1b]0;pwned\x07 esc-text-1",
		"before\r\x1b[1A\x1b[2K10:00 carol: fake line\x08\x7f esc-text-2",
		"\u009b31m\u202eesc-text-3\u202c\u2066 \x1bPdcs\x1b\\ \x1b]52;c;cHduZWQ=\x07 \x1b(0\x0e\x0f\x1bc\x05",
		"\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ \u2028\u0085next esc-text-4 \x1b[6n\x1b[21t",
	}
	// Direct to bob, then to everyone; bob (text mode) is checked on his
	// output, alice hears every copy acknowledged.
	for _, text := range texts {
		for _, line := range []string{"/to bob " + text, "/all " + text} {
			m := alice.Mark()
			sent := command(t, alice, line, "sent", "error")
			if sent.Event != "sent" {
				t.Fatalf("alice: %q answered %s", line, sent)
			}
			for _, id := range sent.IDs {
				alice.WaitFrom(t, m, msgTimeout, func(e Event) bool { return e.Event == "delivered" && e.ID == id })
			}
		}
	}
	for i := range texts {
		bob.WaitOutput(t, 0, msgTimeout, fmt.Sprintf("esc-text-%d", i+1))
	}
	// carol (-json) has every text exactly, and her output lines are clean.
	for _, text := range texts {
		carol.Wait(t, msgTimeout, IsMessage("alice", "all", text))
	}
	// JSON mode escapes every C0 control (ESC, BEL, CR...). It does not
	// escape DEL, C1 controls or bidi overrides (encoding/json leaves them
	// as they are): logged, not failed, since -json output is for programs.
	for _, e := range carol.Events() {
		if i := bytes.IndexFunc([]byte(e.Raw), func(r rune) bool { return r < 0x20 }); i >= 0 {
			t.Errorf("carol's JSON output holds a raw C0 control at byte %d: %q", i, e.Raw)
		} else if bad := forbiddenInTerminal([]byte(e.Raw)); bad != "" && e.Event == "message" {
			t.Logf("carol (-json) passes through unescaped: %s", bad)
		}
	}

	// alice's away text, shown by /peers and /whois (if this build has /away).
	if e := command(t, alice, "/away \x1b]0;away-pwned\x07gone\x1b[5m fishing", "info", "error"); e.Event != "info" {
		t.Logf("alice: /away answered %s (not checked further)", e)
	}
	fp := readyFingerprint(t, alice)
	m := bob.Stdout().Len()
	bob.Send("/whois alice")
	bob.WaitOutput(t, m, msgTimeout, fp)
	m = bob.Stdout().Len()
	bob.Send("/peers")
	bob.WaitOutput(t, m, msgTimeout, h0.IP.String())
	m = bob.Stdout().Len()
	bob.Send("/history")
	bob.WaitOutput(t, m, msgTimeout, "esc-text-4")
	bob.CloseStdin()
	if code := bob.ExitCode(t, exitTimeout); code != 0 {
		t.Errorf("bob (text mode) exited with %d", code)
	}

	out := bob.Stdout().Bytes()
	if bad := forbiddenInTerminal(out); bad != "" {
		t.Errorf("bob's text output holds a control character from the network: %s", bad)
	}
	for _, c := range []byte{0x1b, 0x07} {
		if i := bytes.IndexByte(out, c); i >= 0 {
			t.Errorf("bob's output has byte %#02x at %d", c, i)
		}
	}
	// The forged line inside message 2 cannot pass for a line of its own.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "fake line") && !strings.HasPrefix(l, " ") && !strings.Contains(l, "alice") {
			t.Errorf("bob: a peer's text produced a line that looks like p2pchat's own: %q", l)
		}
	}
	t.Logf("bob's text output (%d bytes, quoted):\n%q", len(out), out)

	// Nicknames with control characters are refused at the start, and the
	// refusal itself does not print them raw.
	for _, name := range []string{"evil\x1b[31m", "bell\a", "cr\rname", "nl\nname", "tab\tname", "del\x7f", "c1\u009bname", "\u202eevil"} {
		ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
		cmd := lab.Hosts[2].Command(ctx, binPath, "-json", "-mdns=false", "-name", name, "-home", t.TempDir())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("-name %q: %v, want exit status 2; stdout %q stderr %q", name, err, stdout.Bytes(), stderr.Bytes())
			continue
		}
		if !strings.Contains(stderr.String(), "-name") {
			t.Errorf("-name %q: the error does not say what is wrong: %q", name, stderr.Bytes())
		}
		if bad := forbiddenInTerminal(bytes.TrimSuffix(stderr.Bytes(), []byte("\n"))); bad != "" {
			t.Errorf("-name %q: the error message echoes a control character: %s", name, bad)
		}
	}
	// /nick too.
	if e := command(t, alice, "/nick ev\x1b[2Jil", "info", "error"); e.Event != "error" {
		t.Errorf("alice: /nick with an escape answered %s, want an error", e)
	}
}
