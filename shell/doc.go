// Package shell is p2pchat's user interface in the terminal: it reads
// commands, sends messages through a Node and prints what the node reports.
//
// # Commands
//
//	/to NAME TEXT   send TEXT to NAME only (aliases /msg, /w)
//	/to NAME        make NAME the target of plain lines
//	/all TEXT       send TEXT to everyone
//	/all            make everyone the target of plain lines
//	TEXT            send TEXT to the current target; "//TEXT" sends "/TEXT"
//	/me TEXT        send TEXT as an action to the current target ("* alice TEXT")
//	/paste [NAME]   the lines that follow, up to a line "/end", are one
//	                message to NAME or the current target (for scripts)
//	/end            ends a /paste block
//	/peers          list peers
//	/whois [NAME]   details and key fingerprint of a peer (no NAME: yourself)
//	/trust NAME     accept the new key NAME presents
//	/unsend NAME    drop the messages still waiting for NAME
//	/nick NAME      change your nickname
//	/away [TEXT]    set an away text peers see (no TEXT: back)
//	/history [NAME] [N]  the last N messages (default 20), only those with NAME
//	/search TEXT    the saved messages holding TEXT (any case), newest last
//	/notify on|off  notifications of direct messages and mentions (alone: the state)
//	/ignore [NAME]  hide NAME's messages and reject its files, by its key,
//	                across restarts (no NAME: list the ignored peers)
//	/unignore NAME  stop ignoring NAME
//	/send NAME PATH...  offer files and folders (recursively) to NAME; quote
//	                paths with spaces ("my file.pdf", 'a b', a\ b)
//	/accept ID      accept the offer ID (files land in -downloads)
//	/reject ID      reject the offer ID
//	/cancel ID      stop transfer ID, either way
//	/transfers      list transfers: id, direction, peer, files, done/total, rate, state
//	/help, /quit    (alias /exit; Ctrl-D also leaves, Ctrl-C clears the line)
//
// # Pastes, line breaks, actions
//
// On a terminal the shell turns on bracketed paste (ESC[?2004h) and focus
// reports (ESC[?1004h), and off again at the end and while suspended
// (Ctrl-Z, SIGTSTP); an input filter in front of liner (paste.go) reads
// them. A pasted block is never sent by itself: a short one (5 lines, 400
// bytes, no tabs) is put in the line with each line break shown as ␤, a
// longer one as "[pasted 12 lines]"; Enter sends the line, paste and all,
// as one message with its line breaks, shown above the prompt as one
// message. Alt-Enter types a line break (␤) by hand; a typed ␤ is one too.
// A paste longer than a message (32 KiB) is saved as a text file in the
// home's pastes/ folder and "/send NAME FILE" put on the prompt. Without a
// terminal, "/paste [NAME]" ... "/end" sends the lines between as one
// message.
//
// "/me TEXT" sends the text "/me TEXT": the action travels in the text
// (nothing changes on the wire; an older p2pchat shows "bob: /me waves").
// Every message whose text starts with "/me " and something else is shown
// as an action.
//
// # Notifications, ignoring, colours
//
// A direct message, or one to everyone or to a room that mentions the
// user's name as a word in any case (mentions to everyone are shown in
// reverse video when colours are on; room history shown as earlier does
// not notify), rings the bell (Config.Bell, interactive only) and runs
// Config.Notify, if set, as UTIL TITLE BODY: directly (os/exec, no shell),
// each argument one line without control or format characters, the body
// at most 200 characters and never starting with '-'; at most 4 at once,
// each killed after 10 s. Nothing is notified while the terminal has
// reported that it has the focus (ESC[I; ESC[O gives it up), nor after
// /notify off.
//
// /ignore keeps the ids (keys) of ignored peers in the file "ignored" next
// to the conversation log (the home). Their messages are not shown, saved
// or notified but are marked shown (the node acknowledges them, so their
// senders do not send them again and a restart does not show them); their
// file offers are rejected unseen. Once a session the user is told how
// many were hidden.
//
// Peer names are coloured by the peer's id, so a name keeps its colour
// after /nick: twelve xterm-256 colours readable on dark and light
// backgrounds (no colour with NO_COLOR, when not a terminal, or in -json).
//
// # File transfers
//
// Shown as (TEXT sanitised; the peer's file names are the sanitised ones):
//
//	HH:MM * bob offers report.pdf (2.3 MB): /accept 3 or /reject 3
//	HH:MM * offered report.pdf (2.3 MB) to bob: waiting for bob to accept (/cancel 3)
//	HH:MM * received report.pdf (2.3 MB) from bob, SHA-256 verified
//	HH:MM ! report.pdf (2.3 MB) to bob paused at 0.8 MB of 2.3 MB (...): it resumes when bob is back
//	HH:MM * report.pdf (2.3 MB) to bob resumed at 0.8 MB of 2.3 MB
//	↑ 3 report.pdf  45% 1.0 MB of 2.3 MB, 98.1 MB/s, 0:01 left     progress
//
// On a terminal the progress line (all running transfers on one line) is
// redrawn in place just above the prompt, at most 4 times a second, without
// touching what the user types; in plain output it is printed at 25%, 50%
// and 75%. When input ends (a script) while a /send is still running, Run
// keeps going until it ends; main then exits 3 unless every transfer was
// accepted and verified. The transfer manager ends it when it waits too
// long (p2pchat's -send-timeout, 2 minutes by default, whenever stdin is
// not a terminal): an offer not answered, or no progress, for that long is
// given up in one line ("! ... given up: ...", code "timeout") and main
// exits 5. A /send that could not even be offered (no such
// peer, an unreadable file) makes Run return ErrNotSent at the end of the
// input, and main exit 3 too.
//
// NAME is what the user sees: a display name ("bob", "bob@laptop2") or a
// nickname only one peer claims. The shell resolves it once, when the
// command is given (Node.Resolve), and from then on addresses that peer by
// its stable id: the target set by "/to NAME" stays with the peer it named
// when that peer is renamed or another peer takes the name later. The prompt
// shows the target's current name (looked up by id, following "renamed"
// events; the last one known if the peer is gone).
//
// Parse turns a line into a Command without side effects. Mistakes (unknown
// command or peer, no peers, empty or too long message, bad nickname) are
// reported in one line starting with "! " and nothing is sent.
//
// # Output modes
//
// Interactive (a terminal): github.com/peterh/liner edits the line, with
// history and tab completion (commands, peer names, and the paths of
// /send NAME, quoted as /send reads them, folders ending in '/'); the
// prompt shows the target ("[all]> ", "[bob]> "). Event lines are printed
// above the prompt without disturbing what the user is typing (see
// printer.go). Sender names are coloured if
// Config.Color.
//
// Plain (input not a terminal): lines are read as they come, no prompt, no
// escape codes.
//
// In both, every string that came from the network is passed through
// Sanitize before it reaches the terminal, so a peer cannot move the cursor,
// change colours, set the window title, reorder text with bidi controls or
// fake a line of its own (message continuation lines are indented). Node
// events are shown as (HH:MM is the local time):
//
//	HH:MM bob: TEXT                              message to everyone
//	HH:MM bob → you: TEXT                        message to us alone
//	HH:MM * bob TEXT                             /me TEXT (" (to you)" after a direct one)
//	HH:MM you → all: TEXT                        our own pasted message with line breaks
//	HH:MM * bob joined (IP:PORT)                 joined
//	HH:MM * bob left (quit|no answer)            left
//	HH:MM * bob is now robert                    renamed
//	HH:MM ! not delivered to bob yet: REASON     pending: still trying
//	HH:MM ! not delivered to bob: REASON         failed: given up
//	HH:MM ! TEXT                                 warning
//	HH:MM * TEXT                                 info
//
// "delivered" is not shown in text mode.
//
// The node, the transfers and the rooms send codes and fields, not
// sentences: REASON, TEXT and the transfer lines are worded here
// (peerText and undeliveredText in format.go, peerwords.go, transferWords
// in transfers.go, roomwords.go for the rooms' warnings and roomWords in
// rooms.go for their commands' errors), and the same words are the
// "reason" and "text" of the JSON lines below. The Error text of a domain
// package's error is for logs and never shown; an operating system's error
// is said in its own words ("no space left on device") after the shell's,
// and an error of no known kind is "an unknown error". Words gives the
// same words to main, for the errors it prints at start-up.
//
// # JSON mode
//
// With Config.JSON every line written to Out is exactly one JSON object
// (encoding/json: strings are escaped, so the stream is safe to show).
// Every object of a kind has the keys below in this order; a key is left
// out only where it says so. "time" is RFC 3339 local time; for messages it
// is the sender's clock. "peer_id" is the stable id of the peer an event
// concerns (16 hex digits, the "id" of its PEER entry below): names can
// change, a peer_id cannot. "id" in delivered/pending/failed is the message
// id a "sent" answer gave.
//
// The first line, written by WriteReady before Run, and the last, written
// by WriteStats after Drain:
//
//	{"event":"ready","name":OUR_NAME,"id":OUR_ID,"port":N,"fingerprint":FP,"ifaces":[IFACE,...]}
//	{"event":"stats","retransmits":N,"tcp_sends":N,"dropped":N,"replayed":N,"unauthentic":N,"duplicates":N,"not_opened":N,"held_back":N,"no_room":N,"notices_dropped":N,"leads_dropped":N,"leads_refused":N,"answers_limited":N,"probes_unproven":N,"tcp_refused_full":N,"tcp_refused_source":N,"tcp_refused_reserve":N,"tcp_unauthenticated":N,"handshakes":N,"handshakes_limited":N,"no_session":N,"sessions_evicted":N,"queue_dropped":N,"old_version":N,"transfer":{COUNTER:N,...},"discovery":{COUNTER:N,...},"rooms":{COUNTER:N,...}}
//
// In ready, ifaces lists the network interfaces mDNS discovery runs on, in
// interface order ([] with -mdns=false or when none is usable yet).
// In stats, held_back counts messages the node did not take (nor
// acknowledge) because the user side was behind, no_room messages ahead of
// a gap it had no room to hold, notices_dropped notices about peers dropped
// from a full event queue; the senders send such messages again.
// leads_dropped counts peer-exchange entries not followed (over their
// bounds), leads_refused those refused for their address; answers_limited
// answers to strangers not sent (over a budget), probes_unproven probes
// echoing a cookie we did not make; tcp_* connections the TCP listener
// refused or closed (docs/security.md, table of bounds); handshakes counts the
// session handshakes made, handshakes_limited initiations over a key's
// budget, no_session packets of a session we do not hold, sessions_evicted
// keys whose sessions made room for others, queue_dropped packets that
// waited for a handshake in vain, old_version packets of another protocol
// version. Every counter of the node is on the line (a new one comes
// after these). "transfer", "discovery" and "rooms" hold those parts'
// counters (their Stats: each field's name in snake case, e.g.
// events_dropped; rooms: the runner's, then the core's), each object
// absent when its part does not run (discovery with -mdns=false).
//
// Node events:
//
//	{"event":"message","from":NAME,"peer_id":ID,"to":"all"|OUR_NAME,"text":TEXT,"time":T}
//	{"event":"message","from":NAME,"peer_id":ID,"to":"all"|OUR_NAME,"text":TEXT,"action":true,"time":T}   /me TEXT
//	{"event":"joined","name":NAME,"peer_id":ID,"addr":"IP:PORT","time":T}
//	{"event":"left","name":NAME,"peer_id":ID,"reason":"quit"|"no answer","time":T}
//	{"event":"renamed","old":OLD_NAME,"name":NEW_NAME,"peer_id":ID,"time":T}
//	{"event":"delivered","to":NAME,"peer_id":ID,"id":N,"time":T}
//	{"event":"pending","to":NAME,"peer_id":ID,"id":N,"code":CODE,"reason":TEXT,"time":T}
//	{"event":"failed","to":NAME,"peer_id":ID,"id":N,"code":CODE,"reason":TEXT,"time":T}
//	{"event":"warning","name":NAME,"peer_id":ID,"text":TEXT,"time":T}   name, peer_id only if one peer is concerned
//	{"event":"version","name":NAME,"peer_id":ID,"addr":"IP:PORT","version":N,"ours":N,"time":T}   a peer that speaks another protocol version (nothing is exchanged with it), once per peer; name, peer_id only if known
//	{"event":"info","name":NAME,"peer_id":ID,"text":TEXT,"time":T}      name, peer_id only if one peer is concerned
//
// IP:PORT is 10.0.0.5:7117, or for IPv6 [2001:db8::5]:7117 and, link-local
// with the interface, [fe80::1%eth0]:7117.
// A "left" event's "reason" is one of two fixed values, for programs:
// "quit" (the peer said goodbye) or "no answer" (it stopped answering).
// The "text" of warnings and notices and the "reason" of pending and
// failed are the sentences the terminal shows; the shell writes them from
// the node's codes (the node's own error texts are never shown).
// "pending" means not delivered yet and still trying: a "delivered" (or
// "failed") for the same id may follow. "failed" is final: the message was
// never delivered. CODE is machine-readable (peer.Reason), TEXT says the
// same for people:
//
//	no-answer   pending: the peer is online but has not acknowledged for a while
//	peer-left   pending: the peer left; delivered if it comes back
//	queued      pending: p2pchat stops; the message is kept on disk (-home), or its save is under way, and sent by its next run
//	stopped     failed: p2pchat stopped before the peer acknowledged (-store=false, or not on disk yet: nothing was kept)
//	not-saved   failed: the message could not be put on disk (disk full, store damaged), so it was not sent
//	discarded   failed: dropped by /unsend before the peer acknowledged it
//
// A program should treat an unknown CODE like the event kind says. An event
// kind added to the node later comes as
// {"event":KIND,"name":NAME,"peer_id":ID,"text":TEXT,"time":T} (name,
// peer_id and text omitted when empty).
//
// Transfer events ("id" is the local transfer id of /accept, /cancel;
// "direction" is "send" or "receive"; "bytes" in offer and offered is the
// total):
//
//	{"event":"offer","id":N,"from":NAME,"peer_id":ID,"files":[NAME,...],"count":N,"bytes":N,"time":T}
//	{"event":"offered","id":N,"to":NAME,"peer_id":ID,"files":[NAME,...],"count":N,"bytes":N,"time":T}
//	{"event":"accepted","id":N,"direction":DIR,"peer":NAME,"peer_id":ID,"bytes":0,"total":N,"time":T}
//	{"event":"progress","id":N,"bytes":N,"total":N,"time":T}                  at most 4 a second per transfer
//	{"event":"transfer-resumed","id":N,"direction":DIR,"peer":NAME,"peer_id":ID,"bytes":N,"total":N,"time":T}
//	{"event":"transfer-done","id":N,"direction":DIR,"peer":NAME,"peer_id":ID,"path":PATH,"bytes":N,"sha256":HEX,"last":BOOL,"time":T}
//	{"event":"transfer-failed","id":N,"direction":DIR,"peer":NAME,"peer_id":ID,"code":CODE,"resumable":BOOL,"reason":TEXT,"time":T}
//	{"event":"transfer-failed","id":N,"direction":DIR,"peer":NAME,"peer_id":ID,"code":CODE,"cause":CAUSE,"resumable":BOOL,"reason":TEXT,"time":T}
//	{"event":"transfers","transfers":[TRANSFER,...]}                           answer to /transfers
//
// where TRANSFER is (rate in bytes a second, 0 unless data flows; STATE one
// of offered, connecting, active, paused, done, failed, rejected, cancelled)
//
//	{"id":N,"direction":DIR,"peer":NAME,"peer_id":ID,"files":N,"name":NAME,
//	 "bytes":N,"total":N,"rate":N,"state":STATE,"code":CODE}
//
// transfer-done comes once per file ("path": where it landed, or the
// source on the sender; "last": the transfer is complete). transfer-failed
// with "resumable":true is not final: the transfer paused (link-lost, or
// stopped by an earlier run) and continues by itself, announced by
// transfer-resumed; with false it is over. CODE (transfer.Code): rejected,
// cancelled, peer-cancelled, link-lost, hash-mismatch, source-changed,
// source-error, disk-error, bad-offer, busy, unknown, protocol, stopped,
// peer-failed, not-accepted, timeout (a script gave up, see above),
// offer-expired (an offer waiting for /accept whose sender stopped
// repeating it or went offline). An offer with a name that would leave
// the downloads folder gives a transfer-failed with "id":0 and code
// bad-offer; such refusals come at most once per peer every 10 s, with
// "count": the offers the line stands for.
//
// "cause" (transfer.Cause) is there when the failure has one, finer than
// CODE: why a connection was lost (dial, conn, no-answer, forged-answer,
// busy, no-verdict, frame-size, forged-frame), why it failed for good
// (refused, receiver-gave-up, sender-gave-up, no-resume, finished-early,
// verdict-file, bad-verdict, bad-frame, out-of-order, bad-range, mismatch,
// peer-mismatch, read-source, source-changed, source-shrank, stopped), a
// disk error (write, create, read-back, link, mkdir, peer-write) or why an
// offered name was refused (name-not-utf8, name-absolute, name-drive,
// name-climbs, name-empty, name-too-deep). "reason" is the shell's
// sentence for the line, cause included: the transfer package says codes
// and fields, the shell words them (the table in transfers.go), so
// scripts match on "code" and "cause", not on "reason"'s words.
//
// Answers to commands (no "time"):
//
//	{"event":"sent","to":NAME|"all","peer_id":ID,"ids":[N,...]}   once a message is on disk and on its way
//	                                                  ("peer_id" omitted for "all"); the ids match later
//	                                                  delivered/pending/failed events. It comes from the node,
//	                                                  so other lines may come between the command and it.
//	{"event":"peers","peers":[PEER,...]}              /peers
//	{"event":"whois",PEER fields...}                  /whois NAME
//	{"event":"whois","name":OUR_NAME,"self":true,"fingerprint":FP}   /whois alone
//	{"event":"history","lines":[LINE,...]}            /history, oldest first
//	{"event":"search","text":TEXT,"lines":[LINE,...]}  /search TEXT, oldest first (the last 50 at most)
//	{"event":"ignored","peers":[IGNORED,...]}         /ignore alone; IGNORED is
//	                                                  {"name":NAME,"peer_id":ID,"hidden":N} (N: hidden this session)
//	{"event":"info","text":TEXT}                      /nick, /trust, /away, /to NAME, /all, /ignore, /notify done
//	{"event":"error","text":TEXT}                     any mistake; nothing was sent
//	{"event":"help","text":TEXT}                      /help
//
// where PEER and LINE are
//
//	{"name":NAME,"nick":NICK,"id":ID,"addr":"IP:PORT","transport":"udp"|"tcp",
//	 "via":"mdns"|"peer-flag"|"traffic","last_seen":T|"","online":BOOL,
//	 "pending":N,"fingerprint":FP,"host":HOST,"away":TEXT}
//	{"time":"YYYY-MM-DD HH:MM:SS","from":NAME,"to":NAME|"all","text":TEXT}
//
// # Rooms
//
// With Config.Rooms (package roomsnet) the shell also speaks in rooms
// (rooms.go; package rooms documents what a room is and promises):
//
//	/join #ROOM            join the open room #ROOM (made if nobody is in it); it becomes the target
//	/join #ROOM private    make the invite-only room #ROOM (an error if an open #ROOM is known)
//	/part [#ROOM]          leave #ROOM (default: the target room); also /leave
//	/rooms                 the open rooms known on the network and the rooms you are in
//	/names [#ROOM]         members: online, away or offline, and who has your last message
//	/topic [#ROOM] [TEXT]  show the topic, or set it to TEXT
//	/to #ROOM TEXT         say TEXT in #ROOM without switching; /to #ROOM makes it the target
//	/history #ROOM [N]     the room's last N messages (default 20)
//	/invite NAME #ROOM     (creator of a private room) NAME is a member at once, and told
//	                       (when it is next online: a peer met before, in this run or an
//	                       earlier one, can be invited while offline; NAME is a peer the
//	                       node knows, else the name a peer met before had)
//	/kick NAME #ROOM       (creator) NAME is no longer a member and gets nothing more
//
// The prompt shows the target room ("[#lunch]> "); /to NAME or /all makes
// a peer or everyone the target again. Room names are case-insensitive and
// shown folded (#Lunch is #lunch). Room events are shown as
//
//	HH:MM #lunch bob: TEXT                       message (" (earlier)" after it: catch-up or history)
//	HH:MM #lunch * bob joined                    a member joined (also us, and earlier members)
//	HH:MM #lunch * bob left                      a member left
//	HH:MM #lunch * bob set the topic: TEXT       topic
//	HH:MM #secret * alice invited you to #secret (/join #secret to talk there)
//	HH:MM #secret * you were removed from #secret by its creator
//	HH:MM ! #lunch: not delivered to bob yet     pending (delivered and sent are not shown)
//
// and in JSON mode (ROOM: "#lunch"; RID: the room id, 16 hex digits;
// "author_seq": the author's count of its messages in the room):
//
//	{"event":"message","from":NAME,"peer_id":ID,"to":ROOM,"text":TEXT,"room":ROOM,"room_id":RID,"author_seq":N,"time":T}
//	{"event":"message","from":NAME,"peer_id":ID,"to":ROOM,"text":TEXT,"room":ROOM,"room_id":RID,"author_seq":N,"earlier":true,"time":T}
//	{"event":"room-joined","room":ROOM,"room_id":RID,"name":NAME,"peer_id":ID,"time":T}
//	{"event":"room-left","room":ROOM,"room_id":RID,"name":NAME,"peer_id":ID,"time":T}
//	{"event":"room-left","room":ROOM,"room_id":RID,"name":OUR_NAME,"peer_id":OUR_ID,"reason":"kicked","time":T}
//	{"event":"invited","room":ROOM,"room_id":RID,"name":CREATOR,"peer_id":ID,"time":T}
//	{"event":"topic","room":ROOM,"room_id":RID,"name":NAME,"peer_id":ID,"text":TOPIC,"time":T}
//	{"event":"topic","room":ROOM,"room_id":RID,"name":NAME,"peer_id":ID,"text":TOPIC,"earlier":true,"time":T}
//	{"event":"topic","room":ROOM,"text":TOPIC}                       answer to /topic
//	{"event":"sent","to":ROOM,"room":ROOM,"room_id":RID,"author_seq":N,"members":N}   on disk, queued for N members
//	{"event":"delivered","to":NAME,"peer_id":ID,"room":ROOM,"room_id":RID,"author_seq":N,"time":T}   once per member
//	{"event":"pending","to":NAME,"peer_id":ID,"room":ROOM,"room_id":RID,"author_seq":N,"code":CODE,"time":T}
//	{"event":"failed","to":NAME,"peer_id":ID,"room":ROOM,"room_id":RID,"author_seq":N,"code":CODE,"time":T}
//	{"event":"rooms","rooms":[ROOM_ENTRY,...]}                        answer to /rooms
//	{"event":"names","room":ROOM,"members":[MEMBER,...]}              answer to /names
//	{"event":"warning","code":CODE,"room":ROOM,"file":FILE,"text":TEXT,"time":T}   a room's file damaged, a save failed
//	{"event":"warning","code":CODE,"room":ROOM,"text":TEXT,"time":T}   a room not restored
//	{"event":"warning","code":CODE,"file":FILE,"text":TEXT,"time":T}   a file of no one room damaged, not saved
//
// where ROOM_ENTRY and MEMBER are ("has_last" omitted until we post in
// the room, and for ourselves; "status" one of online, away, offline,
// you)
//
//	{"room":ROOM,"room_id":RID,"private":BOOL,"members":N,"topic":TEXT,"joined":BOOL}
//	{"name":NAME,"peer_id":ID,"status":STATUS,"has_last":BOOL}
//
// /history #ROOM answers with message lines ("earlier":true). Mistakes
// are "error" events, each code of package rooms in words: a /join of a
// private room by a non-member says "#secret is invite-only: ask its
// creator for an /invite". A private room we are not in is not listed.
// A room warning's "code" is one of roomsnet.Codes (damaged, not-saved,
// not-restored, bindings-damaged); "text" words it.
//
// # Bounded output
//
// Output (all modes) and the conversation history are buffered at most
// 64 KiB before they are written. A reader that stops reading therefore
// blocks the shell, which then stops taking events from the node (so the
// node stops acknowledging) instead of holding more in memory.
//
// Run returns at the end of input without waiting for "delivered" events:
// the caller decides how long to wait for them.
//
// # Shown once
//
// A message event from a node that keeps messages on disk carries an
// inbox index (peer.Event.Idx). The printer remembers the highest index it
// has written out to the user (to the terminal, or out of its buffer), and
// after each flush the shell reports it with Node.Shown: a later run does
// not show those messages again, and shows those above it that never
// reached the screen.
package shell
