package shell

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/p2pchat/p2pchat/internal/wire"
	"github.com/p2pchat/p2pchat/peer"
)

// indent starts the continuation lines of a multi-line message or warning:
// as wide as the "15:04 " time stamp, so a peer cannot make a line of its
// text look like a separate message.
const indent = "      "

// palette holds the colours peer names are drawn in: xterm 256-colour
// codes of middle lightness, each with a contrast ratio of at least 3.4
// against both black and white (TestPaletteReadable), so that names stay
// readable on dark and light backgrounds alike; twelve hues apart.
var palette = []int{160, 166, 130, 100, 28, 30, 32, 26, 98, 128, 168, 133}

// formatter renders events and command results as text lines.
type formatter struct {
	color bool // colour sender names
}

// name sanitizes a peer name and, if enabled, colours it by the name
// alone: for names with no peer id at hand.
func (f formatter) name(s string) string { return f.peer(s, "") }

// peer sanitizes a peer name and, if enabled, colours it with a colour that
// depends only on the peer's stable id (its key), so that a peer keeps its
// colour when it changes its name with /nick and two peers showing the
// same name are told apart. Without an id the name picks the colour.
func (f formatter) peer(name, id string) string {
	name = oneLine(name)
	if !f.color || name == "" {
		return name
	}
	return "\x1b[38;5;" + strconv.Itoa(colorOf(name, id)) + "m" + name + "\x1b[0m"
}

// colorOf is the palette colour of the peer with this id (or name, if
// the id is not known).
func colorOf(name, id string) int {
	key := id
	if key == "" {
		key = "name:" + name
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return palette[h.Sum32()%uint32(len(palette))]
}

// stamp is the local time of an event as HH:MM.
func stamp(t, now time.Time) string {
	if t.IsZero() {
		t = now
	}
	return t.Local().Format("15:04")
}

// event renders one node event as one or more lines (joined by "\n"; the
// second and later lines are indented). ok is false for events not shown
// in text mode (deliveries).
func (f formatter) event(e peer.Event, now time.Time) (text string, ok bool) {
	var body string
	switch e.Kind {
	case peer.EvDelivered, peer.EvSent:
		return "", false
	case peer.EvJoined:
		body = "* " + f.peer(e.Peer, e.PeerID) + " joined"
		if e.Addr != "" {
			body += " (" + oneLine(e.Addr) + ")"
		}
	case peer.EvLeft:
		body = "* " + f.peer(e.Peer, e.PeerID) + " left"
		if why := leftWords(e.Code); why != "" {
			body += " (" + why + ")"
		}
	case peer.EvMessage:
		if act, ok := actionText(e.Text); ok {
			body = "* " + f.peer(e.Peer, e.PeerID) + " " + multiLine(act)
			if isDirect(e) {
				body += " (to you)"
			}
		} else if isDirect(e) {
			body = f.peer(e.Peer, e.PeerID) + " → you: " + multiLine(e.Text)
		} else {
			body = f.peer(e.Peer, e.PeerID) + ": " + multiLine(e.Text)
		}
	case peer.EvPending:
		body = "! not delivered to " + f.peer(e.Peer, e.PeerID) + " yet"
		if why := undeliveredText(e); why != "" {
			body += ": " + oneLine(why)
		}
	case peer.EvFailed:
		body = "! not delivered to " + f.peer(e.Peer, e.PeerID)
		if why := undeliveredText(e); why != "" {
			body += ": " + oneLine(why)
		}
	case peer.EvRenamed:
		body = "* " + f.peer(e.OldName, e.PeerID) + " is now " + f.peer(e.Peer, e.PeerID)
	case peer.EvVersion:
		body = "! " + f.versionText(e)
	case peer.EvWarning:
		body = "! " + multiLine(peerText(e))
	case peer.EvInfo:
		body = "* " + multiLine(peerText(e))
	default:
		body = "* " + oneLine(string(e.Kind))
		if e.Peer != "" {
			body += " " + f.peer(e.Peer, e.PeerID)
		}
		if e.Text != "" {
			body += ": " + multiLine(e.Text)
		}
	}
	return stamp(e.Time, now) + " " + body, true
}

// isDirect reports whether a message event was sent to us alone.
func isDirect(e peer.Event) bool {
	return e.Kind == peer.EvMessage && e.To != "all" && e.To != ""
}

// multiLine sanitizes text and indents every line after the first.
func multiLine(s string) string {
	s = strings.TrimRight(Sanitize(s), "\n")
	if strings.IndexByte(s, '\n') < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}

// ago says how long ago t was, coarsely: "3s ago", "5m ago", "2h ago",
// "4d ago"; "just now" under a second, "never" for the zero time.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}

// peersTable renders /peers: one header line, then one line per peer with
// name, address, transport and last seen, followed by what is unusual
// about it (pending messages, away text, offline).
func peersTable(ps []peer.PeerInfo, now time.Time) []string {
	if len(ps) == 0 {
		return []string{"* no peers yet (they appear by themselves when someone on this network starts p2pchat)"}
	}
	rows := [][]string{{"name", "address", "transport", "last seen", ""}}
	for _, p := range ps {
		var extra []string
		if !p.Online {
			extra = append(extra, "offline")
		}
		if p.Pending > 0 {
			extra = append(extra, fmt.Sprintf("%d pending", p.Pending))
		}
		if p.Away != "" {
			extra = append(extra, "(away: "+oneLine(p.Away)+")")
		}
		rows = append(rows, []string{oneLine(p.Name), oneLine(p.Addr), oneLine(p.Transport), ago(p.LastSeen, now), strings.Join(extra, " ")})
	}
	return columns(rows)
}

// columns pads every cell but the last of each row to the widest cell of
// its column, counting display width (a Chinese character is two columns),
// with two spaces between columns. Trailing spaces are trimmed.
func columns(rows [][]string) []string {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(cell))
		}
	}
	lines := make([]string, 0, len(rows))
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(cell)+2))
			}
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return lines
}

