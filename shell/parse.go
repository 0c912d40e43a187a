package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CommandKind says what a typed line asks for.
type CommandKind int

// The kinds of command Parse returns.
const (
	CmdNone      CommandKind = iota // blank line: do nothing
	CmdSay                          // plain text (or "//text"): send Text to the current target
	CmdTo                           // /to NAME [TEXT]: send Text to Name, or with no Text make Name the target
	CmdAll                          // /all [TEXT]: send Text to everyone, or with no Text make everyone the target
	CmdPeers                        // /peers
	CmdNick                         // /nick NAME
	CmdWhois                        // /whois [NAME] (no name: yourself)
	CmdTrust                        // /trust NAME
	CmdHelp                         // /help
	CmdQuit                         // /quit
	CmdAway                         // /away [TEXT]: set (or with no Text clear) the away text
	CmdHistory                      // /history [NAME] [N]: the last N lines (Count), with NAME only
	CmdSend                         // /send NAME PATH...: offer files and folders (Paths) to Name
	CmdAccept                       // /accept ID
	CmdReject                       // /reject ID
	CmdCancel                       // /cancel ID
	CmdTransfers                    // /transfers
	CmdUnsend                       // /unsend NAME: drop the messages waiting for NAME
	CmdPaste                        // /paste [NAME]: the lines up to /end are one message, to Name or the current target
	CmdEnd                          // /end: closes a /paste block
	CmdMe                           // /me TEXT: send Text as an action to the current target
	CmdNotify                       // /notify [on|off] (in Name)
	CmdIgnore                       // /ignore [NAME]: ignore Name's key; no Name: list
	CmdUnignore                     // /unignore NAME
	CmdSearch                       // /search TEXT: the saved messages holding Text
)

var kindNames = [...]string{"none", "say", "to", "all", "peers", "nick", "whois", "trust", "help", "quit", "away", "history", "send", "accept", "reject", "cancel", "transfers", "unsend", "paste", "end", "me", "notify", "ignore", "unignore", "search"}

func (k CommandKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("CommandKind(%d)", int(k))
}

// Command is one parsed input line.
type Command struct {
	Kind  CommandKind
	Name  string   // peer name for CmdTo, CmdWhois, CmdTrust, CmdUnsend; new nickname for CmdNick
	Text  string   // message text for CmdSay, CmdTo, CmdAll; away text for CmdAway
	Count int      // CmdHistory: how many lines (0: the default); CmdAccept, CmdReject, CmdCancel: the transfer id
	Paths []string // CmdSend: the files and folders, unquoted
}

// commands maps every command word (without the slash) to its kind,
// aliases included.
var commands = map[string]CommandKind{
	"to":        CmdTo,
	"msg":       CmdTo,
	"w":         CmdTo,
	"all":       CmdAll,
	"peers":     CmdPeers,
	"nick":      CmdNick,
	"whois":     CmdWhois,
	"trust":     CmdTrust,
	"help":      CmdHelp,
	"quit":      CmdQuit,
	"exit":      CmdQuit,
	"away":      CmdAway,
	"history":   CmdHistory,
	"send":      CmdSend,
	"accept":    CmdAccept,
	"reject":    CmdReject,
	"cancel":    CmdCancel,
	"transfers": CmdTransfers,
	"unsend":    CmdUnsend,
	"paste":     CmdPaste,
	"end":       CmdEnd,
	"me":        CmdMe,
	"notify":    CmdNotify,
	"ignore":    CmdIgnore,
	"unignore":  CmdUnignore,
	"search":    CmdSearch,
}

// commandWords lists the commands offered by tab completion and by "did you
// mean", in the order /help shows them.
var commandWords = []string{"/to", "/all", "/me", "/peers", "/nick", "/whois", "/trust", "/away", "/history", "/search", "/send", "/accept", "/reject", "/cancel", "/transfers", "/paste", "/end", "/notify", "/ignore", "/unignore", "/help", "/quit", "/msg", "/w", "/exit"}

// commandNames is commandWords without the slashes.
func commandNames() []string {
	names := make([]string, len(commandWords))
	for i, w := range commandWords {
		names[i] = strings.TrimPrefix(w, "/")
	}
	return names
}

// ErrUnknownCommand is wrapped by the error Parse returns for a line that
// starts with a slash but names no command.
var ErrUnknownCommand = errors.New("unknown command")

// ErrUsage is wrapped by the error Parse returns for a command given the
// wrong arguments.
var ErrUsage = errors.New("usage")

