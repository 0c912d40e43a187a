//go:build linux

package shell

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/p2pchat/p2pchat/internal/tmuxtest"
	"github.com/p2pchat/p2pchat/peer"
)

// These tests look at the interactive shell the way a person does: the test
// binary runs itself (TestHelperShell) in a tmux pane, types with
// send-keys, and reads the screen with capture-pane. The helper's fake node
// writes every Send to a file and emits an incoming message whenever the
// test drops a file "msgN" into the shared directory.

const (
	helperEnv       = "P2PCHAT_SHELL_HELPER_DIR"
	helperNotifyEnv = "P2PCHAT_SHELL_HELPER_NOTIFY"
	screenWait      = 15 * time.Second
	pollInterval    = 20 * time.Millisecond
)

// TestHelperShell is not a test: it is the process inside the tmux pane.
func TestHelperShell(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for the tmux tests; runs only inside tmux")
	}
	writeAtomic(filepath.Join(dir, "pid"), strconv.Itoa(os.Getpid()))

	n := newFakeNode(testPeers()...)
	var sent []byte // onSend runs in the shell's command loop only
	n.onSend = func(c sendCall) {
		b, _ := json.Marshal(c)
		sent = append(sent, append(b, '\n')...)
		writeAtomic(filepath.Join(dir, "sent"), string(sent))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() { // the network, as far as this test is concerned
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 1; ; {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			text, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("msg%d", i)))
			if err != nil {
				continue
			}
			to, from := "all", "bob"
			if t, ok := strings.CutPrefix(string(text), "to-me:"); ok {
				to, text = n.Name(), []byte(t)
			}
			if t, ok := strings.CutPrefix(string(text), "rename:"); ok { // rename:OLD:NEW
				old, name, _ := strings.Cut(t, ":")
				n.events <- peer.Event{Kind: peer.EvRenamed, OldName: old, Peer: name, PeerID: "k1", Time: time.Now()}
				i++
				continue
			}
			if t, ok := strings.CutPrefix(string(text), "from:"); ok { // from:NAME:TEXT
				from, t, _ = strings.Cut(t, ":")
				text = []byte(t)
			}
			n.events <- peer.Event{Kind: peer.EvMessage, Peer: from, PeerID: "k1", To: to, Text: string(text), Time: time.Now()}
			i++
		}
	}()

	before, err := termios(0)
	if err != nil {
		t.Fatalf("stdin is not a terminal: %v", err)
	}
	runErr := Run(ctx, Config{
		Node: n, In: os.Stdin, Out: os.Stdout, Interactive: true, Color: true, Bell: true,
		HistoryFile: filepath.Join(dir, "history"), LogFile: filepath.Join(dir, "conversations.log"),
		Notify: os.Getenv(helperNotifyEnv),
	})
	after, err := termios(0)
	restored := err == nil && after == before
	writeAtomic(filepath.Join(dir, "result"), fmt.Sprintf("err=%v restored=%v", runErr, restored))
}

// writeAtomic writes a file the other process polls for, so it never sees
// it half written.
func writeAtomic(name, content string) {
	tmp := name + ".tmp"
	if os.WriteFile(tmp, []byte(content), 0o600) == nil {
		os.Rename(tmp, name)
	}
}

// termios reads the terminal settings of fd.
func termios(fd uintptr) (syscall.Termios, error) {
	var t syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return t, e
	}
	return t, nil
}

// pane is a tmux pane (internal/tmuxtest) running TestHelperShell.
type pane struct {
	*tmuxtest.Pane
	t    *testing.T
	dir  string
	msgs int
}

func startPane(t *testing.T) *pane {
	t.Helper()
	return startPaneIn(t, false)
}

