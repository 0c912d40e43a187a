// Package transfer sends files and folders between p2pchat peers: offered,
// accepted, encrypted, verified and resumable.
//
// It is its own package, next to peer rather than inside it, because it
// shares nothing with the chat core but two narrow hooks: the node carries
// its four control payloads and hands over the data connections; the
// transfer state, the disk and the data path live here, with their own
// lock, so a transfer never holds the node's lock and its chunks never go
// through the node's message queue (chat stays responsive).
//
// # Control: over the authenticated chat channel
//
// Offer, accept, reject and cancel are sealed payload kinds of the wire
// format (internal/wire/files.go), sent by peer.Node.SendFile to a peer in
// the address book and received through peer.Node.SetFileHandler: they are
// authenticated as coming from the peer's key and readable only by it.
// They are idempotent and made reliable here: the sender repeats its offer
// every 2 s until it is answered; the receiver answers every repeat with
// its decision, and repeats its accept every 3 s while it waits for data;
// an answer about a transfer the other side no longer knows is a cancel
// (CodeUnknown).
//
//	sender                                  receiver
//	offer(id, files: name size sha256) ->   shown: "/accept 3 or /reject 3"
//	                                   <-   accept(id, key) | reject(id, code)
//	data connection (below)           <->
//	cancel(id, code)                  <->   either side, any time
//
// A pause is told once: a new connection that fails at once the same way
// (the receiver's disk still full) says nothing, and the resume is told
// once data has flowed on a connection for resumeQuiet, or a file on it
// completed.
//
// A sender waits as long as it takes (a paused transfer resumes when the
// peer is back) unless Config.GiveUpAfter is set, as p2pchat does for
// scripts (-send-timeout): then an offer not answered, or an accepted
// transfer without progress (no more of it on the receiver's disk, no
// connection that lasts a second with data flowing), for that long is
// given up with CodeTimeout and the receiver is told (a cancel).
//
// Offers are bounded by the decoder (wire.MaxOfferFiles files,
// wire.MaxFileNameBytes per name, wire.MaxFileSize per file,
// wire.MaxOfferTotal in all, wire.MaxOfferBytes encoded) and here
// (maxPending offers waiting per peer, maxPendingAll in all); a name
// SanitizeName refuses makes the whole offer refused.
//
// # Data: a separate TCP connection to the chat port
//
// The accept carries a fresh random 32-byte transfer key, chosen by the
// receiver and known only to the two peers (it travelled sealed). The
// sender dials the receiver's chat port; the connection starts with
// peer.StreamMagic, so the node's accept loop hands it to this package
// (peer.NetTransport.HandleStreams) instead of its packet reader:
//
//	sender -> receiver (clear): "p2pf" version(1)=2 sender-key(32)
//	                            nonce-s(16) tag(16)
//	receiver -> sender (clear): status(1) nonce-r(16) mac-r(16)
//	sender -> receiver (clear): mac-s(16)
//
// The tag is HMAC-SHA256 of nonce-s under a key derived (HKDF-SHA256)
// from the transfer key, the transfer id and both public keys: the
// receiver finds the transfer by it (among the accepted ones from that
// sender key), and nobody else learns the id. Both sides then derive,
// with HKDF-SHA256 from the transfer key salted with both nonces and
// bound to the transfer id and both public keys (session.go), one
// AES-256-GCM key per direction and a MAC key, so every connection has
// fresh keys (a recorded connection replayed fails) and a key is good for
// one transfer between these two identities only. mac-r is HMAC-SHA256
// (cut to 16 bytes) of the status and both nonces: a status not so
// signed (from whoever answered the dial) is a lost link to the sender,
// never an end; a receiver that knows no such transfer has no key and
// closes. mac-s, over both nonces, proves that the sender holds the key
// on this very connection (nonce-r is fresh, so a replayed hello cannot
// give it): only then does the receiver act on the connection (taking
// over from an older one of the same transfer), and until then, within
// handshakeTimeout (2 s), a failure only closes it. Every frame is
//
//	length(4) AES-GCM(type(1) file(4) offset(8) data)
//
// with the frame's number in its direction as the nonce: a frame dropped,
// repeated, reordered or altered fails authentication and ends the
// connection (not the transfer: the next connection resumes it). Both sides set keepalives and, on Linux, TCP_USER_TIMEOUT on
// it (liveness.go), so a cut link ends it in about linkTimeout. The
// receiver's first frame tells, per file, how much of it
// is already on disk (resume); the sender then sends the rest, file by
// file, in chunks of chunkSize; the receiver reads each completed file
// back from its disk to verify it (saying so every aliveEvery, so that a
// long verification is not taken for a dead peer) and answers with its
// verdict, after it has recorded the file done: a file the
// resume frame says is done is verified (its verdict was lost with an
// earlier connection), and a transfer done at the receiver still answers
// its sender, so no file is sent, nor saved, twice. Data past a file's offered size, for another file than
// the one due, or on a connection nobody accepted is a protocol error:
// dropped with the connection.
//
// # On disk
//
// Nothing is written before the user accepts (or -accept-from names the
// peer and that name is pinned to the offering key: FileMsg.Pinned). Data goes to <downloads>/.p2pchat-partial/<id>-<n>.part, opened
// through os.Root so no name can leave the downloads folder; when a file's
// last byte is in, its SHA-256, read back from the disk (what was
// received is what is checked), is compared with the offer's, and only a
// match is linked to its final, sanitised name, never over an existing
// file ("report (1).pdf"). A mismatch deletes the data and both sides are
// told. A partial file is created, and a verified one named, under the
// manager's lock and only while the transfer is live, so a cancel comes
// wholly before (nothing left) or after (the file is done and stays). The accepted transfer's state (the offer, the key) is kept next to
// the partial files, the sender's in its home directory, so a transfer
// cut by a lost link or a restart of either side continues from what is
// on disk when both are back.
//
// # Events and errors: codes, not sentences
//
// What this package tells (Events) and answers (the commands' errors) is
// codes and fields: an event's Kind, Code, Note and Hint; an Err that is
// an *Error, a Cause (Causes lists them) with the names and numbers its
// words need; a command's *Error or *DecidedError. Names in them are ours
// or sanitised, never the peer's raw text. The shell writes the sentences
// the user reads (shell/transfers.go); an Error's own text is for the
// debug log.
package transfer
