package roomsnet

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/p2pchat/p2pchat/rooms"
)

// fileMagic starts every room file; the layout after it: CRC-32C (4,
// big-endian) of the rest, then the gob of rooms.Saved.
const fileMagic = "p2pchat room v1\n"

// maxFileBytes bounds what is read of one room file: a full log (the
// core's MaxLogBytes) and its members, authors and list, with room.
const maxFileBytes = rooms.MaxLogBytes + 2<<20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// roomFile is where room id is kept in dir.
func roomFile(dir string, id rooms.ID) string {
	return filepath.Join(dir, hex.EncodeToString(id[:8])+".room")
}

func encodeSaved(sv *rooms.Saved) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(fileMagic)
	buf.Write(make([]byte, 4))
	if err := gob.NewEncoder(&buf).Encode(sv); err != nil {
		return nil, fmt.Errorf("roomsnet: encode room: %w", err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[len(fileMagic):], crc32.Checksum(b[len(fileMagic)+4:], castagnoli))
	return b, nil
}

func decodeSaved(b []byte) (*rooms.Saved, error) {
	if len(b) < len(fileMagic)+4 || string(b[:len(fileMagic)]) != fileMagic {
		return nil, &FileError{Kind: FileRoom, Damage: DamageNotOurs}
	}
	body := b[len(fileMagic)+4:]
	if binary.BigEndian.Uint32(b[len(fileMagic):]) != crc32.Checksum(body, castagnoli) {
		return nil, &FileError{Kind: FileRoom, Damage: DamageChecksum}
	}
	var sv rooms.Saved
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&sv); err != nil {
		return nil, &FileError{Kind: FileRoom, Damage: DamageDecode, Err: err}
	}
	return &sv, nil
}

// writeAtomic puts data at path: a fresh temporary file in the same
// directory, synced, renamed over path, and the directory synced. Its
// error is a *SaveError.
func writeAtomic(path string, data []byte) error {
	if err := writeAtomicErr(path, data); err != nil {
		return &SaveError{File: filepath.Base(path), Err: err}
	}
	return nil
}

func writeAtomicErr(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".room-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// loaded is a room file read back, and its size.
type loaded struct {
	sv   *rooms.Saved
	size int64
}

// loadDir reads every room file of dir: the rooms, and the damage of each
// file that was damaged or could not be read (renamed to .damaged, so that it is not read again,
// its journal with it).
func loadDir(dir string) ([]loaded, []*FileError, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("roomsnet: %w", err)
	}
	var out []loaded
	var damaged []*FileError
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".room-") {
			os.Remove(filepath.Join(dir, name)) // a save cut short
			continue
		}
		if !strings.HasSuffix(name, ".room") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		sv, size, err := readRoom(path)
		if err != nil {
			fe, ok := err.(*FileError)
			if !ok {
				fe = &FileError{Kind: FileRoom, Damage: DamageUnread, Err: err}
			}
			fe.File = name
			damaged = append(damaged, fe)
			os.Rename(path, path+".damaged")
			j := strings.TrimSuffix(path, ".room") + journalSuffix
			os.Rename(j, j+".damaged")
			continue
		}
		out = append(out, loaded{sv, size})
	}
	return out, damaged, nil
}

func readRoom(path string) (*rooms.Saved, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if st.Size() > maxFileBytes {
		return nil, 0, &FileError{Kind: FileRoom, Damage: DamageSize, Size: st.Size()}
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, 0, err
	}
	sv, err := decodeSaved(b)
	return sv, st.Size(), err
}
