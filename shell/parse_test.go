package shell

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		line string
		want Command
		err  string // expected error text; "" = no error
	}{
		{"", Command{Kind: CmdNone}, ""},
		{"   ", Command{Kind: CmdNone}, ""},
		{"\r", Command{Kind: CmdNone}, ""},
		{"hello", Command{Kind: CmdSay, Text: "hello"}, ""},
		{"  indented text ", Command{Kind: CmdSay, Text: "  indented text "}, ""},
		{"hello\r", Command{Kind: CmdSay, Text: "hello"}, ""},
		{"你好，世界", Command{Kind: CmdSay, Text: "你好，世界"}, ""},
		{"//etc/passwd is a path", Command{Kind: CmdSay, Text: "/etc/passwd is a path"}, ""},
		{"//", Command{Kind: CmdSay, Text: "/"}, ""},
		{"/to bob hi there", Command{Kind: CmdTo, Name: "bob", Text: "hi there"}, ""},
		{"/to bob   hi  there ", Command{Kind: CmdTo, Name: "bob", Text: "hi  there "}, ""},
		{"/to\tbob\thi", Command{Kind: CmdTo, Name: "bob", Text: "hi"}, ""},
		{"/to 小明 你好", Command{Kind: CmdTo, Name: "小明", Text: "你好"}, ""},
		{"/to bob@laptop2 hi", Command{Kind: CmdTo, Name: "bob@laptop2", Text: "hi"}, ""},
		{"/to bob", Command{Kind: CmdTo, Name: "bob"}, ""},
		{"/to bob   ", Command{Kind: CmdTo, Name: "bob"}, ""},
		{"/TO bob hi", Command{Kind: CmdTo, Name: "bob", Text: "hi"}, ""},
		{"/msg bob hi", Command{Kind: CmdTo, Name: "bob", Text: "hi"}, ""},
		{"/w bob hi", Command{Kind: CmdTo, Name: "bob", Text: "hi"}, ""},
		{"/to", Command{}, "usage: /to NAME [TEXT]"},
		{"/msg  ", Command{}, "usage: /msg NAME [TEXT]"},
		{"/all hello everyone", Command{Kind: CmdAll, Text: "hello everyone"}, ""},
		{"/all    hello", Command{Kind: CmdAll, Text: "hello"}, ""},
		{"/all", Command{Kind: CmdAll}, ""},
		{"/all   ", Command{Kind: CmdAll}, ""},
		{"/peers", Command{Kind: CmdPeers}, ""},
		{"/peers please", Command{Kind: CmdPeers}, ""},
		{"/nick robert", Command{Kind: CmdNick, Name: "robert"}, ""},
		{"/nick  robert  ", Command{Kind: CmdNick, Name: "robert"}, ""},
		{"/nick two words", Command{Kind: CmdNick, Name: "two words"}, ""}, // refused later by ValidName
		{"/nick", Command{}, "usage: /nick NAME"},
		{"/whois bob", Command{Kind: CmdWhois, Name: "bob"}, ""},
		{"/whois", Command{Kind: CmdWhois}, ""},
		{"/whois bob carol", Command{}, "usage: /whois [NAME]"},
		{"/trust bob", Command{Kind: CmdTrust, Name: "bob"}, ""},
		{"/trust", Command{}, "usage: /trust NAME"},
		{"/help", Command{Kind: CmdHelp}, ""},
		{"/quit", Command{Kind: CmdQuit}, ""},
		{"/exit", Command{Kind: CmdQuit}, ""},
		{"/Quit\r", Command{Kind: CmdQuit}, ""},
		{"/foo", Command{}, "unknown command /foo (try /help)"},
		{"/peer", Command{}, "unknown command /peer (did you mean /peers?)"},
		{"/qiut", Command{}, "unknown command /qiut (did you mean /quit?)"},
		{"/wohis bob", Command{}, "unknown command /wohis (did you mean /whois?)"},
		{"/", Command{}, "unknown command / (try /help)"},
		{"/\x1b[31mred", Command{}, "unknown command /red (try /help)"},
		{"/send bob a.pdf", Command{Kind: CmdSend, Name: "bob", Paths: []string{"a.pdf"}}, ""},
		{`/send bob "my report.pdf" 'it''s' dir/ a\ b "照片 2024"`, Command{Kind: CmdSend, Name: "bob", Paths: []string{"my report.pdf", "its", "dir/", "a b", "照片 2024"}}, ""},
		{`/send bob "" x`, Command{Kind: CmdSend, Name: "bob", Paths: []string{"", "x"}}, ""},
		{"/send bob", Command{}, `usage: /send NAME PATH... (quote paths with spaces: "my file.pdf")`},
		{`/send bob "open`, Command{}, "usage: /send NAME PATH...: a quote is not closed"},
		{"/accept 3", Command{Kind: CmdAccept, Count: 3}, ""},
		{"/reject  12 ", Command{Kind: CmdReject, Count: 12}, ""},
		{"/cancel x", Command{}, "usage: /cancel ID (the number /transfers shows)"},
		{"/accept 0", Command{}, "usage: /accept ID (the number /transfers shows)"},
		{"/transfers", Command{Kind: CmdTransfers}, ""},
	}
	for _, tt := range tests {
		got, err := Parse(tt.line)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Parse(%q) error = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q) error = %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseErrorKinds(t *testing.T) {
	if _, err := Parse("/nope"); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("unknown command: %v does not wrap ErrUnknownCommand", err)
	}
	if _, err := Parse("/trust"); !errors.Is(err, ErrUsage) {
		t.Errorf("missing argument: %v does not wrap ErrUsage", err)
	}
}

func TestCommandKindString(t *testing.T) {
	if got := CmdWhois.String(); got != "whois" {
		t.Errorf("CmdWhois.String() = %q", got)
	}
	if got := CommandKind(99).String(); !strings.Contains(got, "99") {
		t.Errorf("CommandKind(99).String() = %q", got)
	}
}

// TestSplitPathsAndLastArg: /send's paths and the argument Tab completes
// are read by the same rules (scanArgs).
func TestSplitPathsAndLastArg(t *testing.T) {
	for _, c := range []struct {
		in        string
		paths     []string // nil: an error (open quote)
		lastStart int
		lastText  string
		lastOpen  rune
	}{
		{`a b`, []string{"a", "b"}, 2, "b", 0},
		{`"my file.pdf" x`, []string{"my file.pdf", "x"}, 14, "x", 0},
		{`a\ b`, []string{"a b"}, 0, "a b", 0},
		{`'a\b' c`, []string{`a\b`, "c"}, 6, "c", 0},
		{`"" x`, []string{"", "x"}, 3, "x", 0},
		{`x\`, []string{`x\`}, 0, "x", 0},
		{`x `, []string{"x"}, 2, "", 0},
		{`a "my fi`, nil, 2, "my fi", '"'},
		{`  `, []string{}, 2, "", 0},
	} {
		got, err := splitPaths(c.in)
		if c.paths == nil {
			if err == nil {
				t.Errorf("splitPaths(%q) = %q, want an error (open quote)", c.in, got)
			}
		} else if err != nil || !slices.Equal(got, c.paths) {
			t.Errorf("splitPaths(%q) = %q, %v; want %q", c.in, got, err, c.paths)
		}
		start, text, open := lastArg(c.in)
		if start != c.lastStart || text != c.lastText || open != c.lastOpen {
			t.Errorf("lastArg(%q) = %d %q %q; want %d %q %q", c.in, start, text, open, c.lastStart, c.lastText, c.lastOpen)
		}
	}
}
