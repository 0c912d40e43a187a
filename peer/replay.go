package peer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// replayWindow rejects sealed packets seen before. A sender numbers its
// sealed packets (boot, counter); a packet from an older boot than the newest
// seen is refused (an old process's packets replayed), a newer boot resets the
// window (the peer restarted), and within a boot a sliding bitmap of the last
// windowSize counters remembers what arrived.
type replayWindow struct {
	boot    uint64
	highest uint64
	bits    [windowSize / 64]uint64
	since   time.Time // when boot became the window's (checkAt, floorAt): only a challenge made after it can take the peer back to an older boot
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

// checkAt is check, noting when the window moved to a new boot.
func (w *replayWindow) checkAt(boot, counter uint64, now time.Time) (ok, restarted bool) {
	old, since := w.boot, w.since
	ok, restarted = w.check(boot, counter)
	if w.boot != old {
		w.since = now
	} else {
		w.since = since
	}
	return ok, restarted
}

// floorAt is floor, noting when.
func (w *replayWindow) floorAt(boot, counter uint64, now time.Time) {
	w.floor(boot, counter)
	w.since = now
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

// olderBootLocked handles an authenticated packet of p that the replay window
// refused (n.mu held). A hello from an older boot than the window's may
// be p restarted with its clock stepped back (without a home that
// remembers its last boot, or with a copied one): it is answered with a
// challenge, as a stranger's is, and a hello of that boot echoing a
// challenge made after the window took its current boot is p's new
// process: the window moves back to that boot, above this packet, and the
// hello is handled as a restart. A recorded hello of an earlier process
// echoes only a challenge made before that (or expired), so it cannot
// take p back. It reports whether the packet is to be handled, as from a
// restarted peer.
func (n *Node) olderBootLocked(p *peerState, pl *wire.Payload, pkt Packet, now time.Time) bool {
	if pl.Kind != wire.KindHello || pl.Boot >= p.win.boot {
		return false
	}
	if ok, made := n.chal.valid(&p.key, pl.Echo, now); ok && made.After(p.win.since) {
		p.win.floorAt(pl.Boot, pl.Counter, now)
		return true
	}
	if n.mayAnswerLocked(pkt.From.Addr(), now) {
		q := n.strangerLocked(p.key) // (not in the book: its hello carries a challenge)
		n.sendHelloLocked(q, wire.FlagReply, pl.Challenge, pkt.Reply)
	}
	return false
}

// bootClock is the clock a node's boot is taken from (a variable for
// tests of clocks stepped back).
var bootClock = time.Now

// bootFile, in the home, holds the boot of the last run.
const bootFile = "boot"

// newBoot is this run's boot: the time, in nanoseconds; with a home, at
// least one more than the last run's, which it then records, so that a
// clock stepped back does not make this run look older than the last to
// peers that remember it. A damaged record counts as none.
func newBoot(home string) (uint64, error) {
	boot := uint64(bootClock().UnixNano())
	if home == "" {
		return boot, nil
	}
	path := filepath.Join(home, bootFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if last, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); err == nil && last < ^uint64(0) {
			boot = max(boot, last+1)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("peer: read the last boot: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("peer: record the boot: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(boot, 10) + "\n")
	if err == nil {
		err = f.Sync() // a crash must not take the record back
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return 0, fmt.Errorf("peer: record the boot: %w", err)
	}
	return boot, nil
}
