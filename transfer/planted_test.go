package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// plant writes a state file as an earlier run would have.
func plant(t *testing.T, path string, s saved) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPlantedStateIgnored: a state file in the wrong place for its
// direction (an outgoing one in the downloads folder, which others may
// write; an incoming one in HOME) is not taken in at start: nothing is
// offered or sent, and /transfers does not list it.
func TestPlantedStateIgnored(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "id_ed25519")
	body := writeRandom(t, secret, 411)
	st, _ := os.Stat(secret)
	sum := sha256.Sum256(body)
	for _, tc := range []struct {
		name string
		out  bool
		dir  func(dl, home string) string
	}{
		{"outgoing in downloads", true, func(dl, home string) string { return filepath.Join(dl, partialDir) }},
		{"incoming in HOME", false, func(dl, home string) string { return home }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newFakeNode()
			mallory := n.addPeer("mallory", false)
			dl, home := t.TempDir(), t.TempDir()
			s := saved{Out: tc.out, TID: "5ec0000000000001", PeerKey: hex.EncodeToString(mallory.key[:]), PeerName: "x",
				Files: []savedFile{{Name: "loot", Size: uint64(len(body)), SHA256: hex.EncodeToString(sum[:])}}}
			if tc.out {
				s.Files[0].Src, s.Files[0].Mtime = secret, st.ModTime().UnixNano()
			} else {
				s.Key = hex.EncodeToString(make([]byte, 32))
			}
			plant(t, filepath.Join(tc.dir(dl, home), fmt.Sprintf("out-5ec0000000000001-%x.json", mallory.key[:4])), s)
			m, err := New(Config{Node: n, Downloads: dl, StateDir: home})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				m.Close()
				for range m.Events() {
				}
			}()
			m.tick(time.Now())
			listed := m.List()
			sent := len(n.sentTo(mallory, wire.KindOffer)) + len(n.sentTo(mallory, wire.KindAccept))
			t.Logf("after start: %d transfers listed %+v; %d payloads to mallory", len(listed), listed, sent)
			if len(listed) != 0 || sent != 0 {
				t.Errorf("the planted state was taken in")
			}
			if n := m.Stats().StatesRefused; n != 1 {
				t.Errorf("Stats.StatesRefused = %d, want 1", n)
			}
		})
	}
}

// folderErrorOf is err's *FolderError, or nil.
func folderErrorOf(err error) *FolderError {
	var fe *FolderError
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// TestUnsafePartialFolderRefused: a partial folder that others can write
// to, that another user owns, or that is a symbolic link is refused at
// start with a FolderError saying which.
func TestUnsafePartialFolderRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		make func(t *testing.T, p string)
		code Code
	}{
		{"writable by others", func(t *testing.T, p string) { os.Mkdir(p, 0o700); os.Chmod(p, 0o777) }, CodeFolderOpen},
		{"writable by the group", func(t *testing.T, p string) { os.Mkdir(p, 0o700); os.Chmod(p, 0o770) }, CodeFolderOpen},
		{"another user's", func(t *testing.T, p string) {
			os.Mkdir(p, 0o700)
			if err := os.Chown(p, os.Getuid()+4242, -1); err != nil {
				t.Skipf("cannot give the folder away: %v", err)
			}
		}, CodeFolderNotOwned},
		{"a symbolic link", func(t *testing.T, p string) { os.Symlink(t.TempDir(), p) }, CodeFolderLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dl := t.TempDir()
			tc.make(t, filepath.Join(dl, partialDir))
			m, err := New(Config{Node: newFakeNode(), Downloads: dl})
			if err == nil {
				m.Close()
				t.Fatalf("started with the partial folder %s", tc.name)
			}
			fe := folderErrorOf(err)
			t.Logf("%s: %v", tc.name, err)
			if fe == nil || fe.Code != tc.code {
				t.Errorf("error %v, want a FolderError %s", err, tc.code)
			}
		})
	}
}