// whoisLines renders /whois NAME.
func whoisLines(p peer.PeerInfo, now time.Time) []string {
	status := "online"
	if !p.Online {
		status = "offline"
	}
	if p.Pending > 0 {
		status += fmt.Sprintf(", %d pending", p.Pending)
	}
	if p.Away != "" {
		status += ", away: " + oneLine(p.Away)
	}
	nick := oneLine(p.Nick)
	if p.Host != "" {
		nick += " on " + oneLine(p.Host)
	}
	addr := oneLine(p.Addr)
	if p.Transport != "" {
		addr += " (" + oneLine(p.Transport) + ")"
	}
	rows := [][]string{
		{"  id", oneLine(p.ID)},
		{"  nick", nick},
		{"  address", addr},
		{"  fingerprint", oneLine(p.Fingerprint)},
		{"  learned via", oneLine(p.Via)},
		{"  last seen", ago(p.LastSeen, now)},
		{"  status", status},
	}
	return append([]string{oneLine(p.Name)}, columns(rows)...)
}

// helpText is what /help prints.
const helpText = `/to NAME TEXT   send TEXT to NAME only (also /msg, /w)
/to NAME        send what you type from now on to NAME
/all TEXT       send TEXT to everyone
/all            send what you type from now on to everyone
TEXT            send TEXT to the current target (shown in the prompt)
//TEXT          send "/TEXT" (a line starting with a slash)
/me TEXT        send TEXT as an action to the current target, shown "* alice TEXT"
/paste [NAME]   the lines up to a line /end are one message (to NAME or the current target)
/peers          list peers: address, transport, last seen, pending messages
/whois [NAME]   a peer's id, address, key fingerprint, how it was found (no NAME: you)
/trust NAME     accept NAME's new key after checking its fingerprint with them
/unsend NAME    drop the messages still waiting for NAME (/peers shows how many)
/nick NAME      change your nickname
/away [TEXT]    set an away text peers see, answering direct messages once (no TEXT: back)
/history [NAME] [N]  the last N messages (default 20), only those with NAME if given
/search TEXT    the saved messages holding TEXT (any case), newest last, with when, who, where
/send NAME PATH...  offer files and folders to NAME (quote paths with spaces)
/accept ID      accept offer ID; /reject ID rejects it
/cancel ID      stop transfer ID (either way)
/transfers      list transfers and their progress
/notify on|off  notifications of direct messages and mentions of your name (bell, -notify)
/ignore [NAME]  hide NAME's messages, reject its files (by its key, across runs; alone: list)
/unignore NAME  stop ignoring NAME
/join #ROOM [private]  join (or make) a room; /part [#ROOM] leaves it
/rooms, /names [#ROOM], /topic [#ROOM] [TEXT]  rooms, members, topic
/to #ROOM TEXT, /history #ROOM [N]  say in a room, its last messages
/invite NAME #ROOM, /kick NAME #ROOM  members of your private room
/help           this text
/quit           leave (also /exit, Ctrl-D)`

// actionPrefix starts the text of a /me message. It travels in the text
// itself, so that a p2pchat without /me shows "alice: /me waves", still
// readable, and nothing in the wire format changes. Any message whose text
// starts with it is shown as an action ("//me waves" sends one too).
const actionPrefix = "/me "

