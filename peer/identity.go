package peer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/p2pchat/p2pchat/internal/wire"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// identityFile is the name of the key file in the home directory.
const identityFile = "identity.key"

// Identity is a node's long-term X25519 key pair.
type Identity struct {
	Public  [32]byte
	private [32]byte
}

// NewIdentity makes a fresh random identity (used by tests and on first run).
func NewIdentity() (*Identity, error) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("peer: generate key: %w", err)
	}
	return &Identity{Public: *pub, private: *priv}, nil
}

// KeyFileOp says what LoadIdentity could not do with the key file.
type KeyFileOp string

// What LoadIdentity could not do (KeyFileError.Op).
const (
	KeyFileHome    KeyFileOp = "home"    // make the home directory (Path)
	KeyFileCreate  KeyFileOp = "create"  // create the key file
	KeyFileWrite   KeyFileOp = "write"   // write the new key to it
	KeyFileRead    KeyFileOp = "read"    // read it
	KeyFileDamaged KeyFileOp = "damaged" // its key is not 64 hex digits (or not a usable key): moving it away makes a new identity
)

// KeyFileError is why LoadIdentity failed: Op on Path, with the
// operating system's error (Err) where there is one. The shell words it.
type KeyFileError struct {
	Path string
	Op   KeyFileOp
	Err  error
}

func (e *KeyFileError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("peer: key file %s: %s", e.Path, e.Op)
	}
	return fmt.Sprintf("peer: key file %s: %s: %v", e.Path, e.Op, e.Err)
}

func (e *KeyFileError) Unwrap() error { return e.Err }

// LoadIdentity reads the identity from dir, creating dir (mode 0700) and a new
// key file (mode 0600) on first run.
func LoadIdentity(dir string) (*Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &KeyFileError{Path: dir, Op: KeyFileHome, Err: err}
	}
	path := filepath.Join(dir, identityFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := NewIdentity()
		if err != nil {
			return nil, err
		}
		content := "# p2pchat private key: keep it secret, never share this file\n" + hex.EncodeToString(id.private[:]) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, &KeyFileError{Path: path, Op: KeyFileCreate, Err: err}
		}
		if _, err := f.WriteString(content); err != nil {
			f.Close()
			return nil, &KeyFileError{Path: path, Op: KeyFileWrite, Err: err}
		}
		if err := f.Close(); err != nil {
			return nil, &KeyFileError{Path: path, Op: KeyFileWrite, Err: err}
		}
		return id, nil
	}
	if err != nil {
		return nil, &KeyFileError{Path: path, Op: KeyFileRead, Err: err}
	}
	var hexKey string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			hexKey = line
			break
		}
	}
	raw, err := hex.DecodeString(hexKey)
	if err != nil || len(raw) != 32 {
		return nil, &KeyFileError{Path: path, Op: KeyFileDamaged}
	}
	id := &Identity{}
	copy(id.private[:], raw)
	pub, err := curve25519.X25519(id.private[:], curve25519.Basepoint)
	if err != nil {
		return nil, &KeyFileError{Path: path, Op: KeyFileDamaged, Err: err}
	}
	copy(id.Public[:], pub)
	return id, nil
}

// ID is the node id derived from the public key: 16 hex digits.
func (id *Identity) ID() string { return KeyID(&id.Public) }

// Fingerprint is the own key's fingerprint (see Fingerprint).
func (id *Identity) Fingerprint() string { return Fingerprint(&id.Public) }

// KeyID derives the stable node id of a public key.
func KeyID(key *[32]byte) string {
	sum := sha256.Sum256(key[:])
	return hex.EncodeToString(sum[:8])
}

// Fingerprint renders a key for two people to read to each other: the first
// 128 bits of its SHA-256 as eight groups of four hex digits.
func Fingerprint(key *[32]byte) string {
	sum := sha256.Sum256(key[:])
	h := hex.EncodeToString(sum[:16])
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// errOpen means a sealed packet failed authentication.
var errOpen = wire.ErrOpen

// probe builds the plaintext probe packet of id.
func (id *Identity) probe() []byte {
	return wire.AppendHeader(make([]byte, 0, wire.HeaderLen), wire.TypeProbe, &id.Public)
}
