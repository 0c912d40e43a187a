package shell

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"syscall"

	"github.com/p2pchat/p2pchat/discovery"
	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/roomsnet"
	"github.com/p2pchat/p2pchat/transfer"
)

// TestWords: the errors main prints at start-up, as Words words them
// (main prefixes "p2pchat: " and its advice): the shell's words from the
// error's code and fields, the operating system's own text after them,
// never the domain package's Error text.
func TestWords(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "signing.key"), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, damagedKey := roomsnet.LoadSigner(home, [32]byte{})
	listen := fmt.Errorf("peer: listen udp port %d: %w", 7117, &net.OpError{Op: "listen", Net: "udp4",
		Addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7117}, Err: os.NewSyscallError("bind", syscall.EADDRINUSE)})
	have := []string{"eth0", "lo"}
	cases := []struct {
		err   error
		words string
	}{
		{store.ErrLocked, "another p2pchat is using this home directory"},
		{fmt.Errorf("message store: home directory %s is not writable: %w", "/h", &fs.PathError{Op: "open", Path: "/h/messages.db", Err: syscall.EACCES}),
			"a disk error on /h/messages.db: permission denied"},
		{errNoSpace, "the disk holding the home directory is full: no space left on device"},
		{&fs.PathError{Op: "mkdir", Path: "/h", Err: syscall.EACCES}, "a disk error on /h: permission denied"},
		{damagedKey, "the signing key file " + filepath.Join(home, "signing.key") +
			" is damaged (expected 64 hex digits): move it away to make a new one (your rooms' members then see a new key)"},
		{&roomsnet.FileError{Kind: roomsnet.FileSigner, File: "/h/signing.key", Damage: roomsnet.DamageUnread, Err: &fs.PathError{Op: "open", Path: "/h/signing.key", Err: syscall.EACCES}},
			"cannot read the signing key file /h/signing.key: permission denied"},
		{&roomsnet.SaveError{File: "/h/signing.key", Err: &fs.PathError{Op: "write", Path: "/h/signing.key", Err: syscall.ENOSPC}},
			"cannot save /h/signing.key: no space left on device"},
		{&roomsnet.SaveError{File: "seqs", Err: &fs.PathError{Op: "write", Path: "/h/rooms/seqs", Err: syscall.ENOSPC}},
			"cannot save rooms/seqs: no space left on device"},
		{&roomsnet.FileError{Kind: roomsnet.FileJournal, File: "x.journal", Damage: roomsnet.DamageCutShort, Record: 2, Offset: 40, Rest: 3},
			"x.journal: damaged journal: record 2 (at byte 40, 3 bytes from there not read) is cut short"},
		{listen, "cannot listen on 127.0.0.1:7117: address already in use"},
		{&net.OpError{Op: "read", Net: "udp4", Err: os.NewSyscallError("recvfrom", syscall.ECONNREFUSED)}, "a network error: connection refused"},
		{&discovery.IfaceError{Problem: discovery.IfaceMissing, Name: "wlan9", Have: have}, `no network interface "wlan9" (have: eth0, lo)`},
		{&discovery.IfaceError{Problem: discovery.IfaceMissing, Name: "wlan9"}, `no network interface "wlan9" (have: none)`},
		{&discovery.IfaceError{Problem: discovery.BindNotFound, Bind: netip.MustParseAddr("10.0.0.9"), Have: have}, "no usable network interface has address 10.0.0.9 (have: eth0, lo)"},
		{&discovery.IfaceError{Problem: discovery.BindNotIPv4, Bind: netip.MustParseAddr("::1")}, "cannot bind to ::1: only IPv4 addresses are supported (-bind)"},
		{&discovery.IfaceError{Problem: discovery.IfaceDown, Name: "eth0"}, `network interface "eth0" is down`},
		{&discovery.IfaceError{Problem: discovery.IfaceLoopback, Name: "lo"}, `network interface "lo" is a loopback interface`},
		{&discovery.IfaceError{Problem: discovery.IfaceNoMulticast, Name: "tun0"}, `network interface "tun0" does not support multicast`},
		{&discovery.IfaceError{Problem: discovery.IfaceNoAddress, Name: "eth1"}, `network interface "eth1" has no IP address`},
		{&transfer.FolderError{Path: "/d/.partial", Code: transfer.CodeFolderLink}, "/d/.partial is a symbolic link, not a folder"},
		{&transfer.FolderError{Path: "/d/.partial", Code: transfer.CodeFolderNotDir}, "/d/.partial is not a folder"},
		{&transfer.FolderError{Path: "/d/.partial", Code: transfer.CodeFolderNotOwned, UID: 1001}, "/d/.partial belongs to another user (uid 1001)"},
		{&transfer.FolderError{Path: "/d/.partial", Code: transfer.CodeFolderOpen, Mode: fs.ModeDir | 0o777}, "others may write in /d/.partial (mode -rwxrwxrwx)"},
		{fmt.Errorf("transfer: downloads folder %s is unusable: %w", "/d", &fs.PathError{Op: "mkdir", Path: "/d", Err: syscall.ENOTDIR}),
			"a disk error on /d: not a directory"},
		{fmt.Errorf("peer: name: %w", wire.ValidName("a b")), `"a b" contains a space or control character`},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", Server: "10.0.0.1:53", IsNotFound: true}, "no such host"},
		{&net.DNSError{Err: "i/o timeout", Name: "x.lan", Server: "10.0.0.1:53", IsTimeout: true}, "no answer from the DNS server"},
		{&net.DNSError{Err: "server misbehaving", Name: "x.lan", Server: "10.0.0.1:53"}, "the name could not be resolved"},
		{errors.New("peer: its own words"), "an unknown error"},
	}
	for _, tc := range cases {
		if got := Words(tc.err); got != tc.words {
			t.Errorf("Words(%v):\n got %s\nwant %s", tc.err, got, tc.words)
		}
	}
}