// startPaneIn starts the pane; with underShell the helper runs under a
// shell that waits for it, as in a terminal, rather than as tmux's own
// child (tmux continues a child that stops, a shell does not).
func startPaneIn(t *testing.T, underShell bool, env ...string) *pane {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &pane{t: t, dir: t.TempDir()}
	// Registered before the pane, so that it runs after the pane's cleanup
	// has killed the tmux server (and so the helper), as before.
	t.Cleanup(func() {
		races, _ := filepath.Glob(filepath.Join(p.dir, "race*"))
		for _, r := range races {
			b, _ := os.ReadFile(r)
			t.Errorf("data race in the helper process:\n%s", b)
		}
	})
	cmd := strings.Join([]string{
		"env", helperEnv + "=" + quote(p.dir), "TERM=xterm-256color", strings.Join(env, " "),
		"GORACE=" + quote("log_path="+filepath.Join(p.dir, "race")+" atexit_sleep_ms=0"), // not a second's wait at exit
		quote(exe), "-test.run=^TestHelperShell$", "-test.count=1",
	}, " ")
	if underShell {
		cmd = "sh -c " + quote(cmd+"; true")
	}
	p.Pane = tmuxtest.Start(t, tmuxtest.Config{Command: cmd, Width: 100, Height: 30, Poll: pollInterval})
	return p
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// typeText types s literally; key presses a named key (Enter, C-c, Tab...).
func (p *pane) typeText(s string) { p.t.Helper(); p.Type(s) }
func (p *pane) key(k string)      { p.t.Helper(); p.Keys(k) }

// screen is the visible pane, trailing spaces removed, and the cursor.
type screen = tmuxtest.Screen

// waitScreen polls the pane until ok accepts it.
func (p *pane) waitScreen(what string, ok func(screen) bool) screen {
	p.t.Helper()
	return p.WaitScreen(screenWait, what, ok)
}

// waitPrompt waits until the last line is exactly prompt+typed with the
// cursor right after the typed text (display width, so 你 counts two).
func (p *pane) waitPrompt(prompt, typed string, width int) screen {
	p.t.Helper()
	want := strings.TrimRight(prompt+typed, " ")
	return p.waitScreen(fmt.Sprintf("prompt line %q, cursor at column %d", want, width), func(s screen) bool {
		i := s.Last()
		return i >= 0 && s.Lines[i] == want && s.CursorY == i && s.CursorX == width
	})
}

// incoming makes the fake node receive a message from bob.
func (p *pane) incoming(text string) {
	p.t.Helper()
	p.msgs++
	tmp := filepath.Join(p.dir, "tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, fmt.Sprintf("msg%d", p.msgs))); err != nil {
		p.t.Fatal(err)
	}
}

// waitFile polls until the helper's file exists and passes ok.
func (p *pane) waitFile(name string, ok func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(screenWait)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(filepath.Join(p.dir, name))
		if err == nil && ok(string(b)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waiting for file %s (now %q, %v); screen:\n%s", name, b, err, p.Capture())
		}
		<-tick.C
	}
}

func (p *pane) waitSent(want ...sendCall) {
	p.t.Helper()
	var lines []string
	for _, c := range want {
		b, _ := json.Marshal(c)
		lines = append(lines, string(b))
	}
	wantText := strings.Join(lines, "\n") + "\n"
	got := p.waitFile("sent", func(s string) bool { return len(s) >= len(wantText) })
	if got != wantText {
		p.t.Fatalf("the node was asked to send\n%s\nwant exactly\n%s", got, wantText)
	}
}

const stampRE = `^\d\d:\d\d `

