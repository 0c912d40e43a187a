package transfer

import (
	"errors"
	"fmt"
	"strings"
)

// Cause says what went wrong, finer than an event's Code: the cause of a
// pause or failure (Event.Err), or why an offered name was refused. The
// values are the "cause" field of p2pchat's -json output; the shell words
// each one (its words are not here).
type Cause string

// Causes of a lost data connection (Code link-lost: resumable).
const (
	CauseDial         Cause = "dial"          // the receiver could not be reached: Err
	CauseConn         Cause = "conn"          // the data connection broke: Err
	CauseNoAnswer     Cause = "no-answer"     // the receiver did not answer on the data connection: Err
	CauseForgedAnswer Cause = "forged-answer" // an answer on the data connection without the transfer's key
	CauseBusy         Cause = "busy"          // the receiver had no room for the connection now
	CauseNoVerdict    Cause = "no-verdict"    // the receiver said nothing about the files it got
	CauseFrameSize    Cause = "frame-size"    // a frame's length is out of bounds: Size
	CauseForgedFrame  Cause = "forged-frame"  // a frame failed authentication: Seq
	CauseEnded        Cause = "ended"         // the transfer ended meanwhile
)

// Causes of a final failure of the data connection.
const (
	CauseRefused        Cause = "refused"          // peer-cancelled: the receiver refused the data connection
	CauseReceiverGaveUp Cause = "receiver-gave-up" // peer-failed
	CauseSenderGaveUp   Cause = "sender-gave-up"   // peer-failed: a source file changed or could not be read there
	CauseNoResume       Cause = "no-resume"        // protocol: the receiver's first frame is not a resume frame
	CauseFinishedEarly  Cause = "finished-early"   // protocol: the receiver ended before the data did
	CauseVerdictFile    Cause = "verdict-file"     // protocol: a verdict about file Index, which the transfer has not
	CauseBadVerdict     Cause = "bad-verdict"      // protocol: verdict Index is unknown
	CauseBadFrame       Cause = "bad-frame"        // protocol: a frame of type Index, unexpected
	CauseOutOfOrder     Cause = "out-of-order"     // protocol: data for file Index while file Due is due
	CauseBadRange       Cause = "bad-range"        // protocol: data at Off..End of file Index, which has Have of Size bytes
	CauseMismatch       Cause = "mismatch"         // hash-mismatch, receiver: File did not match its SHA-256 and was discarded
	CausePeerMismatch   Cause = "peer-mismatch"    // hash-mismatch, sender: File arrived different at the peer, which discarded it
	CauseReadSource     Cause = "read-source"      // source-error: File (a source) cannot be read: Err
	CauseSourceChanged  Cause = "source-changed"   // source-changed: File changed since it was offered
	CauseSourceShrank   Cause = "source-shrank"    // source-changed: File got shorter while it was sent
	CauseStopped        Cause = "stopped"          // p2pchat stopped while it read the files
)

// Causes of a disk error (Code disk-error: resumable, the partial file is
// kept).
const (
	CauseWrite     Cause = "write"      // File cannot be written: Err
	CauseCreate    Cause = "create"     // nothing can be written in File (the downloads folder): Err
	CauseReadBack  Cause = "read-back"  // File cannot be read back to verify it: Err
	CauseLink      Cause = "link"       // File cannot be given its name: Err
	CauseMkdir     Cause = "mkdir"      // folder File cannot be made: Err
	CausePeerWrite Cause = "peer-write" // the peer could not write File (disk full?)
)

// Causes of a refused name (Note refused, code bad-offer): errors.Is(err,
// ErrBadName) holds for these.
const (
	CauseNameNotUTF8  Cause = "name-not-utf8" // not UTF-8
	CauseNameAbsolute Cause = "name-absolute" // an absolute path
	CauseNameDrive    Cause = "name-drive"    // a drive letter
	CauseNameClimbs   Cause = "name-climbs"   // ".." climbs out of the folder
	CauseNameEmpty    Cause = "name-empty"    // nothing left of it
	CauseNameTooDeep  Cause = "name-too-deep" // Have folders deep, at most Size
)

// Causes of a command's error (Send, Accept, Reject, Cancel), and of
// SanitizeName's (name-*), besides read-source and stopped.
const (
	CauseNoFiles        Cause = "no-files"         // Send: no paths given
	CauseNothingThere   Cause = "nothing-there"    // Send: no regular file in the paths
	CauseNotFile        Cause = "not-file"         // Send: File is not a file or a folder
	CauseTooManyFiles   Cause = "too-many-files"   // Send: more than Size files
	CauseLongName       Cause = "long-name"        // Send: File's name is longer than Size bytes
	CauseTooBig         Cause = "too-big"          // Send: with File, more than Size bytes in one offer
	CauseNamesTooLong   Cause = "names-too-long"   // Send: the names of Have files take more than Size bytes
	CauseNoTransfer     Cause = "no-transfer"      // Cancel: no transfer Index
	CauseNoOffer        Cause = "no-offer"         // Accept, Reject: no incoming offer Index
	CauseTooManyAll     Cause = "too-many-all"     // Accept: Have transfers being received, in all (ErrTooManyTransfers)
	CauseTooManyPeer    Cause = "too-many-peer"    // Accept: Have being received from that peer (ErrTooManyTransfers)
	CauseTooMuchOffered Cause = "too-much-offered" // Accept: Have bytes offered in those of that peer (ErrTooManyTransfers)
)

