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

// check reports whether (boot, counter) is new, and records it if so.
func (w *replayWindow) check(boot, counter uint64) bool {
	switch {
	case boot < w.boot:
		return false
	case boot > w.boot:
		*w = replayWindow{boot: boot}
	}
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
