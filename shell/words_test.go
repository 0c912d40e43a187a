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
	"github.com/p2pchat/p2pchat/peer"
	"github.com/p2pchat/p2pchat/roomsnet"
	"github.com/p2pchat/p2pchat/transfer"
)

// wordsCase is one event of a domain package and the lines the user reads
// for it: in the terminal and in -json ("TIME" stands for the event's
// time in RFC 3339).
type wordsCase struct {
	name  string
	ev    any // peer.Event, transfer.Event or roomsnet.Event
	plain string
	json  string
}

// wordsCases are the notices whose sentences only the shell writes: the
// domain packages send codes and fields.
func wordsCases() []wordsCase {
	return append([]wordsCase{
		// peer: why a peer left (the -json "reason" values are a contract)
		{"left quit",
			peer.Event{Kind: peer.EvLeft, Peer: "bob", PeerID: "b0b", Code: peer.CodeQuit},
			"14:05 * bob left (quit)",
			`{"event":"left","name":"bob","peer_id":"b0b","reason":"quit","time":"TIME"}`},
		{"left no answer",
			peer.Event{Kind: peer.EvLeft, Peer: "bob", PeerID: "b0b", Code: peer.CodeNoAnswer},
			"14:05 * bob left (no answer)",
			`{"event":"left","name":"bob","peer_id":"b0b","reason":"no answer","time":"TIME"}`},
		{"pending peer-left quit",
			peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "b0b", ID: 4, Reason: peer.ReasonPeerLeft, Code: peer.CodePeerLeft, Left: peer.CodeQuit},
			"14:05 ! not delivered to bob yet: bob left (quit); it will be delivered if bob comes back",
			`{"event":"pending","to":"bob","peer_id":"b0b","id":4,"code":"peer-left","reason":"bob left (quit); it will be delivered if bob comes back","time":"TIME"}`},
		// peer: pending and failed messages
		{"pending no-answer",
			peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "b0b", ID: 3, Reason: peer.ReasonNoAnswer, Code: peer.CodeNoAnswer},
			"14:05 ! not delivered to bob yet: no answer (still trying)",
			`{"event":"pending","to":"bob","peer_id":"b0b","id":3,"code":"no-answer","reason":"no answer (still trying)","time":"TIME"}`},
		{"pending peer-left",
			peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "b0b", ID: 4, Reason: peer.ReasonPeerLeft, Code: peer.CodePeerLeft, Left: peer.CodeNoAnswer},
			"14:05 ! not delivered to bob yet: bob left (no answer); it will be delivered if bob comes back",
			`{"event":"pending","to":"bob","peer_id":"b0b","id":4,"code":"peer-left","reason":"bob left (no answer); it will be delivered if bob comes back","time":"TIME"}`},
		{"pending kept on disk",
			peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "b0b", ID: 5, Reason: peer.ReasonQueued, Code: peer.CodeKept},
			"14:05 ! not delivered to bob yet: kept on disk: the next run sends it",
			`{"event":"pending","to":"bob","peer_id":"b0b","id":5,"code":"queued","reason":"kept on disk: the next run sends it","time":"TIME"}`},
		{"pending stopped while saving",
			peer.Event{Kind: peer.EvPending, Peer: "bob", PeerID: "b0b", ID: 6, Reason: peer.ReasonQueued, Code: peer.CodeSaving},
			"14:05 ! not delivered to bob yet: p2pchat stopped while saving it: if the save completes, the next run sends it",
			`{"event":"pending","to":"bob","peer_id":"b0b","id":6,"code":"queued","reason":"p2pchat stopped while saving it: if the save completes, the next run sends it","time":"TIME"}`},
		{"failed stopped before saved",
			peer.Event{Kind: peer.EvFailed, Peer: "bob", PeerID: "b0b", ID: 7, Reason: peer.ReasonStopped, Code: peer.CodeStoppedUnsaved},
			"14:05 ! not delivered to bob: p2pchat stopped before it was saved",
			`{"event":"failed","to":"bob","peer_id":"b0b","id":7,"code":"stopped","reason":"p2pchat stopped before it was saved","time":"TIME"}`},
		{"failed stopped before acknowledged",
			peer.Event{Kind: peer.EvFailed, Peer: "bob", PeerID: "b0b", ID: 8, Reason: peer.ReasonStopped, Code: peer.CodeStoppedUnacked},
			"14:05 ! not delivered to bob: p2pchat stopped before it was acknowledged",
			`{"event":"failed","to":"bob","peer_id":"b0b","id":8,"code":"stopped","reason":"p2pchat stopped before it was acknowledged","time":"TIME"}`},
		{"failed not saved",
			peer.Event{Kind: peer.EvFailed, Peer: "bob", PeerID: "b0b", ID: 9, Reason: peer.ReasonNotSaved, Code: peer.CodeSaveFailed, Err: errNoSpace},
			"14:05 ! not delivered to bob: not sent: it could not be saved: the disk holding the home directory is full: no space left on device",
			`{"event":"failed","to":"bob","peer_id":"b0b","id":9,"code":"not-saved","reason":"not sent: it could not be saved: the disk holding the home directory is full: no space left on device","time":"TIME"}`},
		{"failed unsent",
			peer.Event{Kind: peer.EvFailed, Peer: "bob", PeerID: "b0b", ID: 10, Reason: peer.ReasonUnsent, Code: peer.CodeUnsent},
			"14:05 ! not delivered to bob: dropped by /unsend",
			`{"event":"failed","to":"bob","peer_id":"b0b","id":10,"code":"discarded","reason":"dropped by /unsend","time":"TIME"}`},
		// peer: notices
		{"moved",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeMoved, OldAddr: "10.0.0.5:7117", Addr: "10.0.0.6:7118"},
			"14:05 * bob moved from 10.0.0.5:7117 to 10.0.0.6:7118",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"bob moved from 10.0.0.5:7117 to 10.0.0.6:7118","time":"TIME"}`},
		{"messages wait",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeWaiting, Count: 2},
			"14:05 * 2 messages wait for bob",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"2 messages wait for bob","time":"TIME"}`},
		{"udp works again",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeUDPBack},
			"14:05 * UDP to bob works again",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"UDP to bob works again","time":"TIME"}`},
		{"udp gets no answer",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeUDPSilent},
			"14:05 * UDP to bob gets no answer: using TCP",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"UDP to bob gets no answer: using TCP","time":"TIME"}`},
		{"delivered after all",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeDeliveredLate, Text: "see you at noon"},
			"14:05 * delivered to bob after all: see you at noon",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"delivered to bob after all: see you at noon","time":"TIME"}`},
		{"trusted",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeTrusted, OldName: "bob@laptop2", Fingerprint: "ab12-cd34"},
			"14:05 * bob@laptop2 is now trusted as bob (key ab12-cd34)",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"bob@laptop2 is now trusted as bob (key ab12-cd34)","time":"TIME"}`},
		{"not sent to",
			peer.Event{Kind: peer.EvWarning, Peer: "bob", PeerID: "b0b", Code: peer.CodeNotSent, Err: &peer.QueueFullError{Queue: peer.QueuePeerCount, Peer: "bob", Have: 1024, Max: 1024}},
			"14:05 ! not sent to bob: 1024 messages for bob are not yet acknowledged (at most 1024)",
			`{"event":"warning","name":"bob","peer_id":"b0b","text":"not sent to bob: 1024 messages for bob are not yet acknowledged (at most 1024)","time":"TIME"}`},
		{"offline",
			peer.Event{Kind: peer.EvInfo, Peer: "bob", PeerID: "b0b", Code: peer.CodeOffline},
			"14:05 * bob is offline: the message waits until bob is back",
			`{"event":"info","name":"bob","peer_id":"b0b","text":"bob is offline: the message waits until bob is back","time":"TIME"}`},
		{"pins not saved",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodePinsNotSaved,
				Err: fmt.Errorf("peer: save pins: %w", &fs.PathError{Op: "open", Path: "/home/a/.p2pchat/known_peers", Err: syscall.EACCES})},
			"14:05 ! could not save trusted peers: a disk error on /home/a/.p2pchat/known_peers: permission denied",
			`{"event":"warning","text":"could not save trusted peers: a disk error on /home/a/.p2pchat/known_peers: permission denied","time":"TIME"}`},
		{"saved messages not restored",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeNotRestored, Count: 3, Name: "carol"},
			"14:05 ! 3 saved messages for carol are not restored: the address book is full",
			`{"event":"warning","text":"3 saved messages for carol are not restored: the address book is full","time":"TIME"}`},
		{"inbox not saved",
			peer.Event{Kind: peer.EvWarning, Peer: "bob", PeerID: "b0b", Code: peer.CodeInboxNotSaved, Err: errNoSpace},
			"14:05 ! messages from bob cannot be saved (the disk holding the home directory is full: no space left on device): they wait at bob until they can",
			`{"event":"warning","name":"bob","peer_id":"b0b","text":"messages from bob cannot be saved (the disk holding the home directory is full: no space left on device): they wait at bob until they can","time":"TIME"}`},
		// peer: names and keys
		{"name own",
			peer.Event{Kind: peer.EvWarning, Peer: "alice@laptop2", PeerID: "a11", Code: peer.CodeNameOwn, Name: "alice"},
			"14:05 ! another peer also calls itself alice (your name); it is shown as alice@laptop2",
			`{"event":"warning","name":"alice@laptop2","peer_id":"a11","text":"another peer also calls itself alice (your name); it is shown as alice@laptop2","time":"TIME"}`},
		{"name taken",
			peer.Event{Kind: peer.EvWarning, Peer: "bob@laptop2", PeerID: "b0b", Code: peer.CodeNameTaken, Name: "bob", Fingerprint: "AAAA-BBBB"},
			"14:05 ! another peer is already shown as bob: this one (key AAAA-BBBB) is shown as bob@laptop2. Compare '/whois bob@laptop2' in person; '/trust bob@laptop2' gives it the name.",
			`{"event":"warning","name":"bob@laptop2","peer_id":"b0b","text":"another peer is already shown as bob: this one (key AAAA-BBBB) is shown as bob@laptop2. Compare '/whois bob@laptop2' in person; '/trust bob@laptop2' gives it the name.","time":"TIME"}`},
		{"key changed",
			peer.Event{Kind: peer.EvWarning, Peer: "bob@laptop2", PeerID: "b0b", Code: peer.CodeKeyChanged, Name: "bob"},
			"14:05 ! a peer with a DIFFERENT KEY claims the name bob: it is shown as bob@laptop2, not as bob. It may be an impostor, or bob reinstalled p2pchat. Compare '/whois bob@laptop2' with bob in person, then '/trust bob@laptop2' to accept the new key.",
			`{"event":"warning","name":"bob@laptop2","peer_id":"b0b","text":"a peer with a DIFFERENT KEY claims the name bob: it is shown as bob@laptop2, not as bob. It may be an impostor, or bob reinstalled p2pchat. Compare '/whois bob@laptop2' with bob in person, then '/trust bob@laptop2' to accept the new key.","time":"TIME"}`},
		// peer: what the message store found damaged (Why is for the log)
		{"store shown mark",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageShownMark, File: "shown"}},
			"14:05 ! message store: the shown mark (HOME/shown) is damaged: messages received since the last good mark may be shown again",
			`{"event":"warning","text":"message store: the shown mark (HOME/shown) is damaged: messages received since the last good mark may be shown again","time":"TIME"}`},
		{"store meta fixed",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageMetaFixed, File: "messages.db"}},
			"14:05 ! message store: a flipped bit in a meta page of messages.db was found and set right",
			`{"event":"warning","text":"message store: a flipped bit in a meta page of messages.db was found and set right","time":"TIME"}`},
		{"store meta torn",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageMetaTorn, File: "messages.db"}},
			"14:05 ! message store: one of the two meta pages of messages.db is damaged (a write torn by a crash?): the last change before it may be lost",
			`{"event":"warning","text":"message store: one of the two meta pages of messages.db is damaged (a write torn by a crash?): the last change before it may be lost","time":"TIME"}`},
		{"store rebuilt",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageRebuilt, File: "messages.db", Aside: "messages.db.damaged-1700000000", Count: 12, Why: "page 5 out of range"}},
			"14:05 ! message store: messages.db was damaged; it was moved to messages.db.damaged-1700000000 and 12 records were recovered from it (messages already delivered may be sent again, already shown may show again)",
			`{"event":"warning","text":"message store: messages.db was damaged; it was moved to messages.db.damaged-1700000000 and 12 records were recovered from it (messages already delivered may be sent again, already shown may show again)","time":"TIME"}`},
		{"store record inbox",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageRecord, Bucket: store.BucketIn, Entry: 7, HasEntry: true}},
			"14:05 ! message store: damaged record in inbox (entry 7), skipped",
			`{"event":"warning","text":"message store: damaged record in inbox (entry 7), skipped","time":"TIME"}`},
		{"store record outbox",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageRecord, Bucket: store.BucketOut, Key: "5d89caf8", Entry: 2, HasEntry: true}},
			"14:05 ! message store: damaged record in outbox for key 5d89caf8… (message 2), skipped",
			`{"event":"warning","text":"message store: damaged record in outbox for key 5d89caf8… (message 2), skipped","time":"TIME"}`},
		{"store record positions",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageRecord, Bucket: store.BucketPos, Key: "5d89caf8"}},
			"14:05 ! message store: damaged record in sender positions for key 5d89caf8…, skipped",
			`{"event":"warning","text":"message store: damaged record in sender positions for key 5d89caf8…, skipped","time":"TIME"}`},
		{"store record counters",
			peer.Event{Kind: peer.EvWarning, Code: peer.CodeStoreDamaged, Damage: &store.Damage{Kind: store.DamageRecord, Bucket: store.BucketMeta}},
			"14:05 ! message store: damaged record in counters, skipped",
			`{"event":"warning","text":"message store: damaged record in counters, skipped","time":"TIME"}`},
		// transfer
		{"offer",
			transfer.Event{Kind: transfer.EvOffer, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Files: []string{"a.txt"}, Total: 1500,
				First: "a.txt", NumFiles: 1, Hint: transfer.HintDecide},
			"14:05 * bob offers a.txt (1.5 kB): /accept 2 or /reject 2",
			`{"event":"offer","id":2,"from":"bob","peer_id":"b0b","files":["a.txt"],"count":1,"bytes":1500,"time":"TIME"}`},
		{"offer of files",
			transfer.Event{Kind: transfer.EvOffer, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Files: []string{"d/a.txt", "d/b.txt"}, Total: 2500000,
				First: "d/a.txt", NumFiles: 2, Hint: transfer.HintDecide},
			"14:05 * bob offers 2 files (2.5 MB, d/a.txt first): /accept 2 or /reject 2",
			`{"event":"offer","id":2,"from":"bob","peer_id":"b0b","files":["d/a.txt","d/b.txt"],"count":2,"bytes":2500000,"time":"TIME"}`},
		{"offered",
			transfer.Event{Kind: transfer.EvOffered, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Files: []string{"a.txt"}, Total: 1500,
				First: "a.txt", NumFiles: 1, Hint: transfer.HintCancel},
			"14:05 * offered a.txt (1.5 kB) to bob: waiting for bob to accept (/cancel 1)",
			`{"event":"offered","id":1,"to":"bob","peer_id":"b0b","files":["a.txt"],"count":1,"bytes":1500,"time":"TIME"}`},
		{"accepted by us",
			transfer.Event{Kind: transfer.EvAccepted, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Total: 1500, Path: "/home/a/Downloads",
				First: "a.txt", NumFiles: 1},
			"14:05 * accepted a.txt (1.5 kB) from bob; it goes to /home/a/Downloads",
			`{"event":"accepted","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","bytes":0,"total":1500,"time":"TIME"}`},
		{"accepted by us automatically",
			transfer.Event{Kind: transfer.EvAccepted, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Total: 2500000, Path: "/home/a/Downloads", Auto: true,
				First: "d/a.txt", NumFiles: 2},
			"14:05 * accepted 2 files (2.5 MB, d/a.txt first) from bob (-accept-from); it goes to /home/a/Downloads",
			`{"event":"accepted","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","bytes":0,"total":2500000,"time":"TIME"}`},
		{"accepted by the peer",
			transfer.Event{Kind: transfer.EvAccepted, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Total: 1500,
				First: "a.txt", NumFiles: 1},
			"14:05 * bob accepted a.txt (1.5 kB)",
			`{"event":"accepted","id":1,"direction":"send","peer":"bob","peer_id":"b0b","bytes":0,"total":1500,"time":"TIME"}`},
		{"received",
			transfer.Event{Kind: transfer.EvDone, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Path: "/home/a/Downloads/a (1).txt", Bytes: 1500, Total: 1500,
				SHA256: "ab", Last: true, First: "a.txt", NumFiles: 1, File: "a.txt"},
			"14:05 * received /home/a/Downloads/a (1).txt (1.5 kB) from bob, SHA-256 verified",
			`{"event":"transfer-done","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","path":"/home/a/Downloads/a (1).txt","bytes":1500,"sha256":"ab","last":true,"time":"TIME"}`},
		{"received, a long name",
			transfer.Event{Kind: transfer.EvDone, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Path: "/home/a/Downloads/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.txt", Bytes: 1500, Total: 1500,
				SHA256: "ab", Last: true, First: "a.txt", NumFiles: 1, File: "a.txt"},
			"14:05 * received /home/a/Downloads/xxxxxxxxxx…xxxxxxxxxxxxxxxxxxxxxxxx.txt (1.5 kB) from bob, SHA-256 verified",
			`{"event":"transfer-done","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","path":"/home/a/Downloads/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.txt","bytes":1500,"sha256":"ab","last":true,"time":"TIME"}`},
		{"arrived",
			transfer.Event{Kind: transfer.EvDone, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Path: "/src/d/b.txt", Bytes: 1000, Total: 2500000,
				SHA256: "cd", First: "d/a.txt", NumFiles: 2, File: "d/b.txt"},
			"14:05 * bob: d/b.txt arrived at bob and verified",
			`{"event":"transfer-done","id":1,"direction":"send","peer":"bob","peer_id":"b0b","path":"/src/d/b.txt","bytes":1000,"sha256":"cd","last":false,"time":"TIME"}`},
		{"paused",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeLinkLost, Resumable: true, Bytes: 500, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NotePaused, Err: &transfer.Error{Cause: transfer.CauseConn, Err: errors.New("EOF")}},
			"14:05 ! a.txt (1.5 kB) to bob paused at 500 B of 1.5 kB (connection lost: EOF): it resumes when bob is back",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"link-lost","cause":"conn","resumable":true,"reason":"a.txt (1.5 kB) to bob paused at 500 B of 1.5 kB (connection lost: EOF): it resumes when bob is back","time":"TIME"}`},
		{"resumed",
			transfer.Event{Kind: transfer.EvResumed, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Bytes: 500, Total: 1500,
				First: "a.txt", NumFiles: 1},
			"14:05 * a.txt (1.5 kB) from bob resumed at 500 B of 1.5 kB",
			`{"event":"transfer-resumed","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","bytes":500,"total":1500,"time":"TIME"}`},
		{"interrupted",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeStopped, Resumable: true, Bytes: 500, Total: 2500000,
				First: "d/a.txt", NumFiles: 2, Note: transfer.NoteInterrupted, Hint: transfer.HintDrop},
			"14:05 ! 2 files (2.5 MB, d/a.txt first) to bob was interrupted: it resumes when bob is back (/cancel 1 drops it)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"stopped","resumable":true,"reason":"2 files (2.5 MB, d/a.txt first) to bob was interrupted: it resumes when bob is back (/cancel 1 drops it)","time":"TIME"}`},
		{"quitting",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeNotAcceptedYet, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteQuitting},
			"14:05 ! a.txt (1.5 kB) to bob stopped: p2pchat is quitting",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"not-accepted","resumable":false,"reason":"a.txt (1.5 kB) to bob stopped: p2pchat is quitting","time":"TIME"}`},
		{"bad offer",
			transfer.Event{Kind: transfer.EvFailed, Direction: "receive", Peer: "bob", PeerID: "b0b", Code: transfer.CodeBadOffer, Count: 3,
				Note: transfer.NoteRefused, File: "../x", Err: &transfer.Error{Cause: transfer.CauseNameClimbs}},
			`14:05 ! bob offered a file named "../x": unsafe file name: it climbs out of the folder (..); the offer was refused (3 offers refused like this)`,
			`{"event":"transfer-failed","id":0,"direction":"receive","peer":"bob","peer_id":"b0b","code":"bad-offer","cause":"name-climbs","resumable":false,"reason":"bob offered a file named \"../x\": unsafe file name: it climbs out of the folder (..); the offer was refused (3 offers refused like this)","count":3,"time":"TIME"}`},
		// transfer: failures
		{"rejected by us",
			transfer.Event{Kind: transfer.EvFailed, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Code: transfer.CodeRejected, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteRejected},
			"14:05 ! rejected a.txt (1.5 kB) from bob",
			`{"event":"transfer-failed","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","code":"rejected","resumable":false,"reason":"rejected a.txt (1.5 kB) from bob","time":"TIME"}`},
		{"cancelled by us",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeCancelled, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteCancelled},
			"14:05 ! cancelled a.txt (1.5 kB) to bob",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"cancelled","resumable":false,"reason":"cancelled a.txt (1.5 kB) to bob","time":"TIME"}`},
		{"source error",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeSourceError, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteNotSent, Err: &transfer.Error{Cause: transfer.CauseReadSource, File: "/src/a.txt", Err: errors.New("permission denied")}},
			"14:05 ! a.txt (1.5 kB) to bob not sent: cannot read /src/a.txt: permission denied",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"source-error","cause":"read-source","resumable":false,"reason":"a.txt (1.5 kB) to bob not sent: cannot read /src/a.txt: permission denied","time":"TIME"}`},
		{"source changed",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeSourceChanged, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteNotSent, File: "/src/a.txt"},
			"14:05 ! a.txt (1.5 kB) to bob not sent: /src/a.txt changed while it was read",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"source-changed","resumable":false,"reason":"a.txt (1.5 kB) to bob not sent: /src/a.txt changed while it was read","time":"TIME"}`},
		{"rejected by the peer",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeRejected, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NotePeerRejected},
			"14:05 ! bob rejected a.txt (1.5 kB)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"rejected","resumable":false,"reason":"bob rejected a.txt (1.5 kB)","time":"TIME"}`},
		{"peer busy",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeBusy, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NotePeerRejected},
			"14:05 ! bob has too many offers waiting: a.txt (1.5 kB) not sent",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"busy","resumable":false,"reason":"bob has too many offers waiting: a.txt (1.5 kB) not sent","time":"TIME"}`},
		{"peer refuses the name",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeBadOffer, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NotePeerRejected},
			"14:05 ! bob cannot take a.txt (1.5 kB) (a name it refuses)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"bad-offer","resumable":false,"reason":"bob cannot take a.txt (1.5 kB) (a name it refuses)","time":"TIME"}`},
		{"peer cancelled",
			transfer.Event{Kind: transfer.EvFailed, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Code: transfer.CodePeerCancelled, Total: 2500000,
				First: "d/a.txt", NumFiles: 2, Note: transfer.NotePeerCancelled},
			"14:05 ! bob cancelled 2 files (2.5 MB, d/a.txt first)",
			`{"event":"transfer-failed","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","code":"peer-cancelled","resumable":false,"reason":"bob cancelled 2 files (2.5 MB, d/a.txt first)","time":"TIME"}`},
		{"peer no longer knows",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeUnknown, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NotePeerCancelled},
			"14:05 ! bob no longer knows a.txt (1.5 kB)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"unknown","resumable":false,"reason":"bob no longer knows a.txt (1.5 kB)","time":"TIME"}`},
		{"peer gave up",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodePeerFailed, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NotePeerCancelled},
			"14:05 ! bob gave up on a.txt (1.5 kB)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"peer-failed","resumable":false,"reason":"bob gave up on a.txt (1.5 kB)","time":"TIME"}`},
		{"offer unanswered",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeTimeout, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteUnanswered, Limit: time.Hour},
			"14:05 ! a.txt (1.5 kB) to bob given up: bob did not answer the offer in 1h0m0s",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"timeout","resumable":false,"reason":"a.txt (1.5 kB) to bob given up: bob did not answer the offer in 1h0m0s","time":"TIME"}`},
		{"no progress",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeTimeout, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteStalled, Limit: time.Hour, Bytes: 500, Err: &transfer.Error{Cause: transfer.CauseConn, Err: errors.New("EOF")}},
			"14:05 ! a.txt (1.5 kB) to bob given up at 500 B of 1.5 kB: no progress in 1h0m0s (connection lost: EOF)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"timeout","cause":"conn","resumable":false,"reason":"a.txt (1.5 kB) to bob given up at 500 B of 1.5 kB: no progress in 1h0m0s (connection lost: EOF)","time":"TIME"}`},
		{"no progress, never connected",
			transfer.Event{Kind: transfer.EvFailed, ID: 1, Direction: "send", Peer: "bob", PeerID: "b0b", Code: transfer.CodeTimeout, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteStalled, Limit: time.Hour},
			"14:05 ! a.txt (1.5 kB) to bob given up at 0 B of 1.5 kB: no progress in 1h0m0s (no data connection)",
			`{"event":"transfer-failed","id":1,"direction":"send","peer":"bob","peer_id":"b0b","code":"timeout","resumable":false,"reason":"a.txt (1.5 kB) to bob given up at 0 B of 1.5 kB: no progress in 1h0m0s (no data connection)","time":"TIME"}`},
		{"failed",
			transfer.Event{Kind: transfer.EvFailed, ID: 2, Direction: "receive", Peer: "bob", PeerID: "b0b", Code: transfer.CodeHashMismatch, Total: 1500,
				First: "a.txt", NumFiles: 1, Note: transfer.NoteFailed, Err: &transfer.Error{Cause: transfer.CauseMismatch, File: "a.txt"}},
			"14:05 ! a.txt (1.5 kB) from bob failed: a.txt did not match its SHA-256: discarded",
			`{"event":"transfer-failed","id":2,"direction":"receive","peer":"bob","peer_id":"b0b","code":"hash-mismatch","cause":"mismatch","resumable":false,"reason":"a.txt (1.5 kB) from bob failed: a.txt did not match its SHA-256: discarded","time":"TIME"}`},
	}, roomWordsCases()...)
}