// Parse turns one input line into a Command. It never touches the network.
//
// A line not starting with '/' is text for the current target; "//text"
// sends "/text". Command words are case-insensitive. A trailing carriage
// return (from CRLF input) is dropped. A blank line is CmdNone.
func Parse(line string) (Command, error) {
	line = strings.TrimSuffix(line, "\r")
	if strings.TrimSpace(line) == "" {
		return Command{Kind: CmdNone}, nil
	}
	if !strings.HasPrefix(line, "/") {
		return Command{Kind: CmdSay, Text: line}, nil
	}
	if strings.HasPrefix(line, "//") {
		return Command{Kind: CmdSay, Text: line[1:]}, nil
	}
	word, rest := cutSpace(line[1:])
	kind, ok := commands[strings.ToLower(word)]
	if !ok {
		w := oneLine("/" + word)
		if near, ok := closest(w[1:], commandNames()); ok {
			return Command{}, fmt.Errorf("%w %s (did you mean /%s?)", ErrUnknownCommand, w, near)
		}
		return Command{}, fmt.Errorf("%w %s (try /help)", ErrUnknownCommand, w)
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	cmd := Command{Kind: kind}
	switch kind {
	case CmdTo:
		name, text := cutSpace(rest)
		if name == "" {
			return Command{}, fmt.Errorf("%w: /%s NAME [TEXT]", ErrUsage, strings.ToLower(word))
		}
		cmd.Name = name
		cmd.Text = strings.TrimLeftFunc(text, unicode.IsSpace)
	case CmdAll:
		cmd.Text = rest
	case CmdMe:
		if strings.TrimSpace(rest) == "" {
			return Command{}, fmt.Errorf("%w: /me TEXT", ErrUsage)
		}
		cmd.Text = rest
	case CmdNick, CmdTrust, CmdUnsend:
		name := strings.TrimSpace(rest)
		if name == "" {
			return Command{}, fmt.Errorf("%w: /%s NAME", ErrUsage, kind)
		}
		cmd.Name = name
	case CmdAway:
		cmd.Text = strings.TrimSpace(rest)
	case CmdHistory:
		for _, f := range strings.Fields(rest) {
			if n, err := strconv.Atoi(f); err == nil && cmd.Count == 0 {
				if n < 1 {
					return Command{}, fmt.Errorf("%w: /history [NAME] [N] (N at least 1)", ErrUsage)
				}
				cmd.Count = n
			} else if cmd.Name == "" {
				cmd.Name = f
			} else {
				return Command{}, fmt.Errorf("%w: /history [NAME] [N]", ErrUsage)
			}
		}
	case CmdSend:
		name, paths := cutSpace(rest)
		list, err := splitPaths(paths)
		if err != nil {
			return Command{}, fmt.Errorf("%w: /send NAME PATH...: %v", ErrUsage, err)
		}
		if name == "" || len(list) == 0 {
			return Command{}, fmt.Errorf("%w: /send NAME PATH... (quote paths with spaces: \"my file.pdf\")", ErrUsage)
		}
		cmd.Name, cmd.Paths = name, list
	case CmdAccept, CmdReject, CmdCancel:
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 1 {
			return Command{}, fmt.Errorf("%w: /%s ID (the number /transfers shows)", ErrUsage, kind)
		}
		cmd.Count = n
	case CmdSearch:
		cmd.Text = strings.TrimSpace(rest)
		if cmd.Text == "" {
			return Command{}, fmt.Errorf("%w: /search TEXT", ErrUsage)
		}
	case CmdNotify, CmdIgnore:
		cmd.Name = strings.TrimSpace(rest)
	case CmdUnignore:
		cmd.Name = strings.TrimSpace(rest)
		if cmd.Name == "" {
			return Command{}, fmt.Errorf("%w: /unignore NAME", ErrUsage)
		}
	case CmdPaste:
		name, extra := cutSpace(rest)
		if strings.TrimSpace(extra) != "" {
			return Command{}, fmt.Errorf("%w: /paste [NAME], then the lines, then /end", ErrUsage)
		}
		cmd.Name = name
	case CmdWhois:
		name, extra := cutSpace(rest)
		if strings.TrimSpace(extra) != "" {
			return Command{}, fmt.Errorf("%w: /whois [NAME]", ErrUsage)
		}
		cmd.Name = name
	}
	// CmdPeers, CmdHelp, CmdQuit ignore anything after the word.
	return cmd, nil
}

// cutSpace splits s at its first white space: the word before it and
// everything after that one white-space character.
func cutSpace(s string) (word, rest string) {
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	return s[:i], s[i+size:]
}

// splitPaths splits the paths of /send at white space, keeping what is
// inside "double" or 'single' quotes together; a backslash outside single
// quotes takes the next character as it is.
func splitPaths(s string) ([]string, error) {
	args, open, escaped := scanArgs(s)
	if open != 0 {
		return nil, errors.New("a quote is not closed")
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a.text
	}
	if escaped { // a backslash at the very end stands for itself
		out[len(out)-1] += "\\"
	}
	return out, nil
}

// shellArg is one argument of a line, as splitPaths reads it: where it
// is in the line (end is len(line) for one still open at the end) and its
// text without quotes and escapes.
type shellArg struct {
	start, end int
	text       string
}

// scanArgs splits s the way splitPaths reads it, for it and for Tab
// completion (pathcomplete.go): the arguments, the quote still open at
// the end (0 if none), and whether s ends in a lone backslash.
func scanArgs(s string) (args []shellArg, open rune, escaped bool) {
	var cur strings.Builder
	in, start := false, 0
	for i, r := range s {
		if !in && !unicode.IsSpace(r) {
			start, in = i, true
			cur.Reset()
		}
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && open != '\'':
			escaped = true
		case open != 0:
			if r == open {
				open = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			open = r
		case unicode.IsSpace(r):
			if in {
				args = append(args, shellArg{start, i, cur.String()})
				in = false
			}
		default:
			cur.WriteRune(r)
		}
	}
	if in {
		args = append(args, shellArg{start, len(s), cur.String()})
	}
	return args, open, escaped
}
