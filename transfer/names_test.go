package transfer

import (
	"errors"
	"strings"
	"testing"
)

func TestSanitizeName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("长", 100) + ".pdf" // 304 bytes
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{"plain", "report.pdf", "report.pdf", false},
		{"nested chinese", "照片/2024/海边.jpg", "照片/2024/海边.jpg", false},
		{"dot segments dropped", "./a//b/./c", "a/b/c", false},
		{"dotdot", "../../.bashrc", "", true},
		{"dotdot inside", "a/../../b", "", true},
		{"dotdot backslash", `a\..\..\b`, "", true},
		{"absolute", "/etc/passwd", "", true},
		{"absolute backslash", `\\server\share\x`, "", true},
		{"drive letter", `C:\x`, "", true},
		{"drive letter relative", "c:x", "", true},
		{"newline", "a\nb.txt", "a_b.txt", false},
		{"escape", "\x1b[2Jevil", "_[2Jevil", false},
		{"bidi override", "invoice\u202egpj.exe", "invoice_gpj.exe", false},
		{"windows chars", `a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h", false},
		{"trailing dots and spaces", "name. . ", "name", false},
		{"only dots", "...", "_", false},
		{"device", "CON", "_CON", false},
		{"device ext", "nul.txt", "_nul.txt", false},
		{"device in folder", "x/com1.log", "x/_com1.log", false},
		{"not a device", "console.txt", "console.txt", false},
		{"hidden is fine", ".bashrc", ".bashrc", false},
		{"partial dir", ".p2pchat-partial/x", "_.p2pchat-partial/x", false},
		{"long component", long, strings.Repeat("长", 83) + ".pdf", false},
		{"empty", "", "", true},
		{"only slashes", "//./", "", true},
		{"too deep", strings.Repeat("d/", 33) + "f", "", true},
		{"deep enough", strings.Repeat("d/", 32) + "f", strings.Repeat("d/", 32) + "f", false},
		{"not utf8", "a\xffb", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SanitizeName(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrBadName) {
					t.Fatalf("SanitizeName(%q) = %q, %v; want ErrBadName", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SanitizeName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if again, err := SanitizeName(got); err != nil || again != got {
				t.Errorf("not idempotent: %q -> %q, %v", got, again, err)
			}
			for _, c := range strings.Split(got, "/") {
				if len(c) > maxComponentBytes {
					t.Errorf("component of %d bytes", len(c))
				}
			}
		})
	}
}

func TestNumbered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		i    int
		want string
	}{
		{"report.pdf", 1, "report (1).pdf"},
		{"dir/report.pdf", 2, "dir/report (2).pdf"},
		{".bashrc", 1, ".bashrc (1)"},
		{"noext", 3, "noext (3)"},
		{"a.tar.gz", 1, "a.tar (1).gz"},
		{strings.Repeat("x", 251) + ".txt", 1, strings.Repeat("x", 247) + " (1).txt"},
	}
	for _, tt := range tests {
		if got := numbered(tt.in, tt.i); got != tt.want {
			t.Errorf("numbered(%q, %d) = %q, want %q", tt.in, tt.i, got, tt.want)
		}
	}
}
