package transfer

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testpar"
)

// seenErrs is what the events of this package's tests carried in Err:
// the causes, and the errors that are not an *Error of Causes() (the
// shell could not word them). The tests' event readers note each event
// (noteEventErr); TestMain fails the run if any was not a cause.
var seenErrs struct {
	sync.Mutex
	causes map[Cause]int
	bad    []string
}

func noteEventErr(e Event) {
	if e.Err == nil {
		return
	}
	seenErrs.Lock()
	defer seenErrs.Unlock()
	if seenErrs.causes == nil {
		seenErrs.causes = map[Cause]int{}
	}
	x := (*Error)(nil)
	if !errors.As(e.Err, &x) || !slices.Contains(Causes(), x.Cause) {
		seenErrs.bad = append(seenErrs.bad, fmt.Sprintf("%s %s %s: %T %v", e.Kind, e.Code, e.Note, e.Err, e.Err))
		return
	}
	seenErrs.causes[x.Cause]++
}

// TestMain: every event that said an Err, in every test of the package,
// said an *Error whose cause is one of Causes(), which the shell words.
// It runs two parallel tests more at a time than there are processors
// (-test.parallel, unless the command line gives one): the two cases of
// TestStreamFloodDoesNotBlockTransfer wait 2.5 s each on real sockets,
// and with -test.parallel at GOMAXPROCS they held both slots of a 2-core
// machine while the CPU-bound tests queued.
func TestMain(m *testing.M) {
	testpar.Raise(runtime.GOMAXPROCS(0) + 2)
	code := m.Run()
	seenErrs.Lock()
	defer seenErrs.Unlock()
	if len(seenErrs.bad) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d events said an Err that is not a transfer.Error with one of Causes():\n\t%s\n",
			len(seenErrs.bad), strings.Join(seenErrs.bad, "\n\t"))
		code = 1
	}
	if testing.Verbose() {
		var seen []string
		for c, n := range seenErrs.causes {
			seen = append(seen, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(seen)
		fmt.Fprintf(os.Stderr, "causes the events said: %s\n", strings.Join(seen, ", "))
	}
	os.Exit(code)
}

// TestErrorIs: a refused name's error is ErrBadName, a frame that fails
// authentication or has a bad length is errProtocol, and an Error
// unwraps to its local cause; other causes are neither.
func TestErrorIs(t *testing.T) {
	t.Parallel()
	local := errors.New("no space left on device")
	for _, tc := range []struct {
		err              error
		badName, protocl bool
	}{
		{&Error{Cause: CauseNameClimbs}, true, false},
		{&Error{Cause: CauseNameTooDeep, Have: 40, Size: 32}, true, false},
		{&Error{Cause: CauseForgedFrame, Seq: 3}, false, true},
		{&Error{Cause: CauseFrameSize, Size: 3}, false, true},
		{&Error{Cause: CauseWrite, File: "a", Err: local}, false, false},
		{fmt.Errorf("context: %w", &Error{Cause: CauseNameEmpty}), true, false},
	} {
		if got := errors.Is(tc.err, ErrBadName); got != tc.badName {
			t.Errorf("errors.Is(%v, ErrBadName) = %v, want %v", tc.err, got, tc.badName)
		}
		if got := errors.Is(tc.err, errProtocol); got != tc.protocl {
			t.Errorf("errors.Is(%v, errProtocol) = %v, want %v", tc.err, got, tc.protocl)
		}
	}
	if err := (&Error{Cause: CauseWrite, File: "a", Err: local}); !errors.Is(err, local) {
		t.Errorf("%v does not unwrap to its local cause", err)
	}
}

// TestCausesListed: every Cause constant of the package is in Causes()
// (which the shell's tests walk, so that each has its words), once.
func TestCausesListed(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var declared []Cause
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Cause" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: a Cause that is not a literal", fset.Position(v.Pos()))
					}
					declared = append(declared, Cause(strings.Trim(lit.Value, `"`)))
				}
			}
		}
	}
	listed := Causes()
	for _, c := range declared {
		if !slices.Contains(listed, c) {
			t.Errorf("cause %q is not in Causes()", c)
		}
	}
	seen := map[Cause]bool{}
	for _, c := range listed {
		if seen[c] {
			t.Errorf("cause %q listed twice", c)
		}
		seen[c] = true
	}
	if len(declared) != len(listed) {
		t.Errorf("%d causes declared, %d listed", len(declared), len(listed))
	}
}

// TestCommandErrors: the commands' errors are codes, as the shell words
// them: an *Error with its cause and fields, or a DecidedError.
func TestCommandErrors(t *testing.T) {
	t.Parallel()
	s := newFakeSide(t, true, nil)
	bob := s.n.addPeer("bob", true)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.txt")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	s.m.onControl(bob.offer(77, "a.txt", 10), time.Now())
	id := offerID(s.m, bob, 77)
	if id == 0 {
		t.Fatal("bob's offer is not waiting")
	}
	if err := s.m.Reject(id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want Error
	}{
		{"send nothing", second(s.m.Send(bob.id, nil)), Error{Cause: CauseNoFiles}},
		{"send a missing file", second(s.m.Send(bob.id, []string{missing})), Error{Cause: CauseReadSource, File: missing, Err: syscall.ENOENT}},
		{"send an empty folder", second(s.m.Send(bob.id, []string{empty})), Error{Cause: CauseNothingThere}},
		{"send a device", second(s.m.Send(bob.id, []string{"/dev/null"})), Error{Cause: CauseNotFile, File: "/dev/null"}},
		{"cancel no transfer", s.m.Cancel(99), Error{Cause: CauseNoTransfer, Index: 99}},
		{"accept no offer", s.m.Accept(99), Error{Cause: CauseNoOffer, Index: 99}},
		{"reject no offer", s.m.Reject(99), Error{Cause: CauseNoOffer, Index: 99}},
	} {
		x := (*Error)(nil)
		if !errors.As(tc.err, &x) || *x != tc.want {
			t.Errorf("%s: %#v, want %#v", tc.name, tc.err, &tc.want)
		}
	}
	for _, f := range []func(int) error{s.m.Accept, s.m.Reject, s.m.Cancel} {
		d := (*DecidedError)(nil)
		if err := f(id); !errors.As(err, &d) || *d != (DecidedError{ID: id, State: Rejected}) {
			t.Errorf("a command on rejected offer %d: %#v, want a DecidedError", id, err)
		}
	}
}

func second(_ int, err error) error { return err }
