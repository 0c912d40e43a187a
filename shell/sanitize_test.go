package shell

import (
	"strings"
	"testing"
	"unicode"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello, world", "hello, world"},
		{"chinese untouched", "你好，世界！今天天气很好。", "你好，世界！今天天气很好。"},
		{"emoji and accents", "café 🎉 naïve", "café 🎉 naïve"},
		{"arabic without overrides", "مرحبا", "مرحبا"},
		{"newline kept", "line1\nline2", "line1\nline2"},
		{"crlf becomes lf", "line1\r\nline2", "line1\nline2"},
		{"lone cr becomes lf", "fake\rreal", "fake\nreal"},
		{"tab becomes spaces", "a\tb", "a    b"},
		{"csi colour", "\x1b[31mred\x1b[0m", "red"},
		{"csi clear screen", "\x1b[2J\x1b[Hboo", "boo"},
		{"csi private mode", "\x1b[?1049hX", "X"},
		{"csi cursor up then text", "ok\x1b[1A\x1b[2Kfake line", "okfake line"},
		{"osc title with bel", "\x1b]0;pwned\x07after", "after"},
		{"osc hyperlink with st", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"osc 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07x", "x"},
		{"dcs", "\x1bPq#0;2;0;0;0\x1b\\y", "y"},
		{"apc", "\x1b_payload\x1b\\z", "z"},
		{"unterminated osc eats rest", "a\x1b]0;title", "a"},
		{"two char escape", "\x1bcreset", "reset"},
		{"charset escape", "\x1b(Babc", "abc"},
		{"lone esc at end", "abc\x1b", "abc"},
		{"esc before non-ascii", "a\x1b你", "a你"},
		{"c1 csi", "\u009b31mred", "red"},
		{"c1 osc", "\u009d0;title\u009cok", "ok"},
		{"c1 other", "a\u0085b\u0084c", "a\nbc"},
		{"bell and backspace", "ding\a\b\bX", "dingX"},
		{"nul and del", "a\x00b\x7fc", "abc"},
		{"bidi override", "file\u202Egnp.exe", "filegnp.exe"},
		{"bidi embeddings", "\u202Aa\u202Bb\u202Cc\u202Dd", "abcd"},
		{"bidi isolates", "\u2066x\u2067y\u2068z\u2069", "xyz"},
		{"line separators", "a\u2028b\u2029c", "a\nb\nc"},
		{"invalid utf8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"chinese with escapes", "你\x1b[31m好\x1b[0m", "你好"},
		{"zero width joiner kept", "👩\u200d💻", "👩\u200d💻"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("%s: Sanitize(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestSanitizeNeverLeaksControls checks the property that matters on every
// input: no control character other than "\n" survives, nor any bidi
// control.
func TestSanitizeNeverLeaksControls(t *testing.T) {
	inputs := []string{
		"\x1b[", "\x1b]", "\x1b[31", "\x9b", "\x1b\x1b[1m", "\x1b[\x1b]0;x\x07",
		"\r\r\n\n\r", string([]byte{0x1b, 0xc2, 0x9b, 0x33, 0x31, 0x6d}),
	}
	for b := 0; b < 256; b++ {
		inputs = append(inputs, "x"+string(rune(b))+"y", "x"+string([]byte{byte(b)})+"y", "\x1b"+string(rune(b))+"z")
	}
	for _, in := range inputs {
		for _, r := range Sanitize(in) {
			if (unicode.IsControl(r) && r != '\n') || isBidiControl(r) {
				t.Errorf("Sanitize(%q) kept %U", in, r)
			}
		}
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("\x1b[31mhi\x1b]0;t\x07你好\r\n\u202e")
	f.Fuzz(func(t *testing.T, in string) {
		out := Sanitize(in)
		for _, r := range out {
			if (unicode.IsControl(r) && r != '\n') || isBidiControl(r) {
				t.Fatalf("Sanitize(%q) = %q keeps %U", in, out, r)
			}
		}
		if Sanitize(out) != out {
			t.Fatalf("Sanitize not idempotent on %q", in)
		}
		if strings.Contains(oneLine(in), "\n") {
			t.Fatalf("oneLine(%q) has a newline", in)
		}
	})
}

func TestOneLine(t *testing.T) {
	if got := oneLine("bob\nfake: hi\r"); got != "bob fake: hi " {
		t.Errorf("oneLine = %q", got)
	}
}
