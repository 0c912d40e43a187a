package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
)

// The benchmark machine is a VM whose balloon driver hands memory the
// guest frees back to its host within seconds (virtio-balloon free page
// reporting). A page used again after that costs a fault in the host:
// 2.6-4.4 s of system time per GiB of page cache, measured on the first
// raw copy of a run. A raw copy, done in under a second, reuses the pages the
// run before it freed before they are handed back; a p2pchat transfer of
// 2-4 s, or croc's 10 s, gets fresh ones: the same p2pchat build moved
// 206-253 MB/s with the reporting on and 301-373 with it off, in the
// same hour, against a floor of 1,040-1,670 either way. A laptop has no host to give pages to, so the file phases
// turn the reporting off (pages freed stay with the guest, as on a laptop)
// and touch enough memory first that the page cache finds it backed, for
// the floor and p2pchat alike. The setting is put back at the end of the
// run.

// pageReporting is the kernel's knob: free blocks of at least 2^order
// pages are reported; no block is larger than 2^10 pages, so order 11
// reports none.
const pageReporting = "/sys/module/page_reporting/parameters/page_reporting_order"

var steady struct {
	once sync.Once
	note string // what was done, for the report
}

// steadyMemory turns the VM's free page reporting off for the rest of the
// run and touches need bytes of memory; it says what it did (or why not),
// once per run.
func steadyMemory(need int64) string {
	steady.once.Do(func() {
		old, err := os.ReadFile(pageReporting)
		switch {
		case os.IsNotExist(err):
			steady.note = "no free page reporting on this machine (not a VM with a balloon): nothing changed"
		case err != nil:
			steady.note = fmt.Sprintf("free page reporting left as it is: %v", err)
		default:
			prev := strings.TrimSpace(string(old))
			if err := os.WriteFile(pageReporting, []byte("11"), 0o644); err != nil {
				steady.note = fmt.Sprintf("free page reporting left on (order %s): %v", prev, err)
				break
			}
			atCleanup(func() {
				if err := os.WriteFile(pageReporting, []byte(prev), 0o644); err != nil {
					logf("could not restore %s to %s: %v", pageReporting, prev, err)
				}
			})
			steady.note = fmt.Sprintf("the VM's free page reporting was off for the file phases (%s 11, was %s; restored at the end)", pageReporting, prev)
		}
		touch(need)
		steady.note += fmt.Sprintf("; %d MiB of memory touched before them", need>>20)
		logf("memory: %s", steady.note)
	})
	return steady.note
}

// touch writes one byte in every page of n bytes of fresh memory, then
// gives it back to the kernel.
func touch(n int64) {
	func() {
		b := make([]byte, n)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
	}()
	debug.FreeOSMemory()
}
