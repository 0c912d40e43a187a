package roomsnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
)

// Signing keys of peers met, kept across restarts.
//
// A peer's signing key is learnt from its binding (doc.go: app 4), which
// comes sealed by the peer's identity key, so from that peer, and is
// checked with rooms.VerifyBinding before it is taken. /invite needs the
// invitee's signing key (it goes in the signed member list), so without
// a copy on disk a peer could be invited only once it had been online in
// this run. HOME/rooms/bindings keeps the newest maxSavedBound of them,
// with their proof: a load restores only the entries whose binding
// signature verifies (rooms.VerifyBinding), so a flipped bit can never
// make us trust a wrong key for a peer, and the label the peer had, so
// that /invite NAME finds a peer the node does not know in this run
// (Runner.Known).
//
// Layout: bindingsMagic, CRC-32C (4, big-endian) of the rest, count (2),
// then count entries of
//
//	identity(32) signing key(32) binding(64) seen(8: Unix ms) label(1+n)
//
// The file is written atomically (writeAtomic) at the next tick after a
// binding is new, changed, or seen again more than bindingSeenStep after
// it was last saved, and on Close. A file that fails its checksum or its
// layout (a label not UTF-8 or with control characters included), or
// holds an entry whose binding does not verify, is reported
// (a warning "bindings-damaged" naming it), kept aside as
// bindings.damaged, and none of it is taken: the peers it named must be
// met again before they can be invited.
const (
	bindingsMagic   = "p2pchat room bindings v1\n"
	bindingsFile    = "bindings"
	maxSavedBound   = 512 // as many as the peers the node keeps in its book (peer's maxPeers)
	bindingSeenStep = time.Hour
	bindingFixed    = 32 + 32 + 64 + 8 + 1
	maxLabelBytes   = 255
	maxBindingsFile = len(bindingsMagic) + 4 + 2 + maxSavedBound*(bindingFixed+maxLabelBytes)
)

// boundKey is a signing key known first-hand, with what proves it and
// when its binding was last seen.
type boundKey struct {
	sk    rooms.SignKey
	sig   [64]byte
	seen  int64  // Unix ms of the last binding taken
	saved int64  // seen as last written to the file (0: not written)
	label string // the peer's label when its binding was last taken
}

// savedBinding is one entry of the bindings file.
type savedBinding struct {
	identity rooms.Key
	sk       rooms.SignKey
	sig      [64]byte
	seen     int64
	label    string
}

func bindingsPath(dir string) string { return filepath.Join(dir, bindingsFile) }

