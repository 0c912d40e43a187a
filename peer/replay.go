package peer

// replayWindow rejects sealed packets seen before. A sender numbers its
// sealed packets (boot, counter); a packet from an older boot than the newest
// seen is refused (an old process's packets replayed), a newer boot resets the
// window (the peer restarted), and within a boot a sliding bitmap of the last
// windowSize counters remembers what arrived.
type replayWindow struct {
	boot    uint64
	highest uint64
	bits    [windowSize / 64]uint64
}

const windowSize = 2048

// check reports whether (boot, counter) is new, and records it if so;
// restarted is set when it is the first packet of a newer process than
// the window knew (not for the very first packet).
func (w *replayWindow) check(boot, counter uint64) (ok, restarted bool) {
	switch {
	case boot < w.boot:
		return false, false
	case boot > w.boot:
		restarted = w.boot != 0
		*w = replayWindow{boot: boot}
	}
	return w.checkCounter(counter), restarted
}

// floor makes the window refuse everything of boot up to counter: a peer
// taken into the book on a fresh challenge answer may have been talking
// before, and nothing it sent before that answer is believed.
func (w *replayWindow) floor(boot, counter uint64) {
	*w = replayWindow{boot: boot, highest: counter}
	for i := range w.bits {
		w.bits[i] = ^uint64(0)
	}
}

func (w *replayWindow) checkCounter(counter uint64) bool {
	if counter == 0 {
		return false
	}
	if counter > w.highest {
		shift := counter - w.highest
		if shift >= windowSize {
			w.bits = [windowSize / 64]uint64{}
		} else {
			for i := w.highest + 1; i <= counter; i++ {
				w.clear(i)
			}
		}
		w.highest = counter
		w.set(counter)
		return true
	}
	if w.highest-counter >= windowSize {
		return false
	}
	if w.has(counter) {
		return false
	}
	w.set(counter)
	return true
}

func (w *replayWindow) set(c uint64)      { w.bits[(c/64)%(windowSize/64)] |= 1 << (c % 64) }
func (w *replayWindow) clear(c uint64)    { w.bits[(c/64)%(windowSize/64)] &^= 1 << (c % 64) }
func (w *replayWindow) has(c uint64) bool { return w.bits[(c/64)%(windowSize/64)]&(1<<(c%64)) != 0 }
