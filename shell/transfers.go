package shell

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/p2pchat/p2pchat/transfer"
)

// Transfers is what the shell needs of the file transfers
// (*transfer.Manager implements it). Optional: without it /send and the
// other transfer commands say that file transfer is off.
type Transfers interface {
	Send(peerID string, paths []string) (int, error)
	Accept(id int) error
	Reject(id int) error
	Cancel(id int) error
	List() []transfer.Info
	Live() bool // an outgoing transfer is still running
	Events() <-chan transfer.Event
}

// progressState is what the shell remembers of a running transfer to draw
// its progress line: a smoothed rate.
type progressState struct {
	name        string
	dir         string
	bytes       int64
	total       int64
	at          time.Time
	rate        float64 // bytes a second, smoothed
	lastQuarter int64   // plain mode: the last quarter printed
}

// execTransfer runs a transfer command.
func (s *session) execTransfer(cmd Command) {
	if s.cfg.Transfers == nil {
		s.userError("file transfer is off in this p2pchat")
		return
	}
	t := s.cfg.Transfers
	var err error
	switch cmd.Kind {
	case CmdSend:
		p, ok := s.resolve(cmd.Name)
		if !ok {
			s.notSent++
			return
		}
		var id int
		if id, err = t.Send(p.ID, cmd.Paths); err == nil {
			s.sends++
			if !s.cfg.JSON {
				s.info(fmt.Sprintf("preparing transfer %d to %s (checking the files' SHA-256)", id, p.Name))
			}
			return
		}
		s.notSent++
		s.userError("not sent: " + commandErrWords(err))
		return
	case CmdAccept:
		err = t.Accept(cmd.Count)
	case CmdReject:
		if err = t.Reject(cmd.Count); err != nil {
			text := commandErrWords(err)
			if d := (*transfer.DecidedError)(nil); errors.As(err, &d) {
				text += fmt.Sprintf(": /cancel %d stops it", d.ID)
			}
			s.userError(text)
		}
		return
	case CmdCancel:
		err = t.Cancel(cmd.Count)
	case CmdTransfers:
		s.listTransfers(t.List())
		return
	}
	if err != nil {
		s.userError(commandErrWords(err))
	}
}

// commandErrWords words the error of a transfer command: a
// *transfer.Error from transferCauses, a *transfer.DecidedError here;
// any other (peer.ErrUnknownPeer) by peerErrWords.
func commandErrWords(err error) string {
	if d := (*transfer.DecidedError)(nil); errors.As(err, &d) {
		return fmt.Sprintf("transfer %d is %s already", d.ID, d.State)
	}
	if x := (*transfer.Error)(nil); errors.As(err, &x) {
		return causeWords("", x)
	}
	return peerErrWords(err)
}

func (s *session) listTransfers(list []transfer.Info) {
	if s.cfg.JSON {
		out := jsonTransfers{Event: "transfers", Transfers: []jsonTransferInfo{}}
		for _, in := range list {
			out.Transfers = append(out.Transfers, jsonTransferInfo{in.ID, in.Direction, in.Peer, in.PeerID, in.Files, in.Name, in.Bytes, in.Total, int64(in.Rate), in.State.String(), string(in.Code)})
		}
		s.pr.print(encodeJSON(out), false)
		return
	}
	if len(list) == 0 {
		s.info("no transfers yet (/send NAME PATH... offers files)")
		return
	}
	rows := [][]string{{"id", "dir", "peer", "files", "done", "rate", "state"}}
	for _, in := range list {
		what := Sanitize(shortPath(in.Name))
		if in.Files > 1 {
			what = fmt.Sprintf("%d files: %s…", in.Files, what)
		}
		rate := ""
		if in.Rate > 0 {
			rate = transfer.FormatBytes(int64(in.Rate)) + "/s"
		}
		state := in.State.String()
		if in.Code != "" {
			state += " (" + string(in.Code) + ")"
		}
		dir := "→ " + Sanitize(in.Peer)
		if in.Direction == "receive" {
			dir = "← " + Sanitize(in.Peer)
		}
		rows = append(rows, []string{fmt.Sprint(in.ID), in.Direction, dir, what,
			fmt.Sprintf("%s / %s", transfer.FormatBytes(in.Bytes), transfer.FormatBytes(in.Total)), rate, state})
	}
	s.pr.print(strings.Join(columns(rows), "\n"), false)
}