func encodeBindings(bs []savedBinding) []byte {
	b := []byte(bindingsMagic)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(bs)))
	for _, e := range bs {
		b = append(b, e.identity[:]...)
		b = append(b, e.sk[:]...)
		b = append(b, e.sig[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(e.seen))
		label := e.label
		if len(label) > maxLabelBytes {
			label = ""
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	binary.BigEndian.PutUint32(b[len(bindingsMagic):], crc32.Checksum(b[len(bindingsMagic)+4:], castagnoli))
	return b
}

// bindingsDamage is damage d of the bindings file, in entry i.
func bindingsDamage(d Damage, i int) *FileError {
	return &FileError{Kind: FileBindings, File: bindingsFile, Damage: d, Record: i}
}

// decodeBindings reads a bindings file: its entries, or an error if it is
// damaged (a checksum, its layout, or an entry whose binding does not
// verify: then nothing of it is taken).
func decodeBindings(b []byte) ([]savedBinding, error) {
	if len(b) < len(bindingsMagic)+4+2 || string(b[:len(bindingsMagic)]) != bindingsMagic {
		return nil, bindingsDamage(DamageNotOurs, 0)
	}
	body := b[len(bindingsMagic)+4:]
	if binary.BigEndian.Uint32(b[len(bindingsMagic):]) != crc32.Checksum(body, castagnoli) {
		return nil, bindingsDamage(DamageChecksum, 0)
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	if n > maxSavedBound {
		return nil, &FileError{Kind: FileBindings, File: bindingsFile, Damage: DamageTooMany, Size: int64(n), Max: maxSavedBound}
	}
	out := make([]savedBinding, 0, n)
	for i := range n {
		if len(body) < bindingFixed || len(body) < bindingFixed+int(body[bindingFixed-1]) {
			return nil, bindingsDamage(DamageCutShort, i)
		}
		var e savedBinding
		copy(e.identity[:], body[:32])
		copy(e.sk[:], body[32:64])
		copy(e.sig[:], body[64:128])
		e.seen = int64(binary.BigEndian.Uint64(body[128:136]))
		ln := int(body[136])
		e.label = string(body[bindingFixed : bindingFixed+ln])
		body = body[bindingFixed+ln:]
		if !utf8.ValidString(e.label) || strings.ContainsFunc(e.label, unicode.IsControl) {
			return nil, bindingsDamage(DamageRecord, i)
		}
		if err := rooms.VerifyBinding(e.identity, e.sk, e.sig); err != nil {
			fe := bindingsDamage(DamageRecord, i)
			fe.Err = err
			return nil, fe
		}
		out = append(out, e)
	}
	if len(body) != 0 {
		return nil, &FileError{Kind: FileBindings, File: bindingsFile, Damage: DamageTrailing, Size: int64(len(body))}
	}
	return out, nil
}

// loadBindings reads dir's bindings file (none: nothing).
func loadBindings(dir string) ([]savedBinding, error) {
	path := bindingsPath(dir)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &FileError{Kind: FileBindings, File: bindingsFile, Damage: DamageUnread, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &FileError{Kind: FileBindings, File: bindingsFile, Damage: DamageUnread, Err: err}
	}
	if st.Size() > int64(maxBindingsFile) {
		return nil, &FileError{Kind: FileBindings, File: bindingsFile, Damage: DamageSize, Size: st.Size()}
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, &FileError{Kind: FileBindings, File: bindingsFile, Damage: DamageUnread, Err: err}
	}
	return decodeBindings(b)
}

// restoreBindingsLocked takes the bindings kept in r.dir, or reports the
// file as damaged and keeps it aside (r.mu held; from New).
func (r *Runner) restoreBindingsLocked() {
	bs, err := loadBindings(r.dir)
	if err != nil {
		r.emitLocked(Event{Kind: EvWarning, Code: CodeBindingsDamaged, File: bindingsFile, Err: err})
		os.Rename(bindingsPath(r.dir), bindingsPath(r.dir)+".damaged")
		return
	}
	slices.SortStableFunc(bs, func(a, b savedBinding) int { return cmpInt64(a.seen, b.seen) })
	for _, e := range bs {
		if e.identity == r.signer.Identity {
			continue
		}
		if _, ok := r.bound[e.identity]; ok {
			r.boundQ = slices.DeleteFunc(r.boundQ, func(k rooms.Key) bool { return k == e.identity })
		}
		r.bound[e.identity] = boundKey{sk: e.sk, sig: e.sig, seen: e.seen, saved: e.seen, label: e.label}
		r.boundQ = append(r.boundQ, e.identity)
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// takeBindingLocked takes a peer's binding (app 4) if it verifies against
// the identity key its payload was sealed by (r.mu held). The bindings
// are kept in the order last seen: past maxBound the one seen longest ago
// is forgotten.
func (r *Runner) takeBindingLocked(k rooms.Key, label string, data []byte) {
	if len(data) != 32+64 {
		r.stats.BadBindings++
		return
	}
	var sk rooms.SignKey
	var sig [64]byte
	copy(sk[:], data[:32])
	copy(sig[:], data[32:])
	if rooms.VerifyBinding(k, sk, sig) != nil {
		r.stats.BadBindings++
		return
	}
	now := r.now().UnixMilli()
	old, ok := r.bound[k]
	if ok {
		if i := slices.Index(r.boundQ, k); i >= 0 {
			r.boundQ = slices.Delete(r.boundQ, i, i+1)
		}
	} else if len(r.boundQ) >= maxBound {
		delete(r.bound, r.boundQ[0])
		r.boundQ = r.boundQ[1:]
		r.stats.BoundEvicted++
		r.boundMod = true
	}
	r.boundQ = append(r.boundQ, k)
	e := boundKey{sk: sk, sig: sig, seen: now, saved: old.saved, label: label}
	if !ok || old.sk != sk || old.label != label || now-old.saved >= bindingSeenStep.Milliseconds() {
		r.boundMod = true
	}
	r.bound[k] = e
}

// saveBindingsLocked writes the newest maxSavedBound bindings if they
// changed (r.mu held; at a tick and on Close).
func (r *Runner) saveBindingsLocked() {
	if !r.boundMod || r.dir == "" {
		return
	}
	r.boundMod = false
	var bs []savedBinding
	for _, k := range r.boundQ[max(0, len(r.boundQ)-maxSavedBound):] {
		e := r.bound[k]
		bs = append(bs, savedBinding{identity: k, sk: e.sk, sig: e.sig, seen: e.seen, label: e.label})
	}
	b := encodeBindings(bs)
	r.stats.DiskBytes += uint64(len(b))
	if err := writeAtomic(bindingsPath(r.dir), b); err != nil {
		r.stats.SaveErrors++
		r.emitLocked(Event{Kind: EvWarning, Code: CodeNotSaved, File: bindingsFile, Err: err})
		return
	}
	for _, s := range bs {
		e := r.bound[s.identity]
		e.saved = e.seen
		r.bound[s.identity] = e
	}
}

// boundByIDLocked finds the identity key of the peer with node id among
// the bindings (r.mu held).
func (r *Runner) boundByIDLocked(peerID string) (rooms.Key, bool) {
	for k := range r.bound {
		if peer.KeyID(&k) == peerID {
			return k, true
		}
	}
	return rooms.Key{}, false
}

// ErrAmbiguous: a name given to Known is the label of more than one peer
// whose signing key we hold.
var ErrAmbiguous = errors.New("roomsnet: more than one peer had that name")

// Known finds a peer by the name it had when we last took its signing
// key (a label, "bob" or "bob@laptop2", or a nickname only one of them
// had): for /invite and /kick of a peer the node does not know in this
// run (it was met in an earlier one). It returns the peer's node id and
// label; peer.ErrUnknownPeer if no peer had the name, ErrAmbiguous if
// several did.
func (r *Runner) Known(name string) (string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var exact, nick []rooms.Key
	for k, e := range r.bound {
		switch {
		case e.label == "":
		case e.label == name:
			exact = append(exact, k)
		case nickOf(e.label) == name:
			nick = append(nick, k)
		}
	}
	found := exact
	if len(found) == 0 {
		found = nick
	}
	switch {
	case len(found) == 0:
		return "", "", fmt.Errorf("%w: %s", peer.ErrUnknownPeer, name)
	case len(found) > 1:
		return "", "", fmt.Errorf("%w: %s", ErrAmbiguous, name)
	}
	k := found[0]
	return peer.KeyID(&k), r.bound[k].label, nil
}

// labelLocked is the label a peer had when we took its binding (r.mu
// held).
func (r *Runner) labelLocked(k rooms.Key) string {
	return r.bound[k].label
}

func nickOf(label string) string {
	nick, _, _ := strings.Cut(label, "@")
	return nick
}
