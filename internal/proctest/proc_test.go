package proctest

import (
	"strings"
	"testing"
	"time"
)

// sh runs a shell script in the caller's namespace (no network involved).
func sh(t *testing.T, script string, text bool) *Proc {
	t.Helper()
	return Start(t, Spec{Label: "sh", Path: "/bin/sh", Args: []string{"-c", script}, Text: text})
}

func TestEventsStdinAndExit(t *testing.T) {
	p := sh(t, `echo '{"event":"ready","name":"x","id":"ab12","port":7}'
echo 'not json'
read line
printf '{"event":"delivered","to":"bob","id":%s}\n' "$line"
exit 3`, false)
	r := p.Wait(t, 10*time.Second, IsKind("ready"))
	if r.Name != "x" || r.ID != "ab12" || r.Port != 7 || r.Seq != 0 {
		t.Errorf("ready = %+v", r)
	}
	m := p.Mark()
	p.Send("42")
	d := p.WaitFrom(t, m, 10*time.Second, IsDelivered("bob", "42"))
	if d.Seq != 2 {
		t.Errorf("delivered has Seq %d, want 2", d.Seq)
	}
	if code := p.ExitCode(t, 10*time.Second); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	evs := p.Events()
	if len(evs) != 3 || evs[1].Err == nil || evs[1].Raw != "not json" || evs[1].Event != "" {
		t.Errorf("events %v: want the second to be the non-JSON line", evs)
	}
	if rep := p.Report(); !strings.Contains(rep, "not JSON") || !strings.Contains(rep, "exited: exit status 3") {
		t.Errorf("report does not show the junk line and the exit:\n%s", rep)
	}
}

func TestAwaitTimeoutThenExit(t *testing.T) {
	p := sh(t, `read line; echo '{"event":"bye"}'`, false)
	if _, err := p.Await(0, 50*time.Millisecond, IsKind("bye")); err == nil || !strings.Contains(err.Error(), "within") {
		t.Fatalf("Await before any output: %v, want a timeout", err)
	}
	p.CloseStdin()
	if _, err := p.Await(0, 10*time.Second, IsKind("never")); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("Await after the end: %v, want exited", err)
	}
	if e, err := p.Await(0, time.Second, IsKind("bye")); err != nil || e.Event != "bye" {
		t.Fatalf("the last line before the exit: %v, %v", e, err)
	}
}

func TestTextOutput(t *testing.T) {
	p := sh(t, `echo one; read x; echo "two $x"; echo err >&2`, true)
	p.WaitOutput(t, 0, 10*time.Second, "one")
	m := p.Stdout().Len()
	p.Send("three")
	p.WaitOutput(t, m, 10*time.Second, "two three")
	p.CloseStdin()
	p.ExitCode(t, 10*time.Second)
	if got := string(p.Stdout().Bytes()); got != "one\ntwo three\n" {
		t.Errorf("stdout %q", got)
	}
	if got := p.Stderr().String(); got != "err\n" {
		t.Errorf("stderr %q", got)
	}
	if len(p.Events()) != 0 {
		t.Errorf("text mode produced events %v", p.Events())
	}
}

func TestKillAndTerm(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*Proc)
		code int
	}{
		{"kill", (*Proc).Kill, -1},
		{"term", (*Proc).Term, -1},
		{"stop", func(p *Proc) { p.Stop(10 * time.Second) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sh(t, `echo '{"event":"up"}'; read x; exit 0`, false)
			p.Wait(t, 10*time.Second, IsKind("up"))
			tc.stop(p)
			if !p.Exited() {
				t.Fatal("still running")
			}
			if code := p.ExitCode(t, time.Second); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
		})
	}
}