// printTransfer shows one transfer event.
func (s *session) printTransfer(e transfer.Event) {
	if s.hideTransfer(e) {
		return
	}
	if s.progress == nil {
		s.progress = map[int]*progressState{}
	}
	ps := s.progress[e.ID]
	switch e.Kind {
	case transfer.EvOffer, transfer.EvOffered:
		ps = &progressState{dir: e.Direction, total: e.Total, at: e.Time}
		if len(e.Files) > 0 {
			ps.name = e.Files[0]
			if len(e.Files) > 1 {
				ps.name = fmt.Sprintf("%d files", len(e.Files))
			}
		}
		if e.ID != 0 {
			s.progress[e.ID] = ps
		}
	case transfer.EvProgress:
		if ps == nil {
			ps = &progressState{dir: e.Direction, total: e.Total, at: e.Time, bytes: e.Bytes}
			s.progress[e.ID] = ps
		}
		if dt := e.Time.Sub(ps.at).Seconds(); dt > 0 && e.Bytes >= ps.bytes {
			r := float64(e.Bytes-ps.bytes) / dt
			if ps.rate == 0 {
				ps.rate = r
			} else {
				ps.rate = 0.7*ps.rate + 0.3*r
			}
		}
		ps.bytes, ps.total, ps.at = e.Bytes, e.Total, e.Time
	case transfer.EvDone, transfer.EvFailed:
		if (e.Kind == transfer.EvDone && e.Last) || (e.Kind == transfer.EvFailed && !e.Resumable) {
			delete(s.progress, e.ID)
		}
	}
	if s.cfg.JSON {
		if v := transferJSON(e); v != nil {
			s.pr.print(encodeJSON(v), false)
		}
		return
	}
	if e.Kind == transfer.EvProgress {
		s.showProgress(e.ID, ps)
		return
	}
	stamp := e.Time.Format("15:04")
	text := Sanitize(oneLine(transferText(e)))
	switch e.Kind {
	case transfer.EvFailed:
		s.pr.print(stamp+" ! "+text, false)
	default:
		s.pr.print(stamp+" * "+text, e.Kind == transfer.EvOffer && s.cfg.Bell && s.cfg.Interactive)
	}
}

