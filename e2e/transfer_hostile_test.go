package e2e

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/hostile"
	"github.com/p2pchat/p2pchat/internal/proctest"
	"github.com/p2pchat/p2pchat/internal/testnet"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// The hostile file sender: this test binary, re-executed in an attacker's
// lab namespace with hostileFilesEnv set to the target's IP:PORT, joins
// the target as "mallory" (a fresh key, the honest way) and plays the
// offers of hostileOffers one after the other over the wire format of
// internal/wire/files.go; for those the target accepts it opens the data
// connection and sends the data, speaking the data protocol of package
// transfer (its package comment) as written here, independently of that
// package's code. It reports on stdout, one JSON event a line, what the
// target answered.

const hostileFilesEnv = "P2PCHAT_E2E_HOSTILE_FILES"

// hostileOffer is one offer of one file the hostile sender makes.
type hostileOffer struct {
	name   string // the name in the offer
	data   []byte // what is offered: its size and SHA-256 go in the offer
	send   []byte // what is sent on the data connection (nil: data)
	accept bool   // the test expects the target to accept it
}

// hostileOffers are the hostile sender's offers, in order; the bytes are
// fixed so that the test knows them too.
func hostileOffers() []hostileOffer {
	fill := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	return []hostileOffer{
		{name: "../../.bashrc", data: []byte("echo pwned\n")},
		{name: "/etc/passwd", data: []byte("root::0:0::/root:/bin/sh\n")},
		{name: `C:\x`, data: []byte("x")},
		{name: `..\..\evil.bat`, data: []byte("del *")},
		{name: "line\nbreak\x1b[2J.txt", data: []byte("newline name\n"), accept: true},
		{name: "report.txt", data: []byte("mallory's report\n"), accept: true},
		// Lies: the bytes sent are not the ones offered (same size), and
		// more bytes than offered.
		{name: "hash-lie.bin", data: fill(600_000, 'A'), send: append(fill(599_999, 'A'), 'B'), accept: true},
		{name: "size-lie.bin", data: fill(1000, 'C'), send: fill(300_000, 'C'), accept: true},
	}
}

// hfEvent is one report of the hostile sender.
type hfEvent struct {
	Event   string `json:"event"`
	Name    string `json:"name,omitempty"`
	Answer  string `json:"answer,omitempty"` // accept, reject, none
	Code    int    `json:"reject_code"`      // of a reject (not "code": proctest.Event has a string code)
	Verdict int    `json:"verdict"`          // of a result frame, -1 none
	Ended   string `json:"ended,omitempty"`  // how the data connection ended
	Cancel  int    `json:"cancel_code"`      // of the cancel the target sent, -1 none
	Text    string `json:"text,omitempty"`
}

func init() { helperMain(hostileFilesEnv, "hostile file sender", hostileFiles) }

