package peer

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/synctest"
)

// TestLimitsDocumented: a node built without test limits holds the bounds
// docs/security.md's table of resources promises (the flood tests run at
// lowered ones, Config.limits), and the table says what the code holds.
func TestLimitsDocumented(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		n := startNode(t, NewMemNet(90), "alice")
		n.mu.Lock()
		book, sess := n.book.max, n.sess.max
		n.mu.Unlock()
		if book != maxPeers || sess != maxSessionPeers {
			t.Errorf("a node holds %d peers and sessions with %d keys, want %d and %d", book, sess, maxPeers, maxSessionPeers)
		}
	})
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		fmt.Sprintf("| address book | %d peers |", maxPeers),
		fmt.Sprintf("| sessions | keys of %d + %d peers", maxPeers, maxSessionPeers-maxPeers),
	} {
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/security.md has no %q", row)
		}
	}
}