// Causes lists every Cause: an event's Err, if not nil, is an *Error with
// one of them, and so are the commands' errors but DecidedError and
// peer.ErrUnknownPeer.
func Causes() []Cause {
	return []Cause{
		CauseDial, CauseConn, CauseNoAnswer, CauseForgedAnswer, CauseBusy, CauseNoVerdict, CauseFrameSize, CauseForgedFrame, CauseEnded,
		CauseRefused, CauseReceiverGaveUp, CauseSenderGaveUp, CauseNoResume, CauseFinishedEarly, CauseVerdictFile, CauseBadVerdict,
		CauseBadFrame, CauseOutOfOrder, CauseBadRange, CauseMismatch, CausePeerMismatch, CauseReadSource, CauseSourceChanged,
		CauseSourceShrank, CauseStopped,
		CauseWrite, CauseCreate, CauseReadBack, CauseLink, CauseMkdir, CausePeerWrite,
		CauseNameNotUTF8, CauseNameAbsolute, CauseNameDrive, CauseNameClimbs, CauseNameEmpty, CauseNameTooDeep,
		CauseNoFiles, CauseNothingThere, CauseNotFile, CauseTooManyFiles, CauseLongName, CauseTooBig, CauseNamesTooLong,
		CauseNoTransfer, CauseNoOffer, CauseTooManyAll, CauseTooManyPeer, CauseTooMuchOffered,
	}
}

// Error is why a data connection, the reading of a source or an offered
// name failed: a Cause and the fields its words need. Names in it are
// ours (a source path, the sanitised name of a received file, the
// downloads folder), never the peer's text; Err is the local cause (an
// error of the operating system or the network stack), if any. Its Error
// text is for logs: the shell words it from Cause and the fields.
type Error struct {
	Cause Cause
	File  string // the file or folder concerned, if any
	// Index: the file a frame named (verdict-file, out-of-order,
	// bad-range), the frame type (bad-frame), the verdict (bad-verdict) or
	// the transfer's id (no-transfer, no-offer).
	Index int
	Due   int    // out-of-order: the file due
	Off   int64  // bad-range: where the data starts
	End   int64  // bad-range: where it ends
	Have  int64  // bad-range: bytes of the file on disk; name-too-deep: its depth; too-many-*, too-much-offered, names-too-long: how many
	Size  int64  // bad-range: the file's size; frame-size: the frame's; the bound of name-too-deep, too-many-*, too-much-offered, long-name, too-big, names-too-long
	Seq   uint64 // forged-frame: the frame's number
	Err   error  // the local cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("transfer: " + string(e.Cause))
	if e.File != "" {
		fmt.Fprintf(&b, " %q", e.File)
	}
	switch e.Cause {
	case CauseVerdictFile, CauseBadVerdict, CauseBadFrame:
		fmt.Fprintf(&b, " %d", e.Index)
	case CauseOutOfOrder:
		fmt.Fprintf(&b, " file %d, due %d", e.Index, e.Due)
	case CauseBadRange:
		fmt.Fprintf(&b, " file %d at %d..%d, has %d of %d", e.Index, e.Off, e.End, e.Have, e.Size)
	case CauseFrameSize:
		fmt.Fprintf(&b, " %d", e.Size)
	case CauseForgedFrame:
		fmt.Fprintf(&b, " %d", e.Seq)
	case CauseNameTooDeep, CauseNamesTooLong, CauseTooManyAll, CauseTooManyPeer, CauseTooMuchOffered:
		fmt.Fprintf(&b, " %d of %d", e.Have, e.Size)
	case CauseTooManyFiles, CauseLongName, CauseTooBig:
		fmt.Fprintf(&b, " %d", e.Size)
	case CauseNoTransfer, CauseNoOffer:
		fmt.Fprintf(&b, " %d", e.Index)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports that a refused name's Error is ErrBadName.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadName:
		return strings.HasPrefix(string(e.Cause), "name-")
	case ErrTooManyTransfers:
		return e.Cause == CauseTooManyAll || e.Cause == CauseTooManyPeer || e.Cause == CauseTooMuchOffered
	case errProtocol:
		return e.Cause == CauseFrameSize || e.Cause == CauseForgedFrame
	}
	return false
}

// causeOf is err as an *Error: itself if it is one, or cause c with err
// as its Err.
func causeOf(c Cause, err error) *Error {
	if e := (*Error)(nil); errors.As(err, &e) {
		return e
	}
	return &Error{Cause: c, Err: err}
}
