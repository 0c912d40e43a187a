// Package tmuxtest runs a command in a tmux pane of a fixed size, on a
// private tmux server, and drives it the way a person does: it types with
// send-keys and reads the screen with capture-pane. Waiting for the screen
// polls capture-pane on a short ticker until a deadline, as a person
// glancing at a terminal would; nothing sleeps to let something happen.
//
// Start skips the test if tmux is not installed.
package tmuxtest

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// T is what this package needs from a test; testing.TB satisfies it.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Cleanup(f func())
}

// Config is the pane to start.
type Config struct {
	Command string // run in the pane (by tmux, through the default shell)
	Width   int    // columns; 0 means 100
	Height  int    // lines; 0 means 30
	// History is how many lines of scroll-back each capture includes
	// above the screen, with wrapped lines joined; 0 captures the visible
	// screen only, exactly as laid out.
	History int
	// Poll is the interval between captures while waiting; 0 means 20 ms.
	Poll time.Duration
}

// Pane is the one pane of a private tmux server.
type Pane struct {
	t        T
	cfg      Config
	socket   string // tmux -L name
	sockPath string // the socket file, which tmux leaves behind
}

// session is the name of the one session on each private server.
const session = "main"

var servers atomic.Int64

// Start starts a private tmux server (its own socket) whose one session
// runs c.Command in a pane of c.Width x c.Height. The server is killed in
// t.Cleanup; if the test failed, the pane's last screen is logged first.
func Start(t T, c Config) *Pane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skipf("tmux not installed: %v", err)
	}
	if c.Width == 0 {
		c.Width = 100
	}
	if c.Height == 0 {
		c.Height = 30
	}
	if c.Poll == 0 {
		c.Poll = 20 * time.Millisecond
	}
	p := &Pane{t: t, cfg: c, socket: fmt.Sprintf("p2pchat-tmux-%d-%d", os.Getpid(), servers.Add(1))}
	t.Cleanup(func() {
		if t.Failed() {
			if s, err := p.capture(); err == nil {
				t.Logf("tmux pane at the end:\n%s", s)
			} else {
				t.Logf("tmux pane at the end: %v", err)
			}
		}
		exec.Command("tmux", "-L", p.socket, "kill-server").Run()
		if p.sockPath != "" {
			os.Remove(p.sockPath)
		}
	})
	p.Tmux("-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(c.Width), "-y", fmt.Sprint(c.Height), "-s", session, c.Command)
	p.sockPath = strings.TrimSpace(p.Tmux("display-message", "-p", "-t", session, "#{socket_path}"))
	return p
}

// Tmux runs a tmux command on the pane's server and returns its output,
// failing the test if it fails.
func (p *Pane) Tmux(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("tmux %q: %v", args, err)
	}
	return out
}

func (p *Pane) run(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	return string(out), nil
}

// Type types text literally (send-keys -l).
func (p *Pane) Type(text string) {
	p.t.Helper()
	if text != "" {
		p.Tmux("send-keys", "-t", session, "-l", text)
	}
}

// Keys presses named keys: Enter, Tab, BSpace, C-c, C-d...
func (p *Pane) Keys(keys ...string) {
	p.t.Helper()
	p.Tmux(append([]string{"send-keys", "-t", session}, keys...)...)
}

// Screen is one capture of the pane.
type Screen struct {
	// Lines are the captured lines (Config.History of scroll-back, then
	// the screen), trailing spaces and trailing empty lines removed.
	Lines []string
	// CursorX and CursorY are the cursor's column and line, counted from
	// the top left of the visible screen.
	CursorX, CursorY int
}

// Last is the index of the last line (-1 if the screen is empty).
func (s Screen) Last() int { return len(s.Lines) - 1 }

// Find is the index of the first line matching the regular expression
// re, -1 if none.
func (s Screen) Find(re string) int {
	r := regexp.MustCompile(re)
	for i, l := range s.Lines {
		if r.MatchString(l) {
			return i
		}
	}
	return -1
}

func (s Screen) String() string {
	return fmt.Sprintf("cursor %d,%d\n|%s|", s.CursorX, s.CursorY, strings.Join(s.Lines, "|\n|"))
}

// Capture reads the screen and the cursor, in one tmux command so that
// both are of the same moment.
func (p *Pane) Capture() Screen {
	p.t.Helper()
	s, err := p.capture()
	if err != nil {
		p.t.Fatalf("tmux: %v", err)
	}
	return s
}

func (p *Pane) capture() (Screen, error) {
	args := []string{"capture-pane", "-p", "-t", session}
	if p.cfg.History > 0 {
		args = append(args, "-J", "-S", fmt.Sprint(-p.cfg.History))
	}
	args = append(args, ";", "display-message", "-p", "-t", session, "#{cursor_x} #{cursor_y}")
	out, err := p.run(args...)
	if err != nil {
		return Screen{}, fmt.Errorf("capture-pane: %w", err)
	}
	return parseCapture(out)
}

// parseCapture splits capture-pane's lines from the cursor line that
// display-message printed after them.
func parseCapture(out string) (Screen, error) {
	var s Screen
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if _, err := fmt.Sscanf(lines[len(lines)-1], "%d %d", &s.CursorX, &s.CursorY); err != nil {
		return Screen{}, fmt.Errorf("no cursor position after the capture: %q", lines[len(lines)-1])
	}
	for _, l := range lines[:len(lines)-1] {
		s.Lines = append(s.Lines, strings.TrimRight(l, " "))
	}
	for len(s.Lines) > 0 && s.Lines[len(s.Lines)-1] == "" {
		s.Lines = s.Lines[:len(s.Lines)-1]
	}
	return s, nil
}

// WaitScreen captures the pane every Config.Poll until ok accepts the
// screen, and returns it; at the deadline it fails the test, showing what
// was awaited and the last screen.
func (p *Pane) WaitScreen(timeout time.Duration, what string, ok func(Screen) bool) Screen {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(p.cfg.Poll)
	defer tick.Stop()
	for {
		s := p.Capture()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("tmux: %s: not seen within %v; screen:\n%s", what, timeout, s)
		}
		<-tick.C
	}
}

// Paste pastes text into the pane as a terminal does when the user pastes:
// in bracketed-paste markers if the program asked for them (paste-buffer
// -p), line breaks as carriage returns.
func (p *Pane) Paste(text string) {
	p.t.Helper()
	p.pasteBuffer(text, "-p")
}

// Input sends bytes to the program as they are, in one write, as a
// terminal sends an escape sequence it reports (focus, a key): send-keys
// may split them, and a program waiting a few milliseconds for the rest
// of a sequence would then see a lone ESC.
func (p *Pane) Input(raw string) {
	p.t.Helper()
	p.pasteBuffer(raw, "-r")
}

func (p *Pane) pasteBuffer(text, flag string) {
	p.t.Helper()
	f, err := os.CreateTemp("", "tmuxtest-paste-*")
	if err != nil {
		p.t.Fatalf("tmux paste: %v", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.t.Fatalf("tmux paste: %v", err)
	}
	p.Tmux("load-buffer", "-b", "tmuxtest", f.Name()) // no size limit, unlike set-buffer
	p.Tmux("paste-buffer", flag, "-d", "-b", "tmuxtest", "-t", session)
}