// actionText reports whether text is a /me action and returns what the
// sender does.
func actionText(text string) (string, bool) {
	act, ok := strings.CutPrefix(text, actionPrefix)
	if !ok || strings.TrimSpace(act) == "" {
		return text, false
	}
	return act, true
}

// versionText words an EvVersion: a peer that speaks another protocol
// version, named when known, else by its address.
func (f formatter) versionText(e peer.Event) string {
	who := "the p2pchat at " + oneLine(e.Addr)
	if e.Peer != "" {
		who = f.name(e.Peer)
	}
	if e.Version < int(wire.Version) {
		return fmt.Sprintf("%s runs an older p2pchat (protocol %d): update it to talk", who, e.Version)
	}
	return fmt.Sprintf("%s runs a newer p2pchat (protocol %d, this one speaks %d): update this one to talk", who, e.Version, wire.Version)
}

// peerText is what a warning or notice of the node says: the words for
// its code, with the commands that answer it, or its text.
func peerText(e peer.Event) string {
	switch e.Code {
	case peer.CodeMoved:
		return fmt.Sprintf("%s moved from %s to %s", e.Peer, e.OldAddr, e.Addr)
	case peer.CodeWaiting:
		return fmt.Sprintf("%d messages wait for %s", e.Count, e.Peer)
	case peer.CodeOffline:
		return fmt.Sprintf("%s is offline: the message waits until %s is back", e.Peer, e.Peer)
	case peer.CodeUDPBack:
		return fmt.Sprintf("UDP to %s works again", e.Peer)
	case peer.CodeUDPSilent:
		return fmt.Sprintf("UDP to %s gets no answer: using TCP", e.Peer)
	case peer.CodeDeliveredLate:
		return fmt.Sprintf("delivered to %s after all: %s", e.Peer, e.Text)
	case peer.CodeTrusted:
		return fmt.Sprintf("%s is now trusted as %s (key %s)", e.OldName, e.Peer, e.Fingerprint)
	case peer.CodeNotSent:
		return fmt.Sprintf("not sent to %s: %s", e.Peer, peerErrWords(e.Err))
	case peer.CodePinsNotSaved:
		return fmt.Sprintf("could not save trusted peers: %s", diskWords(e.Err))
	case peer.CodeNotRestored:
		return fmt.Sprintf("%d saved messages for %s are not restored: the address book is full", e.Count, e.Name)
	case peer.CodeStoreDamaged:
		return damageWords(e.Damage)
	case peer.CodeInboxNotSaved:
		return fmt.Sprintf("messages from %s cannot be saved (%s): they wait at %s until they can", e.Peer, diskWords(e.Err), e.Peer)
	case peer.CodeNameOwn:
		return fmt.Sprintf("another peer also calls itself %s (your name); it is shown as %s", e.Name, e.Peer)
	case peer.CodeNameTaken:
		return fmt.Sprintf("another peer is already shown as %s: this one (key %s) is shown as %s. Compare '/whois %s' in person; '/trust %s' gives it the name.",
			e.Name, e.Fingerprint, e.Peer, e.Peer, e.Peer)
	case peer.CodeKeyChanged:
		return fmt.Sprintf("a peer with a DIFFERENT KEY claims the name %s: it is shown as %s, not as %s. "+
			"It may be an impostor, or %s reinstalled p2pchat. Compare '/whois %s' with %s in person, then '/trust %s' to accept the new key.",
			e.Name, e.Peer, e.Name, e.Name, e.Peer, e.Name, e.Peer)
	}
	return e.Text
}

// undeliveredText is why a message is pending or failed: the words for
// the event's code, or its text ("" when there is neither).
func undeliveredText(e peer.Event) string {
	switch e.Code {
	case peer.CodeNoAnswer:
		return "no answer (still trying)"
	case peer.CodePeerLeft:
		if why := leftWords(e.Left); why != "" {
			return fmt.Sprintf("%s left (%s); it will be delivered if %s comes back", e.Peer, why, e.Peer)
		}
		return fmt.Sprintf("%s left; it will be delivered if %s comes back", e.Peer, e.Peer)
	case peer.CodeKept:
		return "kept on disk: the next run sends it"
	case peer.CodeSaving:
		return "p2pchat stopped while saving it: if the save completes, the next run sends it"
	case peer.CodeStoppedUnsaved:
		return "p2pchat stopped before it was saved"
	case peer.CodeStoppedUnacked:
		return "p2pchat stopped before it was acknowledged"
	case peer.CodeSaveFailed:
		return fmt.Sprintf("not sent: it could not be saved: %s", diskWords(e.Err))
	case peer.CodeUnsent:
		return "dropped by /unsend"
	}
	return e.Text
}
