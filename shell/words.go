package shell

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/p2pchat/p2pchat/discovery"
	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/rooms"
	"github.com/p2pchat/p2pchat/roomsnet"
	"github.com/p2pchat/p2pchat/transfer"
)

// Words is what the user reads for err, an error of a domain package
// (peer, wire, the message store, transfer, rooms, roomsnet, discovery)
// or of the operating system: the shell's words, from the error's code and
// fields, never its Error text (an operating system's error is said in its
// own words after the shell's; the text of any other error is not shown:
// "an unknown error"). main words with it the errors it prints itself (at
// start-up), so that an error reads the same there as in the shell.
func Words(err error) string {
	if err == nil {
		return ""
	}
	var ie *discovery.IfaceError
	var te *transfer.Error
	var fo *transfer.FolderError
	var fe *roomsnet.FileError
	var se *roomsnet.SaveError
	var c rooms.Code
	var oe *net.OpError
	var de *net.DNSError
	var kf *peer.KeyFileError
	switch {
	case errors.As(err, &kf):
		return keyFileWords(kf)
	case errors.As(err, &ie):
		return ifaceWords(ie)
	case errors.As(err, &te):
		return causeWords("", te)
	case errors.As(err, &fo):
		return folderWords(fo)
	case errors.As(err, &fe) && fe.Kind == roomsnet.FileSigner:
		if fe.Damage == roomsnet.DamageUnread {
			return "cannot read the signing key file " + fe.File + ": " + osWords(fe.Err)
		}
		return "the signing key file " + fe.File + " is damaged (expected 64 hex digits): move it away to make a new one (your rooms' members then see a new key)"
	case errors.As(err, &fe):
		return fe.File + ": " + fileWords(fe)
	case errors.As(err, &se):
		if strings.Contains(se.File, "/") {
			return "cannot save " + se.File + ": " + osWords(se.Err)
		}
		return "cannot save rooms/" + se.File + ": " + osWords(se.Err)
	case errors.As(err, &c):
		return roomWords("", err)
	case errors.As(err, &de) && de.IsNotFound:
		return "no such host"
	case errors.As(err, &de) && de.IsTimeout:
		return "no answer from the DNS server"
	case errors.As(err, &de):
		return "the name could not be resolved"
	case errors.As(err, &oe) && oe.Op == "listen":
		return fmt.Sprintf("cannot listen on %v: %s", oe.Addr, osWords(err))
	case errors.As(err, &oe):
		return "a network error: " + osWords(err)
	}
	return peerErrWords(err)
}

// ifaceWords says why discovery cannot use the interfaces -iface names or
// the address -bind gives.
func ifaceWords(e *discovery.IfaceError) string {
	have := "none"
	if len(e.Have) > 0 {
		have = strings.Join(e.Have, ", ")
	}
	switch e.Problem {
	case discovery.IfaceMissing:
		return fmt.Sprintf("no network interface %q (have: %s)", e.Name, have)
	case discovery.BindNotFound:
		return fmt.Sprintf("no usable network interface has address %v (have: %s)", e.Bind, have)
	case discovery.BindNotIPv4:
		return fmt.Sprintf("cannot bind to %v: only IPv4 addresses are supported (-bind)", e.Bind)
	case discovery.IfaceDown:
		return fmt.Sprintf("network interface %q is down", e.Name)
	case discovery.IfaceLoopback:
		return fmt.Sprintf("network interface %q is a loopback interface", e.Name)
	case discovery.IfaceNoMulticast:
		return fmt.Sprintf("network interface %q does not support multicast", e.Name)
	case discovery.IfaceNoAddress:
		return fmt.Sprintf("network interface %q has no IP address", e.Name)
	}
	return fmt.Sprintf("network interface %q cannot be used", e.Name)
}

// folderWords says why the folder of partial files in -downloads is not
// one transfer can use.
func folderWords(e *transfer.FolderError) string {
	switch e.Code {
	case transfer.CodeFolderLink:
		return e.Path + " is a symbolic link, not a folder"
	case transfer.CodeFolderNotDir:
		return e.Path + " is not a folder"
	case transfer.CodeFolderNotOwned:
		return fmt.Sprintf("%s belongs to another user (uid %d)", e.Path, e.UID)
	case transfer.CodeFolderOpen:
		return fmt.Sprintf("others may write in %s (mode %v)", e.Path, e.Mode.Perm())
	}
	return e.Path + " cannot be used (" + string(e.Code) + ")"
}

// keyFileWords words why the identity key could not be loaded.
func keyFileWords(e *peer.KeyFileError) string {
	switch e.Op {
	case peer.KeyFileHome:
		return "the home directory " + e.Path + " is unusable: " + osWords(e.Err)
	case peer.KeyFileDamaged:
		return "the key file " + e.Path + " is damaged (expected 64 hex digits): move it away to make a new identity (your peers then see a new key)"
	}
	return "cannot " + string(e.Op) + " the key file " + e.Path + ": " + osWords(e.Err)
}
