package shell

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/transfer"
)

// causeNotes are the transfer-failed notices that say an Err.
func causeNotes(err error) []transfer.Event {
	base := transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "receive", Peer: "bob", PeerID: "b0b", Total: 1500,
		First: "a.txt", NumFiles: 1, Err: err}
	var out []transfer.Event
	for _, n := range []struct {
		note transfer.Note
		code transfer.Code
	}{
		{transfer.NotePaused, transfer.CodeLinkLost},
		{transfer.NoteRefused, transfer.CodeBadOffer},
		{transfer.NoteNotSent, transfer.CodeSourceError},
		{transfer.NoteStalled, transfer.CodeTimeout},
		{transfer.NoteFailed, transfer.CodeProtocol},
	} {
		e := base
		e.Note, e.Code = n.note, n.code
		if n.note == transfer.NotePaused {
			e.Resumable = true
		}
		if n.note == transfer.NoteRefused {
			e.ID, e.File = 0, "../x"
		}
		out = append(out, e)
	}
	return out
}

// printed is what the shell prints for e: in the terminal, or in -json.
func printed(e transfer.Event, json bool) string { return shown(e, json) }

// TestTransferErrTextNotShown: the text of a transfer event's Err (the
// transfer package's own, for logs) never reaches the screen or the
// -json "reason": the shell words the cause. Before, the shell printed
// Err as it was ("unsafe file name: it climbs out of the folder (..)",
// transfer's sentence).
func TestTransferErrTextNotShown(t *testing.T) {
	_, bad := transfer.SanitizeName("../x") // as transfer refuses an offered name
	if bad == nil {
		t.Fatal(`SanitizeName("../x") took it`)
	}
	for _, err := range []error{bad, errors.New("transfer: its own words")} {
		for _, e := range causeNotes(err) {
			for _, json := range []bool{false, true} {
				if got := printed(e, json); strings.Contains(got, err.Error()) {
					t.Errorf("%s (json %v) shows Err's text %q: %s", e.Note, json, err, got)
				}
			}
		}
	}
}