func hostileFiles(target string) error {
	to, err := netip.ParseAddrPort(target)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	emit := func(e hfEvent) { _ = out.Encode(e) }
	emit(hfEvent{Event: "ready"})
	u, err := hostile.DialUDP(to)
	if err != nil {
		return err
	}
	defer u.Close()
	p, err := hostile.New(to, u)
	if err != nil {
		return err
	}
	if err := p.Join("mallory", "evil", 10*time.Second); err != nil {
		return err
	}
	targetKey, _ := p.TargetKey()
	// A message under its name first: -accept-from trusts a name only once
	// it is pinned to the key (the worst case: a peer bob already talks to).
	if err := p.Say(hostile.Message(1, 1, 1, "hi bob, files coming")); err != nil {
		return err
	}
	if _, err := p.Await(wire.KindAck, 5*time.Second); err != nil {
		return err
	}
	emit(hfEvent{Event: "joined"})
	for i, o := range hostileOffers() {
		tid := uint64(0x6d616c0000 + i)
		sum := sha256.Sum256(o.data)
		offer := wire.Payload{Kind: wire.KindOffer, Transfer: tid,
			Files: []wire.FileEntry{{Name: o.name, Size: uint64(len(o.data)), SHA256: sum}}}
		e := hfEvent{Event: "offered", Name: o.name, Answer: "none", Verdict: -1, Cancel: -1}
		var ans wire.Payload
	wait:
		for try := 0; try < 5; try++ { // offers go over UDP: repeat as the honest sender does
			if err := p.Say(offer); err != nil {
				return err
			}
			deadline := time.After(2 * time.Second)
			for {
				select {
				case pl := <-p.Inbox():
					if (pl.Kind == wire.KindAccept || pl.Kind == wire.KindReject) && pl.Transfer == tid {
						ans = pl
						break wait
					}
				case <-deadline:
					continue wait
				}
			}
		}
		switch ans.Kind {
		case wire.KindReject:
			e.Answer, e.Code = "reject", int(ans.Code)
		case wire.KindAccept:
			e.Answer = "accept"
			send := o.send
			if send == nil {
				send = o.data
			}
			e.Verdict, e.Ended = hostileDataConn(to, p.Public, targetKey, tid, ans.TransferKey, send)
			// Did the target say it gave up on the transfer?
			deadline := time.After(2 * time.Second)
		cancel:
			for {
				select {
				case pl := <-p.Inbox():
					if pl.Kind == wire.KindCancel && pl.Transfer == tid {
						e.Cancel = int(pl.Code)
						break cancel
					}
				case <-deadline:
					break cancel
				}
			}
		}
		emit(e)
	}
	emit(hfEvent{Event: "finished"})
	// Stay (a peer that left would make the target drop its transfers)
	// until the test is done.
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// hostileDataConn sends data as file 0 of transfer tid over a data
// connection to target, and returns the target's verdict (-1: none) and
// how the connection ended.
func hostileDataConn(target netip.AddrPort, self, peerKey [32]byte, tid uint64, key [32]byte, data []byte) (int, string) {
	nc, err := net.DialTimeout("tcp", target.String(), 3*time.Second)
	if err != nil {
		return -1, "dial: " + err.Error()
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	var nonceS [16]byte
	rand.Read(nonceS[:])
	// Version 2: the transfer named by a tag, the status signed, the key
	// proved (see the transfer package comment).
	info := binary.BigEndian.AppendUint64([]byte("p2pchat file lookup v2 "), tid)
	info = append(append(info, self[:]...), peerKey[:]...)
	lk, err := hkdf.Key(sha256.New, key[:], nil, string(info), 32)
	if err != nil {
		return -1, err.Error()
	}
	hm := func(k []byte, parts ...[]byte) []byte {
		m := hmac.New(sha256.New, k)
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)[:16]
	}
	hello := append([]byte(peer.StreamMagic), 2)
	hello = append(hello, self[:]...)
	hello = append(hello, nonceS[:]...)
	hello = append(hello, hm(lk, nonceS[:])...)
	if _, err := nc.Write(hello); err != nil {
		return -1, "hello: " + err.Error()
	}
	br := bufio.NewReader(nc)
	var reply [33]byte
	if _, err := io.ReadFull(br, reply[:]); err != nil {
		return -1, "reply: " + err.Error()
	}
	salt := append(nonceS[:], reply[1:17]...)
	info = binary.BigEndian.AppendUint64([]byte("p2pchat file v2 "), tid)
	info = append(append(info, self[:]...), peerKey[:]...)
	okm, err := hkdf.Key(sha256.New, key[:], salt, string(info), 96)
	if err != nil {
		return -1, err.Error()
	}
	if !hmac.Equal(reply[17:], hm(okm[64:], []byte("p2pchat file receiver"), reply[:1], nonceS[:], reply[1:17])) {
		return -1, "reply: not signed with the transfer's key"
	}
	if reply[0] != 0 {
		return -1, fmt.Sprintf("status %d", reply[0])
	}
	if _, err := nc.Write(hm(okm[64:], []byte("p2pchat file sender"), nonceS[:], reply[1:17])); err != nil {
		return -1, "proof: " + err.Error()
	}
	gcm := func(k []byte) cipher.AEAD {
		b, _ := aes.NewCipher(k)
		a, _ := cipher.NewGCM(b)
		return a
	}
	toR, toS := gcm(okm[:32]), gcm(okm[32:64])
	var seqW, seqR uint64
	nonce := func(seq uint64) []byte {
		var n [12]byte
		binary.BigEndian.PutUint64(n[4:], seq)
		return n[:]
	}
	readFrame := func() (byte, []byte, error) {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return 0, nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > 1<<20 {
			return 0, nil, fmt.Errorf("frame of %d bytes", n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return 0, nil, err
		}
		plain, err := toS.Open(nil, nonce(seqR), b, nil)
		if err != nil || len(plain) < 13 {
			return 0, nil, errors.New("frame failed authentication")
		}
		seqR++
		return plain[0], plain[13:], nil
	}
	typ, _, err := readFrame()
	if err != nil || typ != 1 {
		return -1, fmt.Sprintf("resume frame: type %d, %v", typ, err)
	}
	const chunk = 256 << 10
	for off := 0; off < len(data); off += chunk {
		part := data[off:min(off+chunk, len(data))]
		plain := []byte{2, 0, 0, 0, 0}
		plain = binary.BigEndian.AppendUint64(plain, uint64(off))
		plain = append(plain, part...)
		sealed := toR.Seal(nil, nonce(seqW), plain, nil)
		seqW++
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(sealed)))
		if _, err := nc.Write(append(frame, sealed...)); err != nil {
			break // the target may have hung up: read what it said
		}
	}
	for {
		typ, d, err := readFrame()
		if err != nil {
			return -1, err.Error()
		}
		if typ == 3 && len(d) > 0 {
			return int(d[0]), "result"
		}
	}
}