func TestBuffer(t *testing.T) {
	b := &Buffer{Limit: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if got := string(b.Bytes()); got != "abcde" {
		t.Errorf("kept %q, want the first 5 bytes", got)
	}
	if s := b.String(); !strings.Contains(s, "2 more bytes not kept") {
		t.Errorf("String %q does not count the dropped bytes", s)
	}

	var u Buffer // zero value: unbounded
	done := make(chan struct{})
	got := make(chan bool)
	go func() { got <- u.WaitFor(2, 10*time.Second, done, func(b []byte) bool { return string(b) == "cd" }) }()
	u.Write([]byte("ab"))
	u.Write([]byte("cd"))
	if !<-got {
		t.Error("WaitFor missed the output after offset 2")
	}
	close(done)
	if u.WaitFor(0, 10*time.Second, done, func([]byte) bool { return false }) {
		t.Error("WaitFor held after done")
	}
}

func TestFlex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Flex
		ok   bool
	}{
		{`"abc"`, "abc", true},
		{`17`, "17", true},
		{`18446744073709551615`, "18446744073709551615", true},
		{`true`, "", false},
		{`{}`, "", false},
	} {
		var f Flex
		err := f.UnmarshalJSON([]byte(tc.in))
		if (err == nil) != tc.ok || f != tc.want {
			t.Errorf("%s: %q, %v; want %q ok=%v", tc.in, f, err, tc.want, tc.ok)
		}
	}
}

// refusal is a T whose Fatalf panics with itself, so that a test can see
// a refusal and go on.
type refusal struct{ msg string }

func (r *refusal) Helper()                   {}
func (r *refusal) Logf(string, ...any)       {}
func (r *refusal) Errorf(string, ...any)     {}
func (r *refusal) Failed() bool              { return false }
func (r *refusal) Cleanup(func())            {}
func (r *refusal) Fatalf(f string, a ...any) { r.msg = f; panic(r) }

func refused(args []string) (r bool) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(*refusal); !ok {
				panic(v)
			}
			r = true
		}
	}()
	CheckLoopbackOnly(&refusal{}, args)
	return false
}

func TestLoopbackRule(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		allowed bool
	}{
		{LoopbackArgs(7000, 7001), true},
		{[]string{"-mdns=false", "-bind=127.0.0.1"}, true},
		{[]string{"-mdns=false"}, false},
		{[]string{"-bind", "127.0.0.1"}, false},
		{[]string{"-mdns=false", "-bind", "0.0.0.0"}, false},
		{[]string{"-mdns=false", "-bind"}, false},
		{[]string{"-mdns=true", "-bind", "127.0.0.1"}, false},
	} {
		if got := !refused(tc.args); got != tc.allowed {
			t.Errorf("%q: allowed=%v, want %v", tc.args, got, tc.allowed)
		}
	}
}

// TestPauseReading: while reading is paused a process that prints more
// than a pipe holds blocks (it does not get to its next step); once
// reading resumes every line arrives, in order, none lost.
func TestPauseReading(t *testing.T) {
	// 200 lines of 2 KB: far more than the pipe and the reader's buffer
	// hold, read in a few milliseconds when nothing pauses.
	const lines = 200
	p := sh(t, `s=$(head -c 2000 /dev/zero | tr '\0' a); i=0
while [ $i -lt 200 ]; do echo "{\"event\":\"x\",\"text\":\"$s\"}"; i=$((i+1)); done
echo '{"event":"end"}'; echo done >&2`, false)
	p.PauseReading()
	printed := func(b []byte) bool { return strings.Contains(string(b), "done") }
	// A bounded wait for something that must not happen.
	if p.Stderr().WaitFor(0, 500*time.Millisecond, p.Done(), printed) {
		t.Fatal("the process printed all its output although nobody read it")
	}
	n := p.Mark()
	if n >= lines {
		t.Fatalf("%d events read while paused", n)
	}
	p.ResumeReading()
	p.Wait(t, 10*time.Second, IsKind("end"))
	if got := countKind(p.Events(), "x"); got != lines {
		t.Errorf("%d lines after resuming, want %d", got, lines)
	}
	if !p.Stderr().WaitFor(0, 10*time.Second, p.Done(), printed) {
		t.Error("the process did not go on after reading resumed")
	}
	t.Logf("%d of %d lines read before the pause took hold", n, lines)

	// Killing a paused process does not hang on its blocked output.
	q := sh(t, `exec yes '{"event":"x"}'`, false)
	q.PauseReading()
	q.Kill()
	if !q.Exited() {
		t.Error("a paused process was not reaped after Kill")
	}
}

func countKind(evs []Event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Event == kind {
			n++
		}
	}
	return n
}
