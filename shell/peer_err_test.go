package shell

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/store"
	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// errNoSpace is a store error as the store makes it on a full disk.
var errNoSpace = fmt.Errorf("message store: commit: %w (%w)", store.ErrNoSpace,
	&fs.PathError{Op: "write", Path: "/home/a/.p2pchat/messages.db", Err: syscall.ENOSPC})

// cmdOut is what the shell prints for cmd when the node's commands fail
// with err.
func cmdOut(err error, cmd string, json bool) string {
	n := newFakeNode(testPeers()...)
	n.sendErr, n.cmdErr = err, err
	return executed(Config{Node: n, JSON: json}, cmd)
}

// executed is what a session of cfg prints for cmd at time at.
func executed(cfg Config, cmd string) string {
	var out strings.Builder
	cfg.Out = &out
	s := newSession(cfg)
	s.now = func() time.Time { return at }
	s.execute(cmd)
	s.flush()
	return out.String()
}

// eventOut is what the shell prints for a peer event.
func eventOut(e peer.Event, json bool) string { return shown(e, json) }

// errEvents are the peer events that carry an Err.
func errEvents(err error) []peer.Event {
	return []peer.Event{
		{Kind: peer.EvWarning, Peer: "bob", PeerID: "k1", Code: peer.CodeNotSent, Err: err},
		{Kind: peer.EvWarning, Code: peer.CodePinsNotSaved, Err: err},
		{Kind: peer.EvWarning, Peer: "bob", PeerID: "k1", Code: peer.CodeInboxNotSaved, Err: err},
		{Kind: peer.EvFailed, Peer: "bob", PeerID: "k1", ID: 9, Reason: peer.ReasonNotSaved, Code: peer.CodeSaveFailed, Err: err},
	}
}

// TestPeerErrTextNotShown: the Error text of peer's errors (and of the
// store's, and of wire's name errors) is for logs: it never reaches the
// screen or -json, neither as a command's answer nor in an event; the
// shell words them. Before, the shell printed err.Error() as it was
// (`invalid name: "bad name" contains a space or control character`,
// "too many messages waiting: 1024 messages for bob are not yet
// acknowledged", "away text longer than 250 bytes", "message store:
// commit: ...").
func TestPeerErrTextNotShown(t *testing.T) {
	errs := []error{
		wire.ValidName("bad name"),
		wire.ValidName(strings.Repeat("x", 40)),
		peer.ValidText("\xff"),
		&peer.QueueFullError{Queue: peer.QueuePeerCount, Peer: "bob", Have: 1024, Max: 1024},
		&peer.QueueFullError{Queue: peer.QueuePeerBytes, Peer: "bob", Have: 4 << 20, Max: 4 << 20},
		&peer.QueueFullError{Queue: peer.QueueAllBytes, Have: 64 << 20, Max: 64 << 20},
		&peer.QueueFullError{Queue: peer.QueueEvery},
		&peer.QueueFullError{Queue: peer.QueueBook},
		peer.ErrAwayTooLong,
		peer.ErrAwayNotUTF8,
		fmt.Errorf("%w: bob", peer.ErrOwnName),
		errNoSpace,
		fmt.Errorf("message store: 5000 bytes would wait in all, more than 4096: %w", store.ErrFull),
		fmt.Errorf("peer: save pins: %w", &fs.PathError{Op: "open", Path: "/home/a/.p2pchat/known_peers", Err: syscall.EACCES}),
		errors.New("peer: its own words"),
	}
	cmds := []string{"hi", "/to bob hi", "/all hi", "/away x", "/trust bob", "/unsend bob"}
	for _, err := range errs {
		for _, json := range []bool{false, true} {
			for _, cmd := range cmds {
				if got := cmdOut(err, cmd, json); strings.Contains(got, err.Error()) {
					t.Errorf("%s (json %v) shows the error's text %q: %s", cmd, json, err, got)
				}
			}
			for _, e := range errEvents(err) {
				if got := eventOut(e, json); strings.Contains(got, err.Error()) {
					t.Errorf("%s (json %v) shows the error's text %q: %s", e.Code, json, err, got)
				}
			}
		}
	}
}

