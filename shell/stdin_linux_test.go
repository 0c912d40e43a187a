package shell

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPollableStdinHelper runs in a child process whose standard input
// TestPollableStdin chose: it reports what PollableStdin made of it.
func TestPollableStdinHelper(t *testing.T) {
	if os.Getenv("P2PCHAT_STDIN_HELPER") == "" {
		t.Skip("helper process for TestPollableStdin")
	}
	f, ok := PollableStdin()
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, 0, syscall.F_GETFL, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	fmt.Printf("RESULT pollable=%v fd0-nonblock=%v line=%q\n", ok, flags&syscall.O_NONBLOCK != 0, line)
}

func TestPollableStdin(t *testing.T) {
	t.Parallel() // its own helper processes
	file := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(file, []byte("from a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin func(t *testing.T) *os.File // nil: a pipe
		want  string
	}{
		{"pipe is reopened, fd 0 stays blocking", nil, `pollable=true fd0-nonblock=false line="hello\n"`},
		{"regular file is kept", func(t *testing.T) *os.File {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, `pollable=false fd0-nonblock=false line="from a file\n"`},
		{"/dev/null is kept", func(t *testing.T) *os.File {
			f, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, `pollable=false fd0-nonblock=false line=""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPollableStdinHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "P2PCHAT_STDIN_HELPER=1")
			// Under -race a process waits a second at exit (GORACE atexit_sleep_ms).
			cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			if tt.stdin == nil {
				cmd.Stdin = strings.NewReader("hello\n")
			} else {
				f := tt.stdin(t)
				defer f.Close()
				cmd.Stdin = f
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			got := ""
			for _, l := range strings.Split(string(out), "\n") {
				if r, ok := strings.CutPrefix(l, "RESULT "); ok {
					got = r
				}
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s\n(output:\n%s)", got, tt.want, out)
			}
		})
	}
}