func TestTmuxInteractive(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPane(t)
	p.waitPrompt("[all]> ", "", 7)

	// Half a line typed, then a message arrives: it must appear above the
	// prompt, and the prompt must still hold the half line, cursor after it.
	p.typeText("hello wor")
	p.waitPrompt("[all]> ", "hello wor", 16)
	p.incoming("incoming 你好 message")
	s := p.waitPrompt("[all]> ", "hello wor", 16)
	s = p.waitScreen("the message above the prompt", func(s screen) bool {
		i := s.Find(stampRE + `bob: incoming 你好 message$`)
		return i >= 0 && i < s.Last() && s.Lines[s.Last()] == "[all]> hello wor"
	})
	if n := strings.Count(strings.Join(s.Lines, "\n"), "hello wor"); n != 1 {
		t.Fatalf("the half-typed line shows %d times (garbled redraw):\n%s", n, s)
	}
	t.Logf("a message arrived while typing:\n%s", s)

	// A hostile multi-line message: the clear-screen is neutralised (the
	// first message stays visible) and the second line is indented.
	p.incoming("\x1b[2J\x1b[Hsecond\r\n14:00 carol: fake")
	s = p.waitScreen("the multi-line message above the prompt", func(s screen) bool {
		i := s.Find(stampRE + `bob: second$`)
		return i > 0 && i+2 == s.Last() && s.Lines[i+1] == "      14:00 carol: fake" &&
			s.Lines[s.Last()] == "[all]> hello wor" && s.CursorX == 16
	})
	if s.Find(`bob: incoming 你好 message$`) < 0 {
		t.Fatalf("an escape sequence in a message cleared the screen:\n%s", s)
	}

	// Finish the line: exactly "hello world" goes to everyone.
	p.typeText("ld")
	p.key("Enter")
	p.waitSent(sendCall{"", "hello world"})
	p.waitPrompt("[all]> ", "", 7)

	// Chinese: two columns per character, backspace removes one character.
	p.typeText("你好世界")
	p.waitPrompt("[all]> ", "你好世界", 15)
	p.key("BSpace")
	p.waitPrompt("[all]> ", "你好世", 13)
	p.incoming("第三条")
	p.waitScreen("the third message above the Chinese prompt", func(s screen) bool {
		i := s.Find(stampRE + `bob: 第三条$`)
		return i >= 0 && i < s.Last() && s.Lines[s.Last()] == "[all]> 你好世" && s.CursorX == 13
	})
	p.key("Enter")
	p.waitSent(sendCall{"", "hello world"}, sendCall{"", "你好世"})

	// Tab completion of a peer name, then a direct message.
	p.waitPrompt("[all]> ", "", 7)
	p.typeText("/to c")
	p.key("Tab")
	p.waitPrompt("[all]> ", "/to carol ", 17)
	p.typeText("secret")
	p.key("Enter")
	p.waitSent(sendCall{"", "hello world"}, sendCall{"", "你好世"}, sendCall{"k2", "secret"})

	// /to NAME changes the prompt; a typo gets one line and no send.
	p.waitPrompt("[all]> ", "", 7)
	p.typeText("/to bob")
	p.key("Enter")
	p.waitPrompt("[bob]> ", "", 7)
	p.typeText("/to bobb hi")
	p.key("Enter")
	p.waitScreen("the typo answer", func(s screen) bool {
		i := s.Find(`^! no peer named bobb \(did you mean bob\?\)$`)
		return i >= 0 && i+1 == s.Last() && s.Lines[i+1] == "[bob]>"
	})

	// Ctrl-C clears the line and keeps going; nothing is sent.
	p.typeText("discard me")
	p.waitPrompt("[bob]> ", "discard me", 17)
	p.key("C-c")
	p.waitScreen("a fresh prompt after Ctrl-C", func(s screen) bool {
		i := s.Last()
		return s.Lines[i] == "[bob]>" && i > 0 && s.Lines[i-1] == "[bob]> discard me^C"
	})

	// Ctrl-D leaves: Run returns nil with the terminal as it found it.
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
	p.waitSent(sendCall{"", "hello world"}, sendCall{"", "你好世"}, sendCall{"k2", "secret"})
	hist, err := os.ReadFile(filepath.Join(p.dir, "history"))
	if err != nil || !strings.Contains(string(hist), "hello world\n你好世\n/to carol secret\n") {
		t.Errorf("history file: %q, %v", hist, err)
	}
}

