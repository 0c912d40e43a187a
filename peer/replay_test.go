package peer

import "testing"

// TestReplayWindowFloor: after floor(boot, c) (a peer taken in on a fresh
// challenge answer), nothing that peer sent up to c in that boot, nor in an
// older boot, is believed; what follows is, once each.
func TestReplayWindowFloor(t *testing.T) {
	const boot = 5000
	for _, tc := range []struct {
		name    string
		floorAt uint64
		steps   []struct {
			boot, counter uint64
			ok, restarted bool
		}
	}{
		{"at and below the floor refused", 3000, []struct {
			boot, counter uint64
			ok, restarted bool
		}{
			{boot, 3000, false, false},
			{boot, 2999, false, false},
			{boot, 3000 - windowSize + 1, false, false},
			{boot, 1, false, false},
			{boot, 3001, true, false},
			{boot, 3001, false, false},
			{boot, 2999, false, false}, // still below the floor after the window moved
			{boot, 3003, true, false},
			{boot, 3002, true, false}, // reordering past the floor is fine
			{boot - 1, 9999, false, false},
		}},
		{"a jump past the window keeps everything below refused", 10, []struct {
			boot, counter uint64
			ok, restarted bool
		}{
			{boot, 10 + 3*windowSize, true, false},
			{boot, 10, false, false},
			{boot, 11, false, false}, // now too old
			{boot, 10 + 3*windowSize - 1, true, false},
		}},
		{"a small floor", 1, []struct {
			boot, counter uint64
			ok, restarted bool
		}{
			{boot, 1, false, false},
			{boot, 0, false, false},
			{boot, 2, true, false},
		}},
		{"the peer restarts after the floor", 3000, []struct {
			boot, counter uint64
			ok, restarted bool
		}{
			{boot + 1, 1, true, true},
			{boot + 1, 1, false, false},
			{boot, 3001, false, false}, // its old process, replayed
			{boot + 2, 7, true, true},
			{boot + 2, 8, true, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w replayWindow
			w.floor(boot, tc.floorAt)
			for i, s := range tc.steps {
				ok, restarted := w.check(s.boot, s.counter)
				if ok != s.ok || restarted != s.restarted {
					t.Fatalf("step %d: check(%d, %d) = %v %v, want %v %v", i, s.boot, s.counter, ok, restarted, s.ok, s.restarted)
				}
			}
		})
	}
}

// TestReplayWindowRestarted: restarted is reported once, for the first
// packet of a newer process, never for the very first packet, nor for a
// packet refused as old.
func TestReplayWindowRestarted(t *testing.T) {
	var w replayWindow
	for i, s := range []struct {
		boot, counter uint64
		ok, restarted bool
	}{
		{100, 1, true, false}, // the first packet: not a restart
		{100, 2, true, false},
		{99, 50, false, false}, // an older process: refused, not a restart
		{200, 1, true, true},   // a newer process
		{200, 2, true, false},  // reported once
		{100, 3, false, false},
	} {
		ok, restarted := w.check(s.boot, s.counter)
		if ok != s.ok || restarted != s.restarted {
			t.Fatalf("step %d: check(%d, %d) = %v %v, want %v %v", i, s.boot, s.counter, ok, restarted, s.ok, s.restarted)
		}
	}
}
