package rooms

import (
	"fmt"
	"runtime"
	"testing"
)

// TestMemoryFullNode: what a node in MaxRooms rooms of MaxMembers
// members, each log full (1,000 messages of 100 bytes), holds in memory.
func TestMemoryFullNode(t *testing.T) {
	if testing.Short() || raceOn {
		t.Skip("fills 32 logs; heap figures mean nothing under the race detector")
	}
	members := make([]*tnode, MaxMembers)
	for i := range members {
		members[i] = newNode(t, fmt.Sprint("m", i))
	}
	me := newNode(t, "me")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for r := range MaxRooms {
		name := fmt.Sprintf("#room%d", r)
		id := me.mustJoinQuiet(t, name)
		for _, mb := range members {
			mb.mustJoin(t, name, t0)
		}
		for k := range MaxLog {
			mb := members[k%len(members)]
			m := mb.mustPost(t, id, fmt.Sprintf("%0100d", k), t0)
			if _, err := me.give(mb, m, t0); err != nil {
				t.Fatal(err)
			}
		}
		for _, mb := range members {
			mb.Part(id, "", t0)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d rooms x %d messages: %.1f MB of heap", MaxRooms, MaxLog, float64(held)/1e6)
	runtime.KeepAlive(me)
	if held > maxHeap {
		t.Fatalf("%.1f MB, more than %.0f MB", float64(held)/1e6, float64(maxHeap)/1e6)
	}
}

// maxHeap is what doc.go says a full node's logs take, with room to spare.
const maxHeap = 16e6

func (n *tnode) mustJoinQuiet(t testing.TB, name string) ID {
	id, _ := n.mustJoin(t, name, t0)
	return id
}
