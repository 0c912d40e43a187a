// Package rooms is p2pchat's rooms (/join #lunch): open rooms joined by
// name, private rooms by invitation, and the promise that every member
// gets every message, exactly once, in each author's order, even one
// sent while it was away.
//
// This package is a pure core: it does no I/O, starts no goroutine and
// reads no clock (every call that needs the time is given it). It keeps
// the membership, each author's position, the log, and decides what to
// hold, show, summarise and relay. The node carries its bytes over the
// per-peer durable streams (package peer) and the store keeps its log;
// the shell words its codes for people. State is not safe for concurrent
// use: its owner holds one lock around every call.
//
// # Names and ids
//
// A room name is '#' and 1 to 32 letters (any script: "#午饭"), decimal
// digits, '-' or '_'. It is case-insensitive: ParseName folds it
// (Unicode simple case folding, each letter to the lower case of the
// smallest letter of its fold orbit), and only the folded form goes on
// the wire or into an id. Combining marks are refused, so one name has
// one spelling without Unicode normalisation.
//
//	open room:    id = SHA-256("p2pchat room open v1\x00" || folded name)
//	private room: id = SHA-256("p2pchat room private v1\x00" || creator's signing key || nonce(16))
//
// Every node that joins "#lunch" computes the same id, so the two halves
// of a partition that each created it are one room when they meet: their
// summaries name the same room and each sends the other what it lacks.
// A private room's id binds its creator's key: nobody else can make a
// member list that verifies for it. An id is shown (room_id) as the hex
// of its first 8 bytes.
//
// # Keys, and how the signing key is bound to the identity (integration)
//
// Every room message is signed by its author with Ed25519
// (crypto/ed25519), so that any member can pass on another's message and
// the receiver can tell it is the author's own words, unaltered. The
// identity key (X25519, identity.key) cannot sign, so each node keeps a
// second key beside it: HOME/signing.key, a 32-byte Ed25519 seed made on
// first run like identity.key (0600). The binding travels sealed by the
// identity key, so authenticated as coming from it: package roomsnet
// sends it as an application payload on the durable per-peer stream when
// a peer is first seen in a run, ahead of any room message (the hello is
// left as it is),
//
//	signing key(32)  binding(64): Ed25519 signature by the signing key over
//	                 "p2pchat signing key v1\x00" || identity key (Signer.BindingSig)
//
// The box proves the identity key's owner sent the signing key; the
// binding signature proves the signing key's owner agrees to that
// identity (so nobody can claim another's signing key and have its
// messages shown under their own name). A receiver checks it with
// VerifyBinding and remembers (identity, signing key) for the peer;
// State.Bound looks it up, and a room message whose author claims that
// identity with another key is dropped (KeyMismatch). An author never
// met first-hand is known only by what its signed messages claim: in an
// open room the first signing key seen for an identity is kept for it
// (KeyMismatch for another, unless the other is the one known
// first-hand: that replaces it), and the shell should mark such an author
// as not verified until it is met; in a private room the creator's
// signed member list names each member's signing key.
//
// # Room message (version 1)
//
// Integers big-endian; n: a length prefix.
//
//	offset size field
//	0      1    layout version (1)
//	1      1    kind: 1 text, 2 join, 3 part, 4 topic
//	2      1    flags: 1 private room (other bits zero)
//	3      32   room id (open: must be OpenID(name))
//	35     32   author's signing key (Ed25519 public key)
//	67     32   author's identity key (X25519, as in its hello)
//	99     8    seq: the author's count of its messages in this room, from 1
//	107    8    time: Unix ms, the author's clock
//	115    1+n  room name, folded (n <= 129 bytes: '#' and 32 characters)
//	.      1+n  author's nickname when it wrote (wire.ValidName)
//	.      4+n  text, UTF-8: kind text 1..32 KiB; topic, join, part <= 512 bytes
//	.      64   Ed25519 signature by the author's signing key over
//	            "p2pchat room message v1\x00" || every byte above
//
// Nothing may follow the signature (a later layout is a new version
// byte). The largest message is MaxMessageBytes (33,210 bytes): larger
// than a direct message's text, so the node carries it as its own payload
// kind over TCP when it does not fit a datagram. The decoder checks every
// field and bound before anything else looks at it; FuzzDecodeMessage
// fuzzes it.
//
// # Private rooms: the member list (version 1)
//
//	0      1    layout version (1)
//	1      32   room id = PrivateID(creator, nonce)
//	33     32   creator's signing key
//	65     16   nonce
//	81     8    list version, from 1, +1 for every invite or kick
//	89     8    time: Unix ms, the creator's clock
//	97     1+n  room name, folded
//	.      1    count (<= 64), then count entries of
//	            identity key(32) signing key(32) added(8, Unix ms: invited at)
//	.      64   Ed25519 signature by the creator over
//	            "p2pchat room members v1\x00" || every byte above
//
// Only the creator invites and kicks, each making the next version;
// any member may pass a list on, and a member takes it only if the id is
// the creator's, the signature verifies under the creator's key, the
// creator is listed, no key is listed twice and the version is higher
// than its own (StaleLists, BadLists otherwise). A list that no longer
// names us removes the room (ListRemoved); one that newly names us joins
// it (ListInvited). Private room messages are taken only from members
// whose listed signing key signed them (NotMember), fanned out only to
// members, and relayed only to a member (RelayRefused), never anything
// older than that member's invitation.
//
// # Delivery, exactly once in each author's order
//
// A member sends its message (the node: on disk first) to every other
// member over the per-peer durable streams, online or not. Each member
// keeps, per author, the highest seq it holds contiguously (its
// position). A message at position+1 is taken and shown, and with it any
// held behind it; a message at or below the position, or already held,
// is a duplicate (dropped, counted); one ahead of a gap is held, at most
// MaxAhead seqs ahead, MaxHeld messages (MaxHeldBytes) per room and
// MaxHeldPerAuthor of one author, and refused (not taken: a later relay
// brings it again) past that. A gap not
// filled within GapWait (2 minutes: long enough for the members met to
// answer a summary) is given up: the held messages are shown and the
// missing seqs counted (Skipped). An author never seen before starts at
// its first message taken (its earlier messages were said before we were
// in the room). An author that lost its state joins again with a seq
// past any it used (the time in Unix ms); a join more than MaxAhead ahead
// is taken at once. A message older than MaxAge is not taken (Stale).
//
// # Summary and relay (catch-up from any member)
//
// When two members of a room meet (either comes online, a link comes
// back, and at most once per meeting per room), each sends the other its
// summary:
//
//	0      1    layout version (2)
//	1      32   room id
//	33     1    flags: 1 fresh (joined less than FreshFor ago: send recent history)
//	34     8    since: Unix ms, when the sender joined
//	42     2    count (<= 128), then count entries, in increasing order, of
//	            prefix(8: the first PrefixLen bytes of the author's signing key)
//	            seq(uvarint, shortest form: the highest contiguous it holds)
//
// at most MaxSummaryBytes (2,348 bytes); a full room's (64 authors with
// seqs from the time in ms, 6 bytes each) is under 950 bytes, one
// datagram: meeting a member in 32 rooms opens no TCP connection. An
// author is named by its key's prefix (see PrefixLen for a collision).
// The other answers with Relay: the
// messages of its log the summary lacks (seq above the listed position;
// of an author not listed, none older than since), oldest first, at most
// MaxRelayMsgs messages and MaxRelayBytes, whoever their author and
// whether or not the author is still around. The receiver takes each as
// any other message (signature first: a forged or altered relay is
// dropped and counted as Forged), marked Earlier, and sends a new summary
// for more once the batch is in. A fresh summary of an open room is
// answered with the room's last LateJoinHistory (100) messages not by
// the newcomer (what a newcomer is shown as earlier); a private room's
// newcomer is sent everything from its invitation on.
//
// # History from one member
//
// A newcomer asks one member for its history, not every member it meets
// (with 63 members it would be sent 6,300 messages, 6,200 of them
// duplicates, and every member would do the relay work). State.Summary
// is given the member it is for: while we are fresh, the first member a
// summary goes to is asked (its summary says fresh), and so is it again
// for more after a full batch; every other member gets a plain summary,
// which draws only what is newer than our join, and the member's own
// join if it said nothing since (so that the newcomer learns the quiet
// members the one asked may not have heard of yet). The ask is answered
// when a relayed message of the room, other than the member's own join,
// comes in from that member. If it
// goes away first (State.PeerGone: the node lost it, or our summary
// could not be sent) or stays silent for HistoryWait (10 s, in Tick),
// nobody is asked: State.NeedsHistory lists the room, and the next
// summary, to a member not asked before (State.Asked), asks that one;
// past FreshFor nobody is. So a newcomer is sent the history about once,
// and twice at most per member that vanished before its answer was in.
//
// # What is kept, and bounds
//
// Per room, the log: the last MaxLog (1,000) messages, MaxLogBytes
// (4 MiB) encoded, none taken more than MaxAge (7 days) ago, the oldest
// evicted first (LogEvicted); per author its position and what it holds
// ahead; the topic (the topic message with the latest time wins, then the
// greater author key, so every member settles on the same one; one dated
// more than MaxSkew, a day, ahead of our clock sets nothing); members
// (open: who joined and has not parted; private: the newest list). Every
// bound on what a stranger or a hostile member can make a node hold:
//
//	rooms we are in              MaxRooms 32          Join refused (ErrRoomsFull)
//	rooms entered by invitation  MaxInvitedRooms 16   further invitations refused until the user
//	  and not yet /join-ed                            /join-s or /part-s one (strangers' keys are free)
//	open rooms heard of          MaxKnownRooms 256    the one heard of longest ago is forgotten
//	members per room             MaxMembers 64        Join/Invite refused; a 65th joiner is not made a member
//	authors per room             MaxAuthors 128       an author no longer a member with nothing logged or held is
//	                                                  forgotten, else the new author's message is not taken
//	held ahead of a gap          MaxHeld 256 and 1 MiB per room, 64 per author, MaxAhead 256 seqs: not taken
//	log                          1,000 messages, 4 MiB, 7 days per room: oldest evicted
//	summary                      128 authors, 2,348 bytes
//	relay batch                  128 messages, 256 KiB
//	one message                  32 KiB of text, 512-byte topic, 32-character name
//
// Everything dropped or refused is counted in Stats, one field per reason.
//
// In memory, a node in 32 rooms whose logs are full of 100-byte messages
// holds about 13 MB (TestMemoryFullNode): against the 25 MB goal for a
// whole node, the integration may keep only each log's index here and
// the message bodies in the store.
//
// # Carrying it (package roomsnet does; its doc has the bytes)
//
// Room messages and member lists are sealed payloads of new kinds on the
// per-peer durable streams (kept in the outbox until acknowledged,
// exactly once per peer), so fan-out to a member that is away waits on
// disk like a direct message; a member acknowledges a room message once
// it and the position it advances are on disk (Saved). Summaries are
// plain sealed payloads (a lost one is sent again at the next meeting);
// relay batches go on the streams like fan-out. The node answers at most
// one summary per peer per room at a time (the next batch only once the
// previous one is acknowledged), and rate-limits a member's room messages
// like its direct ones.
//
// # Known limits
//
// A private room heard of (the node advertises the private rooms it is in
// by id and name) makes /join of that name an error while no open room of
// the name is known, so a name can be squatted by making a private room
// first. Two nodes in an open room's first minute may each be sent
// another's last 100 messages by different members and so see slightly
// different "earlier" history. Keys are free: a stranger with many keys
// can fill an open room's 64 members and 128 authors (the bounds hold,
// but a newcomer may then not be taken until the log turns over); the
// node's limits on unknown keys slow that, nothing here prevents it.
// Members of a private room keep the messages a removed member wrote
// before its removal only if they took them before the new list (later
// relays of them are dropped). Room names with combining marks (most
// Indic scripts) are refused until names are normalised (NFC).
package rooms
