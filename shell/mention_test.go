package shell

import "testing"

// TestMentionCheckCompilesOnce: telling whether a message mentions us
// does not compile a regular expression per message (it did: 0.4 ms and
// a few hundred allocations for each message shown, most of the shell's
// time in a flood).
func TestMentionCheckCompilesOnce(t *testing.T) {
	mentions("warm up", "alice")
	allocs := testing.AllocsPerRun(100, func() {
		if !mentions("ping ALICE: the build is red", "alice") {
			t.Fatal("mention not seen")
		}
		_ = highlight("ping ALICE: the build is red", "alice")
	})
	if allocs > 20 {
		t.Errorf("%.0f allocations per message to look for a mention, want at most 20", allocs)
	}
}