// TestTransferCauseWords: each transfer.Cause of an event's Err, as the
// user reads it (here in a "failed" line, the same words in every notice
// that says a cause) and as -json says it ("cause"); every cause
// transfer has is worded here, by the shell's table.
func TestTransferCauseWords(t *testing.T) {
	eof := errors.New("EOF")
	nospace := errors.New("no space left on device")
	cases := []struct {
		x     transfer.Error
		words string
		cmd   string // a command's error: the command that gets it (its line is "! WORDS")
	}{
		{transfer.Error{Cause: transfer.CauseDial, Err: errors.New("dial tcp 10.0.0.5:7117: connect: connection refused")},
			"cannot connect: dial tcp 10.0.0.5:7117: connect: connection refused", ""},
		{transfer.Error{Cause: transfer.CauseConn, Err: eof}, "connection lost: EOF", ""},
		{transfer.Error{Cause: transfer.CauseNoAnswer, Err: eof}, "no answer on the data connection: EOF", ""},
		{transfer.Error{Cause: transfer.CauseForgedAnswer}, "an answer on the data connection without the transfer's key", ""},
		{transfer.Error{Cause: transfer.CauseBusy}, "bob is busy", ""},
		{transfer.Error{Cause: transfer.CauseNoVerdict}, "no verdict from bob", ""},
		{transfer.Error{Cause: transfer.CauseFrameSize, Size: 12}, "a frame of 12 bytes on the data connection", ""},
		{transfer.Error{Cause: transfer.CauseForgedFrame, Seq: 7}, "frame 7 on the data connection failed authentication", ""},
		{transfer.Error{Cause: transfer.CauseEnded}, "the transfer ended", ""},
		{transfer.Error{Cause: transfer.CauseRefused}, "bob refused the data connection", ""},
		{transfer.Error{Cause: transfer.CauseReceiverGaveUp}, "bob gave up", ""},
		{transfer.Error{Cause: transfer.CauseSenderGaveUp}, "bob gave up (a source file changed or could not be read)", ""},
		{transfer.Error{Cause: transfer.CauseNoResume}, "bob's first frame is not a resume frame", ""},
		{transfer.Error{Cause: transfer.CauseFinishedEarly}, "bob finished before all the data was sent", ""},
		{transfer.Error{Cause: transfer.CauseVerdictFile, Index: 9}, "bob sent a verdict about file 9, which the transfer has not", ""},
		{transfer.Error{Cause: transfer.CauseBadVerdict, Index: 42}, "bob sent an unknown verdict (42)", ""},
		{transfer.Error{Cause: transfer.CauseBadFrame, Index: 66}, "bob sent an unexpected frame (type 66)", ""},
		{transfer.Error{Cause: transfer.CauseOutOfOrder, Index: 2, Due: 1}, "bob sent data for file 2 while file 1 is due", ""},
		{transfer.Error{Cause: transfer.CauseBadRange, Index: 0, Off: 100, End: 2000, Have: 100, Size: 1500},
			"bob sent data at 100..2000 of file 0, which has 100 of 1500 bytes", ""},
		{transfer.Error{Cause: transfer.CauseMismatch, File: "d/a.txt"}, "d/a.txt did not match its SHA-256: discarded", ""},
		{transfer.Error{Cause: transfer.CausePeerMismatch, File: "d/a.txt"}, "d/a.txt arrived different from what was offered (SHA-256): bob discarded it", ""},
		{transfer.Error{Cause: transfer.CauseReadSource, File: "/src/a.txt", Err: errors.New("permission denied")}, "cannot read /src/a.txt: permission denied", ""},
		{transfer.Error{Cause: transfer.CauseSourceChanged, File: "/src/a.txt"}, "/src/a.txt changed since it was offered", ""},
		{transfer.Error{Cause: transfer.CauseSourceShrank, File: "/src/a.txt"}, "/src/a.txt got shorter while it was sent", ""},
		{transfer.Error{Cause: transfer.CauseStopped}, "p2pchat stopped", ""},
		{transfer.Error{Cause: transfer.CauseWrite, File: "d/a.txt", Err: nospace},
			"cannot write d/a.txt: no space left on device; the partial file is kept: free some space and the transfer resumes", ""},
		{transfer.Error{Cause: transfer.CauseCreate, File: "/home/a/Downloads", Err: nospace}, "cannot write in /home/a/Downloads: no space left on device", ""},
		{transfer.Error{Cause: transfer.CauseReadBack, File: "d/a.txt", Err: errors.New("input/output error")}, "cannot read d/a.txt back: input/output error", ""},
		{transfer.Error{Cause: transfer.CauseLink, File: "d/a.txt", Err: errors.New("too many links")}, "cannot name d/a.txt: too many links", ""},
		{transfer.Error{Cause: transfer.CauseMkdir, File: "d", Err: errors.New("not a directory")}, "cannot make folder d: not a directory", ""},
		{transfer.Error{Cause: transfer.CausePeerWrite, File: "d/a.txt"}, "bob could not write d/a.txt (disk full?)", ""},
		{transfer.Error{Cause: transfer.CauseNameNotUTF8}, "unsafe file name: not UTF-8", ""},
		{transfer.Error{Cause: transfer.CauseNameAbsolute}, "unsafe file name: an absolute path", ""},
		{transfer.Error{Cause: transfer.CauseNameDrive}, "unsafe file name: a drive letter", ""},
		{transfer.Error{Cause: transfer.CauseNameClimbs}, "unsafe file name: it climbs out of the folder (..)", ""},
		{transfer.Error{Cause: transfer.CauseNameEmpty}, "unsafe file name: empty", ""},
		{transfer.Error{Cause: transfer.CauseNameTooDeep, Have: 40, Size: 32}, "unsafe file name: 40 folders deep, at most 32", ""},
		// commands
		{transfer.Error{Cause: transfer.CauseNoFiles}, "not sent: no files given", "/send bob /src"},
		{transfer.Error{Cause: transfer.CauseNothingThere}, "not sent: nothing to send: no files there", "/send bob /src"},
		{transfer.Error{Cause: transfer.CauseNotFile, File: "/dev/null"}, "not sent: cannot send /dev/null: not a file or folder", "/send bob /dev/null"},
		{transfer.Error{Cause: transfer.CauseReadSource, File: "/src/x", Err: errors.New("no such file or directory")},
			"not sent: cannot read /src/x: no such file or directory", "/send bob /src/x"},
		{transfer.Error{Cause: transfer.CauseTooManyFiles, Size: 4096}, "not sent: more than 4096 files: send fewer at a time", "/send bob /src"},
		{transfer.Error{Cause: transfer.CauseLongName, File: "src/xxx", Size: 1024}, "not sent: src/xxx: name longer than 1024 bytes", "/send bob /src"},
		{transfer.Error{Cause: transfer.CauseTooBig, File: "src/big.iso", Size: 1 << 40}, "not sent: src/big.iso: more than 1099.51 GB in one offer", "/send bob /src"},
		{transfer.Error{Cause: transfer.CauseNamesTooLong, Have: 3000, Size: 262144},
			"not sent: the names of these 3000 files take more than 262144 bytes: send fewer at a time", "/send bob /src"},
		{transfer.Error{Cause: transfer.CauseStopped}, "not sent: p2pchat stopped", "/send bob /src/a.txt"},
		{transfer.Error{Cause: transfer.CauseNoTransfer, Index: 7}, "no transfer 7 (/transfers lists them)", "/cancel 7"},
		{transfer.Error{Cause: transfer.CauseNoOffer, Index: 7}, "no offer 7 (/transfers lists them)", "/accept 7"},
		{transfer.Error{Cause: transfer.CauseTooManyAll, Have: 32, Size: 32},
			"too many transfers being received: 32 in all, at most 32; the offer waits", "/accept 7"},
		{transfer.Error{Cause: transfer.CauseTooManyPeer, Have: 4, Size: 4},
			"too many transfers being received: 4 from that peer, at most 4; the offer waits", "/accept 7"},
		{transfer.Error{Cause: transfer.CauseTooMuchOffered, Have: 1 << 40, Size: 1 << 40},
			"too many transfers being received: 1099.51 GB offered by that peer in them, at most 1099.51 GB; the offer waits", "/accept 7"},
	}
	tested := map[transfer.Cause]bool{}
	for _, tc := range cases {
		tested[tc.x.Cause] = true
		x := tc.x
		if tc.cmd != "" {
			for _, json := range []bool{false, true} {
				var out strings.Builder
				s := newSession(Config{Node: newFakeNode(testPeers()...), Out: &out, JSON: json, Transfers: &errTransfers{err: &x}})
				s.now = func() time.Time { return at }
				s.execute(tc.cmd)
				s.flush()
				want := "! " + tc.words + "\n"
				if json {
					want = `{"event":"error","text":"` + strings.ReplaceAll(tc.words, `"`, `\"`) + "\"}\n"
				}
				if got := out.String(); got != want {
					t.Errorf("%s, %s (json %v):\n got %s\nwant %s", x.Cause, tc.cmd, json, got, want)
				}
			}
			continue
		}
		e := transfer.Event{Kind: transfer.EvFailed, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Code: transfer.CodeProtocol, Total: 1500,
			First: "a.txt", NumFiles: 1, Note: transfer.NoteFailed, Err: &x}
		want := "14:05 ! a.txt (1.5 kB) from bob failed: " + tc.words + "\n"
		if got := printed(e, false); got != want {
			t.Errorf("%s:\n got %s\nwant %s", x.Cause, got, want)
		}
		wantJSON := `{"event":"transfer-failed","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","code":"protocol","cause":"` + string(x.Cause) +
			`","resumable":false,"reason":"a.txt (1.5 kB) from bob failed: ` + strings.ReplaceAll(tc.words, `"`, `\"`) + `","time":"` + at.Format(time.RFC3339) + "\"}\n"
		if got := printed(e, true); got != wantJSON {
			t.Errorf("%s (json):\n got %s\nwant %s", x.Cause, got, wantJSON)
		}
	}
	for _, c := range transfer.Causes() {
		if !tested[c] {
			t.Errorf("cause %q has no line here", c)
		}
		if _, ok := transferCauses[c]; !ok {
			t.Errorf("cause %q has no words in transferCauses", c)
		}
	}
	if len(transferCauses) != len(transfer.Causes()) {
		t.Errorf("transferCauses words %d causes, transfer has %d", len(transferCauses), len(transfer.Causes()))
	}
}

// errTransfers answers every transfer command with err.
type errTransfers struct {
	fakeTransfers
	err error
}

func (f *errTransfers) Send(string, []string) (int, error) { return 0, f.err }
func (f *errTransfers) Accept(int) error                   { return f.err }
func (f *errTransfers) Reject(int) error                   { return f.err }
func (f *errTransfers) Cancel(int) error                   { return f.err }

// TestTransferDecided: /accept, /reject or /cancel of a transfer decided
// already: the shell says so, and for /reject how to stop it.
func TestTransferDecided(t *testing.T) {
	for _, tc := range []struct{ cmd, want string }{
		{"/accept 3", "! transfer 3 is active already\n"},
		{"/reject 3", "! transfer 3 is active already: /cancel 3 stops it\n"},
		{"/cancel 3", "! transfer 3 is active already\n"},
	} {
		var out strings.Builder
		s := newSession(Config{Node: newFakeNode(testPeers()...), Out: &out,
			Transfers: &errTransfers{err: &transfer.DecidedError{ID: 3, State: transfer.Active}}})
		s.execute(tc.cmd)
		s.flush()
		if got := out.String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.cmd, got, tc.want)
		}
	}
}
