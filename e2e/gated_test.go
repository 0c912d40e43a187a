package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestIsGated: every test of this package begins with alone,
// shared, sharedFirst, sharedThenAlone or background (sched_test.go): one that does not
// runs outside the gate, next to the tests that measure time, memory or
// CPU and must run by themselves. (TestXProcess functions are not tests:
// they are the helper processes other tests start, and return at once
// in a test run.)
func TestEveryTestIsGated(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	gates := map[string]bool{"alone": true, "shared": true, "sharedFirst": true, "sharedThenAlone": true, "background": true}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || len(fn.Name.Name) < 5 || fn.Name.Name[:4] != "Test" || fn.Name.Name == "TestMain" || fn.Name.Name == "TestEveryTestIsGated" || strings.HasSuffix(fn.Name.Name, "Process") {
				continue
			}
			if !startsWithGate(fn, gates) {
				t.Errorf("%s: %s does not begin with alone(t), shared(t), sharedFirst(t), sharedThenAlone(t) or background(t)", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
}

func startsWithGate(fn *ast.FuncDecl, gates map[string]bool) bool {
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return false
	}
	var x ast.Expr
	switch st := fn.Body.List[0].(type) {
	case *ast.ExprStmt: // alone(t)
		x = st.X
	case *ast.AssignStmt: // aloneNow := sharedThenAlone(t)
		if len(st.Rhs) != 1 {
			return false
		}
		x = st.Rhs[0]
	default:
		return false
	}
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && gates[id.Name]
}
