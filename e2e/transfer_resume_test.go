package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// pauseBound is how soon after a link cut both sides must say that a
// transfer paused: the data connection's loss is noticed in a few seconds
// (TCP_USER_TIMEOUT and keepalives on it), not after a 15 s write timeout.
const pauseBound = 7 * time.Second

// TestTransferLinkCutResumes: bob's link goes down at about a third of a
// 512 MiB transfer, either as an interface going down (Wi-Fi lost) or as
// every packet dropped (nftables: the interface stays up, nothing gets
// through); both sides say it paused within pauseBound; when the link is
// back it resumes from what bob has on disk (not from 0) and the file
// arrives whole and verified. The set-up of both cases (labs, alice and
// bob joined, the files written) runs next to the shared tests; the
// transfers, which load the machine, and the cuts, whose pause is timed,
// run alone.
func TestTransferLinkCutResumes(t *testing.T) {
	aloneNow := sharedThenAlone(t)
	cuts := []struct {
		name string
		cut  func(t *testing.T, h *testnet.Host, cut bool)
	}{
		{"link down", func(t *testing.T, h *testnet.Host, cut bool) { h.SetLink(t, !cut) }},
		{"packets dropped", dropAll},
	}
	setups := make([]*linkCutSetup, len(cuts))
	for i := range cuts {
		setups[i] = prepareLinkCut(t)
	}
	aloneNow()
	for i, c := range cuts {
		t.Run(c.name, func(t *testing.T) { testLinkCut(t, setups[i], c.cut) })
	}
}

// dropAll drops (cut) every packet in and out of h's eth0, in an nftables
// table of its own, or removes that table.
func dropAll(t *testing.T, h *testnet.Host, cut bool) {
	t.Helper()
	script := "table inet p2pcut\ndelete table inet p2pcut\n"
	if cut {
		script += "table inet p2pcut {\n" +
			" chain input {\n  type filter hook input priority -20; policy accept;\n  iifname \"eth0\" counter drop\n }\n" +
			" chain output {\n  type filter hook output priority -20; policy accept;\n  oifname \"eth0\" counter drop\n }\n}\n"
	}
	h.NFT(t, script)
}

// linkCutSetup is one case of TestTransferLinkCutResumes, ready to send:
// alice and bob joined, names pinned, the file written.
type linkCutSetup struct {
	hb         *testnet.Host
	alice, bob *Proc
	src, sum   string // the file to send and its SHA-256
}

const linkCutSize = 512 << 20

func prepareLinkCut(t *testing.T) *linkCutSetup {
	lab := testnet.New(t, 2)
	hb := lab.Hosts[1]
	dl := t.TempDir()
	// At the bridge's speed 512 MiB can cross in under a second, all of it
	// before the cut takes effect: alice's link is shaped to 1 Gbit/s, as
	// a wired LAN, so that the cut lands mid-transfer (a run on an idle
	// machine saw bob done before the cut, and waited for a pause that
	// could not come).
	if err := tryLimitRate(t, lab.Hosts[0], 1_000_000_000); err != nil {
		t.Logf("link not shaped (%v): the cut may come after the last byte", err)
	}
	alice := StartNode(t, lab.Hosts[0], "alice")
	bob := StartNode(t, hb, "bob", "-downloads", dl, "-accept-from", "alice")
	alice.WaitJoined(t, "bob")
	bob.WaitJoined(t, "alice")

	src := filepath.Join(t.TempDir(), "cut.bin")
	sum := randomFile(t, src, linkCutSize)
	exchangeMessage(t, alice, "bob")
	return &linkCutSetup{hb: hb, alice: alice, bob: bob, src: src, sum: sum}
}

func testLinkCut(t *testing.T, s *linkCutSetup, cut func(t *testing.T, h *testnet.Host, cut bool)) {
	hb, alice, bob, src, sum := s.hb, s.alice, s.bob, s.src, s.sum
	const size = linkCutSize
	am, bm := alice.Mark(), bob.Mark()
	alice.Send("/send bob " + src)
	bob.WaitFrom(t, bm, transferTimeout, isTF("progress", func(e tfEvent) bool { return e.Bytes >= size/3 }))
	cut(t, hb, true)
	at := time.Now()
	p := decodeTF(t, alice.WaitFrom(t, am, transferTimeout, isTF("transfer-failed", nil)))
	took := time.Since(at)
	if !p.Resumable || p.Code != "link-lost" {
		t.Fatalf("alice: %+v, want a resumable link-lost", p)
	}
	t.Logf("alice paused %v after the cut: %s", took.Round(100*time.Millisecond), p.Reason)
	if took > pauseBound {
		t.Errorf("alice said it paused %v after the cut, more than %v", took.Round(100*time.Millisecond), pauseBound)
	}
	bp := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-failed", nil)))
	took = time.Since(at)
	if !bp.Resumable {
		t.Fatalf("bob: %+v, want resumable", bp)
	}
	t.Logf("bob paused %v after the cut: %s", took.Round(100*time.Millisecond), bp.Reason)
	if took > pauseBound {
		t.Errorf("bob said it paused %v after the cut, more than %v", took.Round(100*time.Millisecond), pauseBound)
	}
	cut(t, hb, false)
	back := time.Now()
	r := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, IsKind("transfer-resumed")))
	t.Logf("resumed %v after the link came back, at %d of %d bytes", time.Since(back).Round(100*time.Millisecond), r.Bytes, size)
	if r.Bytes < size/4 {
		t.Errorf("resumed at %d bytes: what arrived before the cut was sent again", r.Bytes)
	}
	done := decodeTF(t, bob.WaitFrom(t, bm, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last })))
	alice.WaitFrom(t, am, transferTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Last }))
	if got := fileSHA(t, done.Path); got != sum || done.SHA256 != sum {
		t.Fatalf("after the resume the file has SHA-256 %s, want %s", got, sum)
	}
}
