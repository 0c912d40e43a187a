package roomsnet

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/p2pchat/p2pchat/rooms"
)

// Our seqs, kept apart from the room files.
//
// A room message of ours leaves (is queued durably for every member)
// before its room file is written: the room files are saved coalesced, at
// the next tick, so that a message costs one sync (the store's) and not
// two in series. What must never be lost across a crash is which seqs we
// used: a seq used again is taken by every member as a duplicate, and the
// second message is lost. So HOME/rooms/seqs keeps, per room we are or
// were in, a seq past every one we may have used: written (synced)
// before the first message past the previous mark leaves, with the mark
// seqReserve further on, so that one message in seqReserve pays a second
// sync. A clean stop (Close, Part) writes the exact next seq.
//
// On start, a room's next seq is the larger of the room file's and this
// file's: after a crash, seqs up to the mark may be skipped (the members
// give them up after rooms.GapWait), never used twice. For a room we left,
// it is our next seq on rejoining (rooms.State.NextSeq), so that a rejoin
// continues our seqs instead of starting at the time in ms.
//
// Layout: seqsMagic, then one line per room, "ID NEXT" (the room id in
// hex, the next seq in decimal), then "crc HEX" (CRC-32C of the lines
// before it). At most maxSeqRooms rooms; past that the rooms we are not
// in with the lowest marks are forgotten (a rejoin of one starts at the
// time in ms, as before).
const (
	seqsMagic   = "p2pchat room seqs v1\n"
	seqReserve  = 32
	maxSeqRooms = 1024
)

// seqsName is the seqs file's name in the rooms folder.
const seqsName = "seqs"

func seqsFile(dir string) string { return filepath.Join(dir, seqsName) }

func encodeSeqs(m map[rooms.ID]uint64) []byte {
	ids := make([]rooms.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b rooms.ID) int { return bytes.Compare(a[:], b[:]) })
	var b bytes.Buffer
	b.WriteString(seqsMagic)
	for _, id := range ids {
		fmt.Fprintf(&b, "%s %d\n", hex.EncodeToString(id[:]), m[id])
	}
	fmt.Fprintf(&b, "crc %08x\n", crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes()
}

func decodeSeqs(b []byte) (map[rooms.ID]uint64, error) {
	i := bytes.LastIndex(b, []byte("crc "))
	if !bytes.HasPrefix(b, []byte(seqsMagic)) || i < 0 {
		return nil, &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageNotOurs}
	}
	want, err := strconv.ParseUint(strings.TrimSpace(string(b[i+4:])), 16, 32)
	if err != nil || uint32(want) != crc32.Checksum(b[:i], castagnoli) {
		return nil, &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageChecksum}
	}
	out := map[rooms.ID]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b[len(seqsMagic):i]))
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageRecord, Record: line}
		}
		raw, err1 := hex.DecodeString(f[0])
		n, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil || len(raw) != len(rooms.ID{}) {
			return nil, &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageRecord, Record: line}
		}
		out[rooms.ID(raw)] = n
	}
	return out, nil
}

// loadSeqs reads dir's seqs file (none: an empty map).
func loadSeqs(dir string) (map[rooms.ID]uint64, error) {
	b, err := os.ReadFile(seqsFile(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return map[rooms.ID]uint64{}, nil
	}
	if err != nil {
		return map[rooms.ID]uint64{}, &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageUnread, Err: err}
	}
	if len(b) > maxSeqRooms*100+200 {
		return map[rooms.ID]uint64{}, &FileError{Kind: FileSeqs, File: seqsName, Damage: DamageSize, Size: int64(len(b))}
	}
	m, err := decodeSeqs(b)
	if err != nil {
		return map[rooms.ID]uint64{}, err
	}
	return m, nil
}