// TestTmuxCancelRestoresTerminal: main cancels ctx on SIGTERM while the user
// is typing; Run must return at once (liner's Prompt is still blocked on
// stdin) and leave the terminal as it found it.
func TestTmuxCancelRestoresTerminal(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPane(t)
	p.waitPrompt("[all]> ", "", 7)
	p.typeText("half a li")
	p.waitPrompt("[all]> ", "half a li", 16)
	pid, err := strconv.Atoi(p.waitFile("pid", func(s string) bool { return s != "" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "sent")); err == nil {
		t.Errorf("the half line was sent")
	}
}

// TestTmuxSendCompletion: Tab after "/send bob " completes paths on
// screen: the common part of two names with a space (quoted), then a
// folder (left open, with its '/'), then the file in it (closed).
func TestTmuxSendCompletion(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPane(t)
	d := filepath.Join(p.dir, "files")
	for _, f := range []string{"my file.txt", "my folder/inner.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(d, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.waitPrompt("[all]> ", "", 7)
	typed := "/send bob " + d + "/my"
	p.typeText(typed)
	p.waitPrompt("[all]> ", typed, 7+len(typed))
	p.key("Tab")
	typed = `/send bob "` + d + "/my f"
	p.waitPrompt("[all]> ", typed, 7+len(typed))
	p.typeText("o")
	p.key("Tab")
	typed = `/send bob "` + d + "/my folder/"
	p.waitPrompt("[all]> ", typed, 7+len(typed))
	p.key("Tab")
	typed = `/send bob "` + d + `/my folder/inner.txt" `
	s := p.waitPrompt("[all]> ", typed, 7+len(typed))
	t.Logf("after three Tabs:\n%s", s)
	p.key("C-c")
	p.waitPrompt("[all]> ", "", 7)
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
}

// TestTmuxPaste: a 5-line block pasted (bracketed paste) after half a typed
// line is shown in the line, and Enter sends it all as one message with its
// line breaks, shown above the prompt as one message; a paste too long for
// a message is saved as a file and /send of it offered.
func TestTmuxPaste(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPane(t)
	p.waitPrompt("[all]> ", "", 7)
	p.typeText("look: ")
	p.Paste("one\ntwo\nthree\nfour\nfive\n")
	p.waitPrompt("[all]> ", "look: one␤two␤three␤four␤five", 7+utf8.RuneCountInString("look: one␤two␤three␤four␤five"))
	if _, err := os.Stat(filepath.Join(p.dir, "sent")); err == nil {
		t.Fatalf("the paste was sent before Enter")
	}
	p.key("Enter")
	p.waitSent(sendCall{"", "look: one\ntwo\nthree\nfour\nfive"})
	s := p.waitScreen("the message shown with its lines", func(s screen) bool {
		i := s.Find(stampRE + `you → all: look: one$`)
		return i >= 0 && i+5 < len(s.Lines) && s.Lines[i+4] == indent+"five" && s.Lines[s.Last()] == "[all]>"
	})
	t.Logf("after the paste:\n%s", s)

	// Alt-Enter types a line break by hand.
	p.typeText("by")
	p.Input("\x1b\r")
	p.typeText("hand")
	p.waitPrompt("[all]> ", "by␤hand", 7+len("by␤hand")-2)
	p.key("Enter")
	p.waitSent(sendCall{"", "look: one\ntwo\nthree\nfour\nfive"}, sendCall{"", "by\nhand"})

	// Too long for a message: told, saved, and /send offered on the prompt.
	big := strings.Repeat("0123456789 abcdefghijklmnopqrstuvwxyz\n", 1000) // 38,000 bytes
	p.typeText("/to bob ")
	p.Paste(big)
	p.waitPrompt("[all]> ", "/to bob [pasted 1000 lines]", 7+len("/to bob [pasted 1000 lines]"))
	p.key("Enter")
	s = p.waitScreen("the offer", func(s screen) bool {
		return s.Find(`^! message too long: 37999 bytes, at most 32768; nothing sent`) >= 0 &&
			s.Find(`^\* press Enter to send it to bob as a file$`) >= 0 &&
			strings.HasPrefix(s.Lines[s.Last()], "[all]> /send bob ")
	})
	t.Logf("the offer:\n%s", s)
	saved, _ := filepath.Glob(filepath.Join(p.dir, "pastes", "paste-*.txt"))
	if len(saved) != 1 {
		t.Fatalf("saved pastes: %v", saved)
	}
	if b, err := os.ReadFile(saved[0]); err != nil || string(b) != big {
		t.Errorf("saved paste: %d bytes, %v; want the %d pasted", len(b), err, len(big))
	}
	p.key("C-c")
	p.waitPrompt("[all]> ", "", 7)
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
	p.waitSent(sendCall{"", "look: one\ntwo\nthree\nfour\nfive"}, sendCall{"", "by\nhand"})
}

// TestTmuxSuspend: Ctrl-Z at the prompt stops p2pchat with the terminal
// given back as it was (canonical mode, echo); when continued, the prompt
// is back and typing works.
func TestTmuxSuspend(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPaneIn(t, true)
	p.waitPrompt("[all]> ", "", 7)
	tty := strings.TrimSpace(p.Tmux("display-message", "-p", "-t", "main", "#{pane_tty}"))
	stty := func() string {
		out, err := exec.Command("stty", "-F", tty, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("stty: %v: %s", err, out)
		}
		return " " + strings.Join(strings.Fields(string(out)), " ") + " "
	}
	if m := stty(); !strings.Contains(m, " -icanon ") {
		t.Fatalf("not in raw mode at the prompt: %s", m)
	}
	pid, err := strconv.Atoi(p.waitFile("pid", func(s string) bool { return s != "" }))
	if err != nil {
		t.Fatal(err)
	}
	p.typeText("ab")
	p.key("C-z")
	deadline := time.Now().Add(screenWait)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !stopped(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("not stopped after Ctrl-Z")
		}
		<-tick.C
	}
	if m := stty(); !strings.Contains(m, " icanon ") || !strings.Contains(m, " echo ") {
		t.Errorf("stopped with the terminal in raw mode: %s", m)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	p.typeText("c")
	p.waitPrompt("[all]> ", "abc", 10)
	p.key("Enter")
	p.waitSent(sendCall{"", "abc"})
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
}

// stopped reports whether process pid is stopped (state T in /proc).
func stopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'T'
}

// TestTmuxMe: /me sends an action; one received is shown "* bob TEXT".
func TestTmuxMe(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPane(t)
	p.waitPrompt("[all]> ", "", 7)
	p.typeText("/me nods")
	p.key("Enter")
	p.waitSent(sendCall{"", "/me nods"})
	p.incoming("/me waves back")
	p.waitScreen("the action", func(s screen) bool {
		i := s.Find(stampRE + `\* bob waves back$`)
		return i >= 0 && s.Lines[s.Last()] == "[all]>"
	})
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
}

// TestTmuxNotify: with -notify, a direct message and a mention of the
// user's name run the notifier with a title and a body; a message without
// a mention does not, nor anything while the terminal reports the focus
// in; /notify off stops it.
func TestTmuxNotify(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	dir := t.TempDir()
	record := filepath.Join(dir, "notified")
	script := filepath.Join(dir, "notify")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >> "+quote(record)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := startPaneIn(t, false, helperNotifyEnv+"="+quote(script))
	notified := func(want string) {
		t.Helper()
		p.waitScreen("the notifier's record "+want, func(screen) bool {
			b, _ := os.ReadFile(record)
			return string(b) == want
		})
	}
	p.waitPrompt("[all]> ", "", 7)
	p.incoming("hello everyone, malice aforethought")
	p.incoming("ping ALICE: the build is -red-")
	notified("p2pchat: bob mentioned you|ping ALICE: the build is -red-\n")
	p.incoming("to-me:psst\n\x1b[31msecond line")
	want := "p2pchat: bob mentioned you|ping ALICE: the build is -red-\np2pchat: bob (to you)|psst second line\n"
	notified(want)
	s := p.waitScreen("the mention highlighted", func(s screen) bool {
		return s.Find(stampRE+`bob: ping ALICE: the build is -red-$`) >= 0
	})
	t.Logf("screen:\n%s", s)

	// The terminal reports the focus in: nothing is notified.
	p.Input("\x1b[I") // as a terminal reports it: in one write
	p.typeText("/notify")
	p.key("Enter")
	p.waitScreen("/notify's answer", func(s screen) bool {
		return s.Find(`^\* notifications on, but not while this window has the focus \(as now\)$`) >= 0
	})
	p.incoming("to-me:while focused")
	p.waitScreen("the message", func(s screen) bool { return s.Find(`bob → you: while focused$`) >= 0 })
	// Focus out: notified again; /notify off: not.
	p.Input("\x1b[O")
	p.typeText("/notify off")
	p.key("Enter")
	// (typed lines and the node's events reach the shell by different
	// ways: the message is sent only once the shell has taken the command)
	p.waitScreen("/notify off's answer", func(s screen) bool { return s.Find(`^\* notifications off$`) >= 0 })
	p.incoming("to-me:while off")
	p.waitScreen("the message", func(s screen) bool { return s.Find(`bob → you: while off$`) >= 0 })
	p.typeText("/notify on")
	p.key("Enter")
	p.waitScreen("/notify on's answer", func(s screen) bool { return s.Find(`^\* notifications on: `) >= 0 })
	p.incoming("to-me:back on")
	notified(want + "p2pchat: bob (to you)|back on\n")
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
	if b, _ := os.ReadFile(record); string(b) != want+"p2pchat: bob (to you)|back on\n" {
		t.Errorf("notifier calls:\n%s", b)
	}
}

// TestTmuxColourByID: bob's name has the same colour on screen before and
// after he renames himself.
func TestTmuxColourByID(t *testing.T) {
	t.Parallel() // its own tmux server and helper process: waits on them beside the others
	p := startPane(t)
	p.waitPrompt("[all]> ", "", 7)
	p.incoming("before the rename")
	p.incoming("rename:bob:robert")
	p.incoming("from:robert:after the rename")
	p.waitScreen("the message after the rename", func(s screen) bool { return s.Find(`robert: after the rename$`) >= 0 })
	raw := p.Tmux("capture-pane", "-p", "-e", "-t", "main")
	sgr := regexp.MustCompile(`(\x1b\[[0-9;]*m)(bob|robert)\b`)
	var colours []string
	for _, m := range sgr.FindAllStringSubmatch(raw, -1) {
		colours = append(colours, m[2]+"="+fmt.Sprintf("%q", m[1]))
	}
	t.Logf("names and their colours: %v", colours)
	if len(colours) != 4 { // bob, bob is now robert, robert
		t.Fatalf("found %d coloured names, want 4:\n%q", len(colours), raw)
	}
	first := colours[0][strings.Index(colours[0], "="):]
	for _, c := range colours[1:] {
		if c[strings.Index(c, "="):] != first {
			t.Errorf("colours differ: %v", colours)
		}
	}
	p.key("C-d")
	if got := p.waitFile("result", func(s string) bool { return s != "" }); got != "err=<nil> restored=true" {
		t.Fatalf("helper: %s", got)
	}
}