// TestEventWords feeds each notice of the domain packages through what
// prints it, in the terminal and in -json, and checks the exact line: the
// sentences are the shell's, and scripts read the JSON keys and values.
func TestEventWords(t *testing.T) {
	ts := at.Format(time.RFC3339)
	for _, tc := range wordsCases() {
		for _, json := range []bool{false, true} {
			want := tc.plain
			if json {
				want = strings.ReplaceAll(tc.json, "TIME", ts)
			}
			if got := strings.TrimSuffix(shown(tc.ev, json), "\n"); got != want {
				t.Errorf("%s (json %v):\n got %s\nwant %s", tc.name, json, got, want)
			}
		}
	}
}

// shown is what the shell prints for ev, a peer, transfer or rooms event
// of time at: in the terminal, or in -json.
func shown(ev any, json bool) string {
	var b strings.Builder
	s := &session{cfg: Config{JSON: json}, node: newFakeNode(), pr: newPrinter(&b, false, nil), now: func() time.Time { return at }}
	switch e := ev.(type) {
	case peer.Event:
		e.Time = at
		s.printEvent(e)
	case transfer.Event:
		e.Time = at
		s.printTransfer(e)
	case roomsnet.Event:
		e.Time = at
		s.printRoomEvent(e)
	}
	s.pr.flush()
	return b.String()
}

// TestEventWordsEveryCode: every code peer's events carry has a line in
// wordsCases, so its words are pinned there.
func TestEventWordsEveryCode(t *testing.T) {
	have := map[peer.Code]bool{}
	for _, tc := range wordsCases() {
		if e, ok := tc.ev.(peer.Event); ok {
			have[e.Code] = true
			if e.Left != "" {
				have[e.Left] = true
			}
		}
	}
	for _, c := range peer.Codes() {
		if !have[c] {
			t.Errorf("peer code %q has no line in wordsCases", c)
		}
	}
}
