package roomsnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/p2pchat/p2pchat/rooms"
)

// signingFile is the signing key's file in the home, beside identity.key.
const signingFile = "signing.key"

// LoadSigner reads the node's Ed25519 signing key from dir (a 32-byte
// seed in hex, like identity.key), making it on first run (mode 0600),
// for the node whose identity key is id. Its errors: a *FileError
// (Kind FileSigner, File its path) if it cannot be read or is damaged (not
// 64 hex digits), a *SaveError (File its path) if it cannot be made.
func LoadSigner(dir string, id [32]byte) (*rooms.Signer, error) {
	path := filepath.Join(dir, signingFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, &SaveError{File: path, Err: err}
		}
		content := "# p2pchat signing key (rooms): keep it secret, never share this file\n" + hex.EncodeToString(seed) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, &SaveError{File: path, Err: err}
		}
		_, err = f.WriteString(content)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, &SaveError{File: path, Err: err}
		}
		return rooms.NewSigner(id, ed25519.NewKeyFromSeed(seed)), nil
	}
	if err != nil {
		return nil, &FileError{Kind: FileSigner, File: path, Damage: DamageUnread, Err: err}
	}
	var hexKey string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			hexKey = line
			break
		}
	}
	seed, err := hex.DecodeString(hexKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, &FileError{Kind: FileSigner, File: path, Damage: DamageDecode}
	}
	return rooms.NewSigner(id, ed25519.NewKeyFromSeed(seed)), nil
}
