package shell

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"unsafe"
)

// suspender stops the interactive shell on Ctrl-Z (typed at the prompt,
// where liner turns signals off, the filter sees the key) or SIGTSTP (sent
// by the terminal between prompts, or by kill): it gives the terminal back
// as it found it (modes off, settings as before liner), stops the process,
// and when continued puts liner's settings and the modes back and redraws.
//
// Concurrency: every field but mu is immutable after newSuspender; suspend
// runs on the signal goroutine and on the input filter's (Ctrl-Z), and mu
// makes it one suspension at a time.
type suspender struct {
	mu     sync.Mutex // one suspension at a time
	orig   syscall.Termios
	ok     bool // orig was read
	out    *os.File
	stop   chan struct{}
	signal chan os.Signal
}

// newSuspender reads the terminal's settings (call it before liner
// changes them) and listens for SIGTSTP until close.
func newSuspender(out *os.File) *suspender {
	s := &suspender{out: out, stop: make(chan struct{}), signal: make(chan os.Signal, 1)}
	s.orig, s.ok = getTermios(0)
	signal.Notify(s.signal, syscall.SIGTSTP)
	go func() {
		for {
			select {
			case <-s.signal:
				s.suspend()
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

func (s *suspender) close() {
	signal.Stop(s.signal)
	close(s.stop)
}

func (s *suspender) suspend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, curOK := getTermios(0)
	s.out.WriteString(termModesOff)
	if s.ok {
		setTermios(0, s.orig)
	}
	// The stop takes effect when some thread of the process takes the
	// signal, maybe after kill returns: wait for SIGCONT, which comes
	// only once the process was stopped and continued.
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	if syscall.Kill(os.Getpid(), syscall.SIGSTOP) == nil {
		<-cont
	}
	signal.Stop(cont)
	if curOK {
		setTermios(0, cur)
	}
	s.out.WriteString(termModesOn)
	redrawPrompt()
}

func getTermios(fd uintptr) (syscall.Termios, bool) {
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return t, e == 0
}

func setTermios(fd uintptr, t syscall.Termios) {
	syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t)))
}
