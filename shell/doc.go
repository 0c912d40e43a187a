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
//	/peers          list peers
//	/whois [NAME]   details and key fingerprint of a peer (no NAME: yourself)
//	/trust NAME     accept the new key NAME presents
//	/nick NAME      change your nickname
//	/help, /quit    (alias /exit; Ctrl-D also leaves, Ctrl-C clears the line)
//
// Parse turns a line into a Command without side effects. Mistakes (unknown
// command or peer, no peers, empty or too long message, bad nickname) are
// reported in one line starting with "! " and nothing is sent.
//
// # Output modes
//
// Interactive (a terminal): github.com/peterh/liner edits the line, with
// history and tab completion; the prompt shows the target ("[all]> ",
// "[bob]> "). Event lines are printed above the prompt without disturbing
// what the user is typing (see printer.go). Sender names are coloured if
// Config.Color.
//
// Plain (input not a terminal): lines are read as they come, no prompt, no
// escape codes.
//
// In both, every string that came from the network is passed through
// Sanitize before it reaches the terminal, so a peer cannot move the cursor,
// change colours, set the window title, reorder text with bidi controls or
// fake a line of its own (message continuation lines are indented).
//
// # JSON mode
//
// With Config.JSON every line written to Out is exactly one JSON object
// (encoding/json: strings are escaped, so the stream is safe to show).
// "time" is RFC 3339 local time; for messages it is the sender's clock.
// Node events:
//
//	{"event":"message","from":NAME,"to":"all"|OUR_NAME,"text":TEXT,"time":T}
//	{"event":"joined","name":NAME,"addr":"IP:PORT","time":T}
//	{"event":"left","name":NAME,"reason":"quit"|"no answer","time":T}
//	{"event":"delivered","to":NAME,"id":N,"time":T}
//	{"event":"failed","to":NAME,"id":N,"reason":TEXT,"time":T}
//	{"event":"renamed","old":OLD_NAME,"name":NEW_NAME,"time":T}
//	{"event":"warning","text":TEXT,"time":T}
//	{"event":"info","text":TEXT,"time":T}
//
// An event kind added to the node later comes as
// {"event":KIND,"name":NAME,"text":TEXT,"time":T} (name and text omitted
// when empty).
//
// Answers to commands (no "time"):
//
//	{"event":"sent","to":NAME|"all","ids":[N,...]}   after a message was queued; the ids
//	                                                  match later "delivered"/"failed" events
//	{"event":"peers","peers":[PEER,...]}              /peers
//	{"event":"whois",PEER fields...}                  /whois NAME
//	{"event":"whois","name":OUR_NAME,"self":true,"fingerprint":FP}   /whois alone
//	{"event":"info","text":TEXT}                      /nick, /trust, /to NAME, /all done
//	{"event":"error","text":TEXT}                     any mistake; nothing was sent
//	{"event":"help","text":TEXT}                      /help
//
// where PEER is
//
//	{"name":NAME,"nick":NICK,"id":ID,"addr":"IP:PORT","transport":"udp"|"tcp",
//	 "via":"mdns"|"peer-flag"|"traffic","last_seen":T|"","online":BOOL,
//	 "pending":N,"fingerprint":FP,"host":HOST,"away":TEXT}
//
// Run returns at the end of input without waiting for "delivered" events:
// the caller decides how long to wait for them.
package shell
