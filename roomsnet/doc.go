// Package roomsnet runs p2pchat's rooms (package rooms, the pure core) on
// a node: it holds the one lock around rooms.State, carries the core's
// bytes over the node's per-peer streams (package peer's application
// payloads), keeps each room on disk, ticks the core's clocks, and hands
// the shell what to show as Events with codes (package shell words them).
//
// # What goes on the wire
//
// Every room payload is an application payload of the node (peer.SendApp:
// on the durable, acknowledged per-peer message stream; peer.SendAppOnce:
// sent once), sealed by the sender's identity key, so its sender is
// authenticated before anything here reads it. The application byte:
//
//	1 message   durable  a room message its author fans out (rooms.Message)
//	2 relay     durable  a room message of our log, answering a summary
//	3 list      durable  a private room's member list (rooms.List)
//	4 binding   durable  signing key(32) binding(64): rooms.Signer.BindingSig
//	5 summary   once     what we hold of a room (rooms.Summary)
//	6 advert    once     the rooms we are in: count(1) then count entries of
//	                     flags(1: 1 private) id(32) name(1+n) members(1) topic(2+n);
//	                     at most 900 bytes (a datagram): a longer list goes as
//	                     several adverts, each taken on its own
//	7 relay-end durable  room id(32): a full relay batch was sent, or a
//	                     summary came while a batch was in flight; send
//	                     another summary for more
//
// The signing key is bound to the identity without touching the hello:
// when a peer comes online we send it our binding once (app-once: a peer
// that never meets a room is owed nothing on disk), and on the durable
// stream, ahead of our first room payload to it in a run; the receiver
// checks it (rooms.VerifyBinding against the identity key
// the payload was sealed by) before it feeds rooms.State.Bound. The
// bindings taken are kept on disk (see "Bindings" below), so that a peer
// met in an earlier run can be invited while it is offline: the list
// goes on our durable stream to it, parked by the node until it comes
// back, and Known finds it by the name it had.
//
// # Meetings
//
// When a peer comes online we send it our binding, our advert, and our
// summary of every room it is a member of. An advert naming an open room
// we are in also draws our summary of it (two halves of a partition that
// each created #lunch learn of each other's members so). Adverts for
// changes others made (joins, parts, topics) go out at most once a
// second. A summary is
// answered with rooms.State.Relay's batch on the durable stream, at most
// one batch per peer and room in flight (a summary that comes meanwhile
// is counted as RelayBusy and answered by a relay-end once the batch is
// acknowledged), and batches of at most maxRelayRooms (2) rooms in
// flight to one peer across its rooms: a summary past that is deferred
// (counted as RelayDeferred; only for a room we are in, so at most one
// per peer and room of ours), and each time a batch to the peer is
// acknowledged its deferred room of lowest id is sent a relay-end, and
// the summary that draws is answered in the slot kept for it (for
// promoteWait at most, then the next deferred room's turn; a peer gone
// offline sends its summaries again when met). So a member meeting us in
// 32 rooms is answered two rooms at a time, not 32 batches held at once.
// A full batch ends with relay-end, which draws the next summary. Our own summary goes back after an answer only when the
// peer's lists something we lack (rooms.State.Ahead). Our own messages
// still on their way to that peer (fanned out, not acknowledged) are not
// relayed to it again. Messages relayed are
// counted (Stats.Relayed).
//
// A member learnt of late: we may speak in a room before we know one of
// its members (its advert did not reach us; its join comes in the answer
// to the summary we sent at our /join, after we spoke): our message was
// fanned out without it, and the summaries are already exchanged. When
// such a member's join (or, for one heard first by a message, that
// message) is shown, our own messages in the room from its time on, up to
// the last we had said when we first heard it advertise the room (a seq,
// rooms.State.OwnLast: the same millisecond, or a clock stepped back, is
// no gap), are sent to it on the durable stream (rooms.State.OwnSince;
// Stats.Resent); what it holds already it drops as duplicates.
//
// A newcomer's summary is fresh (send the room's last 100) to one member
// only: the first it sends a summary to after its /join (rooms.State.
// Summary decides; see "History from one member" in package rooms). When
// that member goes offline (the node's left event) before its relay is
// in, or has not answered within rooms.HistoryWait (checked every tick),
// the runner sends a fresh summary at once to the first member online,
// in key order, not asked before (a member it knows, or heard
// advertising the room); with none online, the next member met is
// asked.
//
// # On disk
//
// Each room we are in is a snapshot and a journal beside it (ID: the
// room id's 16 hex digits). The snapshot, HOME/rooms/ID.room, is written
// atomically (a temporary file synced, renamed, the directory synced): a
// magic line, a CRC-32C and the gob of rooms.Saved. The journal,
// HOME/rooms/ID.journal, holds what the room took since: one record per
// message taken (a peer's, or our own), appended (written) per batch of
// the node's events and synced at the next tick (one fsync per room and
// tick, no rename; Stats.JournalSyncs):
//
//	length(4) CRC-32C(4) body     (big-endian; both of the body)
//	body: kind(1: a message taken) at(8: Unix ms) message (rooms.Message's
//	      encoding, as in the snapshot's log)
//
// So a message taken costs its own bytes on disk, not a rewrite of the
// room. The snapshot is rewritten, and the journal emptied, when the
// journal would pass max(256 KiB, the snapshot's size) (journalLimit: at
// most maxFileBytes, so a journal is bounded like a snapshot), when the
// member list or our membership changes (a join, an invitation, a list),
// and on Close. A restore reads the snapshot (rooms.State.Restore) and
// replays the journal's records in order (rooms.State.Replay): a record
// replayed twice, or one the snapshot holds already (a crash between a
// snapshot and the journal's truncation), is a duplicate the core drops.
// The first record cut short (a crash mid-append) or failing its
// checksum (a flipped bit) ends the replay: the records before it are
// kept, the damage is reported (a "damaged" warning naming the journal,
// Stats.JournalDamage), the journal is kept as .damaged, and the
// snapshot is written at once. A snapshot that fails its check is
// renamed to .damaged, its journal with it, and reported; Restore
// applies the core's bounds. Stats.DiskBytes counts what is written to
// the directory.
//
// A room message taken is written to its journal before its inbox entry
// is marked shown (the shell calls peer.Node.Shown in order, after this
// package forwarded the event), so a crash of the process (kill -9: the
// kernel has the record) shows it again at most, and the core drops it
// as a duplicate. The record is synced at the next tick (every 2 s), not
// before its line is shown: like the shown mark itself (a write, not
// synced), so a power cut within that tick may show the line again
// (marked earlier, when a member sends it back), never lose it: the
// message was acknowledged only once it was in the synced inbox, and
// every member that has it keeps it. One fsync per batch put every
// member's disk to work for each message, after its acknowledgement;
// on a shared disk (the lab's 20 members) it slowed the others' (the
// room's fan-out was 1.30x of /all to as many, 1.14x without it). Our own message's record
// is appended at the next tick (coalesced), not before the message
// leaves: the message is on disk in every member's outbox first, and its
// seq is marked used in HOME/rooms/seqs (see seqs.go: synced once in
// seqReserve messages), so a crash loses at most our own copy (members
// relay it back), never a seq's uniqueness. The same seqs file keeps our
// next seq in a room we left, for rooms.State.NextSeq.
//
// # Bindings
//
// HOME/rooms/bindings keeps the maxSavedBound (512) bindings seen last:
// per peer its identity key, signing key, binding signature, when it was
// last seen and its label then (layout in bindings.go). It is written
// atomically, like a snapshot, at the next tick after a binding is new or
// changed (or seen again an hour after it was last written), and on
// Close. A load takes it only if its checksum and every entry's binding
// signature verify (so a flipped bit never makes us trust a wrong key);
// otherwise it is reported (a warning "bindings-damaged"), kept aside as
// bindings.damaged, and none of it is taken.
//
// # Errors and warnings
//
// This package words no sentences for people (errors.go). A warning's
// Code is one of Codes; a damaged or unreadable file is a *FileError (its
// Kind, File, Damage and where: Record, Offset, Rest, Size, Max), a save
// that failed a *SaveError (the file, and the operating system's error);
// a command's error is a rooms.Code, ErrNoBinding, ErrAmbiguous or one of
// peer's. Their Error text is for logs: the shell words them from these
// fields.
//
// # Bounds
//
// Besides the core's (package rooms): bindings known first-hand, at most
// maxBound in memory (the one seen longest ago forgotten), of which the
// maxSavedBound seen last on disk; the peers our binding went to in this
// run, at most maxBound (the first forgotten: it gets it again); events
// waiting for the shell, at most
// maxEventBytes: past half of it Filter takes no more of the node's
// events, so the node holds back its acknowledgements and the senders
// keep their messages (backpressure, as for direct messages); past all
// of it an event (of our own commands) is dropped and counted; payloads of a peer that
// is not introduced never reach us (the node drops them).
package roomsnet