// TestPeerErrWords: each error of peer's commands (and wire's name
// errors, and the store's) as the user reads it, in the terminal and in
// -json, with the command that gets it: the shell's words, from the
// error's type and fields.
func TestPeerErrWords(t *testing.T) {
	cases := []struct {
		err   error
		cmd   string
		words string
	}{
		{&peer.QueueFullError{Queue: peer.QueuePeerCount, Peer: "bob", Have: 1024, Max: 1024}, "/unsend bob",
			"cannot unsend to bob: 1024 messages for bob are not yet acknowledged (at most 1024)"},
		{&peer.QueueFullError{Queue: peer.QueuePeerBytes, Peer: "bob", Have: 4 << 20, Max: 4 << 20}, "/unsend bob",
			"cannot unsend to bob: 4096 KiB of messages for bob are not yet acknowledged (at most 4096 KiB)"},
		{&peer.QueueFullError{Queue: peer.QueueAllBytes, Have: 64 << 20, Max: 64 << 20}, "/unsend bob",
			"cannot unsend to bob: 64 MiB of messages wait for their recipients (at most 64 MiB)"},
		{&peer.QueueFullError{Queue: peer.QueueEvery}, "/unsend bob", "cannot unsend to bob: every queue is full"},
		{&peer.QueueFullError{Queue: peer.QueueBook}, "/unsend bob", "cannot unsend to bob: the address book is full"},
		{&peer.QueueFullError{Queue: peer.QueuePeerCount, Peer: "bob", Have: 1024, Max: 1024}, "/to bob hi",
			"not sent: too many messages waiting for bob; try again when they are delivered"},
		{wire.ValidName(""), "/trust bob", "cannot trust bob: empty"},
		{wire.ValidName("\xff"), "/trust bob", "cannot trust bob: not UTF-8"},
		{wire.ValidName(strings.Repeat("x", 40)), "/trust bob", "cannot trust bob: 40 characters, at most 32"},
		{wire.ValidName("bob@home"), "/trust bob", `cannot trust bob: "bob@home" may not contain '@' or '/'`},
		{wire.ValidName("bad name"), "/trust bob", `cannot trust bob: "bad name" contains a space or control character`},
		{fmt.Errorf("%w: bob", peer.ErrOwnName), "/trust bob", "cannot trust bob: bob uses your own name alice: it cannot have it"},
		{peer.ErrAwayTooLong, "/away x", fmt.Sprintf("away text longer than %d bytes", peer.MaxAwayBytes)},
		{peer.ErrAwayNotUTF8, "/away x", "away text is not valid UTF-8"},
		{fmt.Errorf("peer: %w", peer.ErrNotUTF8), "/to bob hi", "message is not valid UTF-8; nothing sent"},
		{fmt.Errorf("peer: %w", peer.ErrClosed), "/unsend bob", "cannot unsend to bob: p2pchat is shutting down"},
		{errNoSpace, "/unsend bob", "cannot unsend to bob: the disk holding the home directory is full: no space left on device"},
		{fmt.Errorf("message store: %w", store.ErrFull), "/unsend bob", "cannot unsend to bob: the message store is full"},
		{fmt.Errorf("message store: %w", store.ErrClosed), "/unsend bob", "cannot unsend to bob: the message store is closed"},
		{fmt.Errorf("peer: save pins: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}), "/unsend bob",
			"cannot unsend to bob: a disk error on /x: permission denied"},
		{errors.New("peer: its own words"), "/to bob hi", "not sent to bob: an unknown error"},
	}
	for _, tc := range cases {
		for _, json := range []bool{false, true} {
			want := "! " + tc.words + "\n"
			if json {
				want = `{"event":"error","text":"` + strings.ReplaceAll(tc.words, `"`, `\"`) + "\"}\n"
			}
			if got := cmdOut(tc.err, tc.cmd, json); got != want {
				t.Errorf("%v, %s (json %v):\n got %s\nwant %s", tc.err, tc.cmd, json, got, want)
			}
		}
	}
	// /nick with a bad name: the real validator's error, worded.
	for _, tc := range []struct{ name, words string }{
		{"bad name", `bad nickname, unchanged: "bad name" contains a space or control character`},
		{"a/b", `bad nickname, unchanged: "a/b" may not contain '@' or '/'`},
		{strings.Repeat("é", 33), "bad nickname, unchanged: 33 characters, at most 32"},
	} {
		if got, want := cmdOut(nil, "/nick "+tc.name, false), "! "+tc.words+"\n"; got != want {
			t.Errorf("/nick %s:\n got %s\nwant %s", tc.name, got, want)
		}
	}
}

// TestPeerErrWordsElsewhere: a peer error answering a transfer command,
// and the store's error when the shown mark cannot be written, are worded
// too (before, their text was shown as it was).
func TestPeerErrWordsElsewhere(t *testing.T) {
	for _, json := range []bool{false, true} {
		var out strings.Builder
		s := newSession(Config{Node: newFakeNode(testPeers()...), Out: &out, JSON: json,
			Transfers: &errTransfers{err: fmt.Errorf("peer: its own words: %w", peer.ErrClosed)}})
		s.now = func() time.Time { return at }
		s.execute("/cancel 7")
		err := error(errNoSpace)
		s.markErr.Store(&err)
		s.flush()
		s.pr.flush()
		want := []string{"p2pchat is shutting down",
			"cannot record which messages were shown (the disk holding the home directory is full: no space left on device): after a restart some may be shown again"}
		for i, w := range want {
			if json {
				want[i] = `{"event":"error","text":"` + w + `"}`
			} else {
				want[i] = "! " + w
			}
		}
		if got := out.String(); got != strings.Join(want, "\n")+"\n" {
			t.Errorf("json %v:\n got %s\nwant %s", json, got, strings.Join(want, "\n"))
		}
	}
}