// showProgress draws the progress line: in place on a terminal (all
// running transfers on one line), every quarter in plain output.
func (s *session) showProgress(id int, ps *progressState) {
	if !s.cfg.Interactive {
		if ps.total <= 0 {
			return
		}
		q := ps.bytes * 4 / ps.total
		if q > ps.lastQuarter && q < 4 {
			ps.lastQuarter = q
			s.pr.print(fmt.Sprintf("%s * transfer %d: %s", ps.at.Format("15:04"), id, progressText(ps)), false)
		}
		return
	}
	ids := make([]int, 0, len(s.progress))
	for id, p := range s.progress {
		if p.bytes > 0 {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	var parts []string
	for _, id := range ids {
		p := s.progress[id]
		arrow := "↑"
		if p.dir == "receive" {
			arrow = "↓"
		}
		parts = append(parts, fmt.Sprintf("%s %d %s %s", arrow, id, Sanitize(shortPath(p.name)), progressText(p)))
	}
	s.pr.status(strings.Join(parts, " | "))
}

// progressText is "45% 120.0 MB of 268.4 MB, 98.1 MB/s, 0:02 left".
func progressText(p *progressState) string {
	pct := 100.0
	if p.total > 0 {
		pct = float64(p.bytes) * 100 / float64(p.total)
	}
	t := fmt.Sprintf("%3.0f%% %s of %s", math.Floor(pct), transfer.FormatBytes(p.bytes), transfer.FormatBytes(p.total))
	if p.rate > 0 {
		left := time.Duration(float64(p.total-p.bytes) / p.rate * float64(time.Second)).Round(time.Second)
		t += fmt.Sprintf(", %s/s, %d:%02d left", transfer.FormatBytes(int64(p.rate)), int(left.Minutes()), int(left.Seconds())%60)
	}
	return t
}

func shortPath(s string) string {
	if r := []rune(s); len(r) > 32 {
		return "…" + string(r[len(r)-31:])
	}
	return s
}

// JSON objects of transfer events (doc.go documents them).
type jsonOffer struct {
	Event  string   `json:"event"`
	ID     int      `json:"id"`
	From   string   `json:"from"`
	PeerID string   `json:"peer_id"`
	Files  []string `json:"files"`
	Count  int      `json:"count"`
	Bytes  int64    `json:"bytes"`
	Time   string   `json:"time"`
}

type jsonOffered struct {
	Event  string   `json:"event"`
	ID     int      `json:"id"`
	To     string   `json:"to"`
	PeerID string   `json:"peer_id"`
	Files  []string `json:"files"`
	Count  int      `json:"count"`
	Bytes  int64    `json:"bytes"`
	Time   string   `json:"time"`
}

type jsonTransferState struct {
	Event     string `json:"event"`
	ID        int    `json:"id"`
	Direction string `json:"direction"`
	Peer      string `json:"peer"`
	PeerID    string `json:"peer_id"`
	Bytes     int64  `json:"bytes"`
	Total     int64  `json:"total"`
	Time      string `json:"time"`
}

type jsonProgress struct {
	Event string `json:"event"`
	ID    int    `json:"id"`
	Bytes int64  `json:"bytes"`
	Total int64  `json:"total"`
	Time  string `json:"time"`
}

type jsonTransferDone struct {
	Event     string `json:"event"`
	ID        int    `json:"id"`
	Direction string `json:"direction"`
	Peer      string `json:"peer"`
	PeerID    string `json:"peer_id"`
	Path      string `json:"path"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
	Last      bool   `json:"last"`
	Time      string `json:"time"`
}

type jsonTransferFailed struct {
	Event     string `json:"event"`
	ID        int    `json:"id"`
	Direction string `json:"direction"`
	Peer      string `json:"peer"`
	PeerID    string `json:"peer_id"`
	Code      string `json:"code"`
	Cause     string `json:"cause,omitempty"` // the transfer.Cause of Err, if any
	Resumable bool   `json:"resumable"`
	Reason    string `json:"reason"`
	Count     int    `json:"count,omitempty"` // bad-offer: the offers this line stands for
	Time      string `json:"time"`
}

type jsonTransferInfo struct {
	ID        int    `json:"id"`
	Direction string `json:"direction"`
	Peer      string `json:"peer"`
	PeerID    string `json:"peer_id"`
	Files     int    `json:"files"`
	Name      string `json:"name"`
	Bytes     int64  `json:"bytes"`
	Total     int64  `json:"total"`
	Rate      int64  `json:"rate"`
	State     string `json:"state"`
	Code      string `json:"code"`
}

type jsonTransfers struct {
	Event     string             `json:"event"`
	Transfers []jsonTransferInfo `json:"transfers"`
}

func transferJSON(e transfer.Event) any {
	ts := e.Time.Format(time.RFC3339)
	files := e.Files
	if files == nil {
		files = []string{}
	}
	switch e.Kind {
	case transfer.EvOffer:
		return jsonOffer{string(e.Kind), e.ID, e.Peer, e.PeerID, files, len(files), e.Total, ts}
	case transfer.EvOffered:
		return jsonOffered{string(e.Kind), e.ID, e.Peer, e.PeerID, files, len(files), e.Total, ts}
	case transfer.EvProgress:
		return jsonProgress{string(e.Kind), e.ID, e.Bytes, e.Total, ts}
	case transfer.EvDone:
		return jsonTransferDone{string(e.Kind), e.ID, e.Direction, e.Peer, e.PeerID, e.Path, e.Bytes, e.SHA256, e.Last, ts}
	case transfer.EvFailed:
		return jsonTransferFailed{string(e.Kind), e.ID, e.Direction, e.Peer, e.PeerID, string(e.Code), string(causeOf(e.Err)), e.Resumable, transferText(e), e.Count, ts}
	default: // accepted, transfer-resumed
		return jsonTransferState{string(e.Kind), e.ID, e.Direction, e.Peer, e.PeerID, e.Bytes, e.Total, ts}
	}
}

// transferText is what a transfer event says: the words for its kind,
// note and code, with what the user can do about it and a bad-offer
// refusal's count.
func transferText(e transfer.Event) string {
	text := transferWords(e)
	if e.Kind == transfer.EvAccepted && e.Path != "" { // accepted by us
		if e.Auto {
			text += " (-accept-from)"
		}
		text += "; it goes to " + e.Path
	}
	switch e.Hint {
	case transfer.HintDecide:
		text += fmt.Sprintf(": /accept %d or /reject %d", e.ID, e.ID)
	case transfer.HintCancel:
		text += fmt.Sprintf(" (/cancel %d)", e.ID)
	case transfer.HintDrop:
		text += fmt.Sprintf(" (/cancel %d drops it)", e.ID)
	}
	if e.Code == transfer.CodeBadOffer && e.Count > 1 {
		text += fmt.Sprintf(" (%d offers refused like this)", e.Count)
	}
	return text
}

// transferWords words a transfer event from its kind, note and code.
func transferWords(e transfer.Event) string {
	dir := "to"
	if e.Direction == "receive" {
		dir = "from"
	}
	switch e.Kind {
	case transfer.EvOffer:
		return fmt.Sprintf("%s offers %s", e.Peer, transferWhat(e))
	case transfer.EvOffered:
		return fmt.Sprintf("offered %s to %s: waiting for %s to accept", transferWhat(e), e.Peer, e.Peer)
	case transfer.EvAccepted:
		if e.Direction == "receive" { // by us
			return fmt.Sprintf("accepted %s from %s", transferWhat(e), e.Peer)
		}
		return fmt.Sprintf("%s accepted %s", e.Peer, transferWhat(e))
	case transfer.EvDone:
		if e.Direction == "receive" {
			return fmt.Sprintf("received %s (%s) from %s, SHA-256 verified", transfer.ShortName(e.Path), transfer.FormatBytes(e.Bytes), e.Peer)
		}
		return fmt.Sprintf("%s: %s arrived at %s and verified", e.Peer, transfer.ShortName(e.File), e.Peer)
	case transfer.EvResumed:
		return fmt.Sprintf("%s %s %s resumed at %s of %s", transferWhat(e), dir, e.Peer, transfer.FormatBytes(e.Bytes), transfer.FormatBytes(e.Total))
	}
	switch e.Note {
	case transfer.NotePaused:
		return fmt.Sprintf("%s %s %s paused at %s of %s (%v): it resumes when %s is back", transferWhat(e), dir, e.Peer,
			transfer.FormatBytes(e.Bytes), transfer.FormatBytes(e.Total), causeWords(e.Peer, e.Err), e.Peer)
	case transfer.NoteInterrupted:
		return fmt.Sprintf("%s %s %s was interrupted: it resumes when %s is back", transferWhat(e), dir, e.Peer, e.Peer)
	case transfer.NoteQuitting:
		return fmt.Sprintf("%s to %s stopped: p2pchat is quitting", transferWhat(e), e.Peer)
	case transfer.NoteRefused:
		return fmt.Sprintf("%s offered a file named %q: %s; the offer was refused", e.Peer, transfer.ShortName(e.File), causeWords(e.Peer, e.Err))
	case transfer.NoteRejected:
		return fmt.Sprintf("rejected %s from %s", transferWhat(e), e.Peer)
	case transfer.NoteCancelled:
		return fmt.Sprintf("cancelled %s %s %s", transferWhat(e), dir, e.Peer)
	case transfer.NoteNotSent:
		if e.Code == transfer.CodeSourceChanged {
			return fmt.Sprintf("%s to %s not sent: %s changed while it was read", transferWhat(e), e.Peer, e.File)
		}
		return fmt.Sprintf("%s to %s not sent: %s", transferWhat(e), e.Peer, causeWords(e.Peer, e.Err))
	case transfer.NotePeerRejected:
		switch e.Code {
		case transfer.CodeBusy:
			return fmt.Sprintf("%s has too many offers waiting: %s not sent", e.Peer, transferWhat(e))
		case transfer.CodeBadOffer:
			return fmt.Sprintf("%s cannot take %s (a name it refuses)", e.Peer, transferWhat(e))
		}
		return fmt.Sprintf("%s rejected %s", e.Peer, transferWhat(e))
	case transfer.NotePeerCancelled:
		switch e.Code {
		case transfer.CodeUnknown:
			return fmt.Sprintf("%s no longer knows %s", e.Peer, transferWhat(e))
		case transfer.CodePeerFailed:
			return fmt.Sprintf("%s gave up on %s", e.Peer, transferWhat(e))
		}
		return fmt.Sprintf("%s cancelled %s", e.Peer, transferWhat(e))
	case transfer.NoteUnanswered:
		return fmt.Sprintf("%s to %s given up: %s did not answer the offer in %v", transferWhat(e), e.Peer, e.Peer, e.Limit)
	case transfer.NoteStalled:
		why := "no data connection"
		if e.Err != nil {
			why = causeWords(e.Peer, e.Err)
		}
		return fmt.Sprintf("%s to %s given up at %s of %s: no progress in %v (%s)", transferWhat(e), e.Peer,
			transfer.FormatBytes(e.Bytes), transfer.FormatBytes(e.Total), e.Limit, why)
	case transfer.NoteFailed:
		return fmt.Sprintf("%s %s %s failed: %s", transferWhat(e), dir, e.Peer, causeWords(e.Peer, e.Err))
	}
	if e.Code == transfer.CodeOfferExpired {
		return fmt.Sprintf("%s's offer %d is gone: %s stopped repeating it or went offline", e.Peer, e.ID, e.Peer)
	}
	return fmt.Sprintf("transfer %d: %s", e.ID, e.Code)
}

// transferWhat names a transfer's files: "a.txt (1.5 kB)", "3 files
// (2.5 MB, d/a.txt first)".
func transferWhat(e transfer.Event) string {
	if e.NumFiles == 1 {
		return fmt.Sprintf("%s (%s)", e.First, transfer.FormatBytes(e.Total))
	}
	return fmt.Sprintf("%d files (%s, %s first)", e.NumFiles, transfer.FormatBytes(e.Total), e.First)
}

// causeOf is the cause of err, an event's Err ("" if it has none).
func causeOf(err error) transfer.Cause {
	if x := (*transfer.Error)(nil); errors.As(err, &x) {
		return x.Cause
	}
	return ""
}

// causeWords words err, an event's Err, with peer the transfer's peer:
// transfer errors are *transfer.Error, worded from their cause and fields
// by transferCauses; the text of any other error is not shown (transfer
// says what it means in codes, and its Error text is for logs).
func causeWords(peer string, err error) string {
	x := (*transfer.Error)(nil)
	if !errors.As(err, &x) {
		return "an unknown error"
	}
	if f, ok := transferCauses[x.Cause]; ok {
		return f(peer, x)
	}
	return string(x.Cause)
}

// transferCauses words each transfer.Cause from its fields (names are cut
// for one line; the whole line is sanitised when printed). x.Err is the
// operating system's or the network stack's own error.
var transferCauses = map[transfer.Cause]func(peer string, x *transfer.Error) string{
	// a lost data connection
	transfer.CauseDial: func(_ string, x *transfer.Error) string { return fmt.Sprintf("cannot connect: %v", x.Err) },
	transfer.CauseConn: func(_ string, x *transfer.Error) string { return fmt.Sprintf("connection lost: %v", x.Err) },
	transfer.CauseNoAnswer: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("no answer on the data connection: %v", x.Err)
	},
	transfer.CauseForgedAnswer: func(string, *transfer.Error) string {
		return "an answer on the data connection without the transfer's key"
	},
	transfer.CauseBusy:      func(peer string, _ *transfer.Error) string { return peer + " is busy" },
	transfer.CauseNoVerdict: func(peer string, _ *transfer.Error) string { return "no verdict from " + peer },
	transfer.CauseFrameSize: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("a frame of %d bytes on the data connection", x.Size)
	},
	transfer.CauseForgedFrame: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("frame %d on the data connection failed authentication", x.Seq)
	},
	transfer.CauseEnded: func(string, *transfer.Error) string { return "the transfer ended" },
	// a final failure of the data connection
	transfer.CauseRefused:        func(peer string, _ *transfer.Error) string { return peer + " refused the data connection" },
	transfer.CauseReceiverGaveUp: func(peer string, _ *transfer.Error) string { return peer + " gave up" },
	transfer.CauseSenderGaveUp: func(peer string, _ *transfer.Error) string {
		return peer + " gave up (a source file changed or could not be read)"
	},
	transfer.CauseNoResume: func(peer string, _ *transfer.Error) string {
		return peer + "'s first frame is not a resume frame"
	},
	transfer.CauseFinishedEarly: func(peer string, _ *transfer.Error) string { return peer + " finished before all the data was sent" },
	transfer.CauseVerdictFile: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s sent a verdict about file %d, which the transfer has not", peer, x.Index)
	},
	transfer.CauseBadVerdict: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s sent an unknown verdict (%d)", peer, x.Index)
	},
	transfer.CauseBadFrame: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s sent an unexpected frame (type %d)", peer, x.Index)
	},
	transfer.CauseOutOfOrder: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s sent data for file %d while file %d is due", peer, x.Index, x.Due)
	},
	transfer.CauseBadRange: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s sent data at %d..%d of file %d, which has %d of %d bytes", peer, x.Off, x.End, x.Index, x.Have, x.Size)
	},
	transfer.CauseMismatch: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("%s did not match its SHA-256: discarded", transfer.ShortName(x.File))
	},
	transfer.CausePeerMismatch: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s arrived different from what was offered (SHA-256): %s discarded it", transfer.ShortName(x.File), peer)
	},
	transfer.CauseReadSource: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot read %s: %v", x.File, x.Err)
	},
	transfer.CauseSourceChanged: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("%s changed since it was offered", x.File)
	},
	transfer.CauseSourceShrank: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("%s got shorter while it was sent", x.File)
	},
	transfer.CauseStopped: func(string, *transfer.Error) string { return "p2pchat stopped" },
	// a disk error
	transfer.CauseWrite: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot write %s: %v; the partial file is kept: free some space and the transfer resumes", transfer.ShortName(x.File), x.Err)
	},
	transfer.CauseCreate: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot write in %s: %v", x.File, x.Err)
	},
	transfer.CauseReadBack: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot read %s back: %v", transfer.ShortName(x.File), x.Err)
	},
	transfer.CauseLink: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot name %s: %v", transfer.ShortName(x.File), x.Err)
	},
	transfer.CauseMkdir: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot make folder %s: %v", transfer.ShortName(x.File), x.Err)
	},
	transfer.CausePeerWrite: func(peer string, x *transfer.Error) string {
		return fmt.Sprintf("%s could not write %s (disk full?)", peer, transfer.ShortName(x.File))
	},
	// a refused name
	transfer.CauseNameNotUTF8:  func(string, *transfer.Error) string { return "unsafe file name: not UTF-8" },
	transfer.CauseNameAbsolute: func(string, *transfer.Error) string { return "unsafe file name: an absolute path" },
	transfer.CauseNameDrive:    func(string, *transfer.Error) string { return "unsafe file name: a drive letter" },
	transfer.CauseNameClimbs: func(string, *transfer.Error) string {
		return "unsafe file name: it climbs out of the folder (..)"
	},
	transfer.CauseNameEmpty: func(string, *transfer.Error) string { return "unsafe file name: empty" },
	transfer.CauseNameTooDeep: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("unsafe file name: %d folders deep, at most %d", x.Have, x.Size)
	},
	// a command's error (/send, /accept, /reject, /cancel)
	transfer.CauseNoFiles:      func(string, *transfer.Error) string { return "no files given" },
	transfer.CauseNothingThere: func(string, *transfer.Error) string { return "nothing to send: no files there" },
	transfer.CauseNotFile: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("cannot send %s: not a file or folder", x.File)
	},
	transfer.CauseTooManyFiles: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("more than %d files: send fewer at a time", x.Size)
	},
	transfer.CauseLongName: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("%s: name longer than %d bytes", x.File, x.Size)
	},
	transfer.CauseTooBig: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("%s: more than %s in one offer", x.File, transfer.FormatBytes(x.Size))
	},
	transfer.CauseNamesTooLong: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("the names of these %d files take more than %d bytes: send fewer at a time", x.Have, x.Size)
	},
	transfer.CauseNoTransfer: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("no transfer %d (/transfers lists them)", x.Index)
	},
	transfer.CauseNoOffer: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("no offer %d (/transfers lists them)", x.Index)
	},
	transfer.CauseTooManyAll: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("too many transfers being received: %d in all, at most %d; the offer waits", x.Have, x.Size)
	},
	transfer.CauseTooManyPeer: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("too many transfers being received: %d from that peer, at most %d; the offer waits", x.Have, x.Size)
	},
	transfer.CauseTooMuchOffered: func(_ string, x *transfer.Error) string {
		return fmt.Sprintf("too many transfers being received: %s offered by that peer in them, at most %s; the offer waits",
			transfer.FormatBytes(x.Have), transfer.FormatBytes(x.Size))
	},
}
