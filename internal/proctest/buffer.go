package proctest

import (
	"bytes"
	"strconv"
	"sync"
	"time"
)

// Buffer collects a process's output (an io.Writer for exec.Cmd) and wakes
// waiters on every write. The zero value keeps everything; with Limit > 0
// it keeps the first Limit bytes and counts the rest as dropped.
type Buffer struct {
	Limit int

	mu      sync.Mutex
	b       bytes.Buffer
	dropped int64
	changed chan struct{}
}

// changedLocked is the channel closed at the next write; b.mu is held.
func (b *Buffer) changedLocked() chan struct{} {
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

// Write appends p (or what fits under Limit); it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := p
	if b.Limit > 0 && b.b.Len()+len(p) > b.Limit {
		keep = p[:max(0, b.Limit-b.b.Len())]
		b.dropped += int64(len(p) - len(keep))
	}
	b.b.Write(keep)
	close(b.changedLocked())
	b.changed = make(chan struct{})
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// String returns what was kept, with a note if bytes were dropped.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	if b.dropped > 0 {
		s += "\n...(" + strconv.FormatInt(b.dropped, 10) + " more bytes not kept)\n"
	}
	return s
}

// Len is the number of bytes kept so far: an offset for WaitFor.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// WaitFor waits until ok holds for the output from byte offset from on. It
// gives up after timeout, or once done is closed (the writer is gone) and
// ok still fails. done may be nil.
func (b *Buffer) WaitFor(from int, timeout time.Duration, done <-chan struct{}, ok func([]byte) bool) bool {
	check := func() (bool, chan struct{}) {
		b.mu.Lock()
		defer b.mu.Unlock()
		bs := b.b.Bytes()
		return ok(bs[min(from, len(bs)):]), b.changedLocked()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		hit, changed := check()
		if hit {
			return true
		}
		select {
		case <-changed:
		case <-done:
			hit, _ = check()
			return hit
		case <-deadline.C:
			return false
		}
	}
}