// TestTransferHostileSender: a hostile peer ("mallory", accepted
// automatically by bob's -accept-from: the worst case) offers files named
// ../../.bashrc, /etc/passwd, C:\x and ..\..\evil.bat: each offer is
// refused (bad-offer), and bob is told. A name with a newline and an
// escape lands sanitised inside -downloads; a name that exists already
// lands next to it, the existing file untouched. A file whose bytes are
// not the offered ones (hash lie) and one with more bytes than offered
// (size lie) are detected: nothing of them is kept, bob is told, and so
// is mallory. Nothing at all is written outside -downloads.
func TestTransferHostileSender(t *testing.T) {
	shared(t)
	lab := testnet.New(t, 2)
	hb, hm := lab.Hosts[0], lab.Hosts[1]
	base := t.TempDir()
	dl := filepath.Join(base, "home", "bob", "Downloads")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	existing := []byte("bob's own report\n")
	if err := os.WriteFile(filepath.Join(dl, "report.txt"), existing, 0o644); err != nil {
		t.Fatal(err)
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	bob := StartNode(t, hb, "bob", "-downloads", dl, "-accept-from", "mallory")

	needBinary(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bm := bob.Mark()
	mal := proctest.Start(t, proctest.Spec{
		Label: "hostile file sender on " + hm.Name, Host: hm, Path: self,
		Args: []string{"-test.run=^$"},
		Env:  []string{hostileFilesEnv + "=" + peerAddr(hb)},
	})
	mal.Wait(t, readyTimeout, IsKind("ready"))
	mal.Wait(t, joinTimeout, IsKind("joined"))
	mal.Wait(t, 2*time.Minute, IsKind("finished"))

	offers := hostileOffers()
	got := map[string]hfEvent{}
	for _, e := range mal.Events() {
		if e.Event != "offered" {
			continue
		}
		var he hfEvent
		if err := e.Decode(&he); err != nil {
			t.Fatal(err)
		}
		got[he.Name] = he
	}
	for _, o := range offers {
		e, ok := got[o.name]
		t.Logf("%q: %+v", o.name, e)
		switch {
		case !ok:
			t.Errorf("%q: the hostile sender did not report on it", o.name)
		case !o.accept && (e.Answer != "reject" || e.Code != int(wire.CodeBadOffer)):
			t.Errorf("%q: bob answered %s (code %d), want a reject with code bad-offer (%d)", o.name, e.Answer, e.Code, wire.CodeBadOffer)
		case o.accept && e.Answer != "accept":
			t.Errorf("%q: bob answered %s, want an accept (-accept-from mallory)", o.name, e.Answer)
		}
	}

	// Bob's side: every refusal and every lie told, once each kind.
	// Refusals of one peer come once every 10 s, the later ones together
	// with their count: wait for all four to be told.
	told := 0
	bob.WaitFrom(t, bm, 30*time.Second, func(e Event) bool {
		if v, ok := tfOf(e); ok && v.Code == "bad-offer" {
			told += max(v.Count, 1)
		}
		return told >= 4
	})
	evs := bob.Events()[bm:]
	count := func(code string) (n int, reasons []string) {
		for _, e := range evs {
			if e.Event != "transfer-failed" {
				continue
			}
			v := decodeTF(t, e)
			if v.Code == code {
				n += max(v.Count, 1)
				reasons = append(reasons, v.Reason)
			}
		}
		return n, reasons
	}
	if n, rs := count("bad-offer"); n != 4 {
		t.Errorf("bob was told of %d refused offers, want 4: %q", n, rs)
	} else {
		t.Logf("bob, refused: %q", rs)
	}

	// The hash lie: mallory gets the mismatch verdict and a cancel; bob
	// says so.
	if e := got["hash-lie.bin"]; e.Verdict != 1 {
		t.Errorf("hash lie: mallory got verdict %d (%s), want 1 (mismatch)", e.Verdict, e.Ended)
	}
	if e := got["hash-lie.bin"]; e.Cancel != int(wire.CodeFailed) {
		t.Errorf("hash lie: mallory got cancel code %d, want %d (failed)", e.Cancel, wire.CodeFailed)
	}
	if n, rs := count("hash-mismatch"); n != 1 {
		t.Errorf("bob told of %d hash mismatches, want 1: %q", n, rs)
	} else {
		t.Logf("bob, hash lie: %q", rs)
	}
	// The size lie: the connection is dropped (no verdict), mallory gets a
	// cancel, bob says the sender broke the protocol.
	if e := got["size-lie.bin"]; e.Verdict != -1 || e.Cancel != int(wire.CodeFailed) {
		t.Errorf("size lie: mallory got verdict %d, cancel %d (%s), want none and %d (failed)", e.Verdict, e.Cancel, e.Ended, wire.CodeFailed)
	}
	if n, rs := count("protocol"); n != 1 {
		t.Errorf("bob told of %d protocol errors, want 1 (the size lie): %q", n, rs)
	} else {
		t.Logf("bob, size lie: %q", rs)
	}
	// The honest-looking ones arrived, verified.
	for _, name := range []string{"line_break_[2J.txt", "report (1).txt"} {
		bob.WaitFrom(t, bm, msgTimeout, isTF("transfer-done", func(e tfEvent) bool { return e.Path == filepath.Join(dl, name) }))
	}

	// On disk: exactly what was accepted and verified, inside -downloads;
	// bob's own file untouched; nothing of the lies; nothing outside.
	want := map[string][]byte{
		"report.txt":         existing,
		"report (1).txt":     offers[5].data,
		"line_break_[2J.txt": offers[4].data,
	}
	var found []string
	filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dl, p)
		found = append(found, rel)
		return nil
	})
	t.Logf("files under %s: %q", base, found)
	for _, rel := range found {
		if strings.HasPrefix(rel, "..") {
			t.Errorf("a file outside -downloads: %s", rel)
			continue
		}
		if strings.HasPrefix(rel, ".p2pchat-partial") {
			if filepath.Ext(rel) == ".part" {
				t.Errorf("a partial file left behind: %s", rel)
			}
			continue
		}
		w, ok := want[rel]
		if !ok {
			t.Errorf("a file that should not be there: %s", rel)
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(dl, rel)); !bytes.Equal(b, w) {
			t.Errorf("%s holds %q, want %q", rel, b, w)
		}
		delete(want, rel)
	}
	for rel := range want {
		t.Errorf("%s is missing", rel)
	}
	if b, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(b, passwd) {
		t.Error("/etc/passwd changed")
	}
	mal.Stop(exitTimeout)
}
