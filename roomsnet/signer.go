package roomsnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
// for the node whose identity key is id.
func LoadSigner(dir string, id [32]byte) (*rooms.Signer, error) {
	path := filepath.Join(dir, signingFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("roomsnet: signing key: %w", err)
		}
		content := "# p2pchat signing key (rooms): keep it secret, never share this file\n" + hex.EncodeToString(seed) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("roomsnet: create signing key file: %w", err)
		}
		_, err = f.WriteString(content)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("roomsnet: write signing key file: %w", err)
		}
		return rooms.NewSigner(id, ed25519.NewKeyFromSeed(seed)), nil
	}
	if err != nil {
		return nil, fmt.Errorf("roomsnet: read signing key file: %w", err)
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
		return nil, fmt.Errorf("roomsnet: signing key file %s is damaged (expected 64 hex digits); move it away to make a new one (your rooms' members then see a new key)", path)
	}
	return rooms.NewSigner(id, ed25519.NewKeyFromSeed(seed)), nil
}
