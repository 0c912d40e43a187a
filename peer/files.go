package peer

import (
	"fmt"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// File transfer hooks: the node carries the transfer control payloads
// (wire kinds offer, accept, reject, cancel) between peers it knows, sealed
// like every other packet; what they mean is package transfer's business.
// The data itself never goes through the node (see NetTransport.HandleStreams).

// FileMsg is a transfer control payload from a peer in the address book.
type FileMsg struct {
	PeerID string   // the sender's stable id
	Peer   string   // its display name when the payload arrived
	Key    [32]byte // its public key
	// Pinned: it is shown by its plain nickname and that nickname is pinned
	// to its key (a message was exchanged under it, or the user trusted
	// it), so the name means this key and not the first to claim it.
	Pinned  bool
	Payload wire.Payload
}

// SetFileHandler sets the function that receives transfer control
// payloads. It is called with the node's lock held: it must not block nor
// call the Node.
func (n *Node) SetFileHandler(h func(FileMsg)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.files = h
}

// SendFile seals a transfer control payload (kind offer, accept, reject or
// cancel) for the peer with id and sends it once, over UDP or, when it is
// too big for a datagram or UDP does not work, TCP. Reliability is the
// caller's: it sends again until it gets its answer.
func (n *Node) SendFile(id string, pl wire.Payload) error {
	switch pl.Kind {
	case wire.KindOffer, wire.KindAccept, wire.KindReject, wire.KindCancel:
	default:
		return fmt.Errorf("peer: SendFile: kind %s is not a transfer kind", pl.Kind)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	p := n.book.byID(id)
	if p == nil || p.label == "" {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	if !p.online {
		return fmt.Errorf("peer: %s is offline", p.label)
	}
	way := pathAuto
	if !p.udpOK {
		way = pathTCP
	}
	n.sendLocked(p, &pl, nil, way)
	return nil
}

// PeerKey is the public key of the peer with id, if the node knows it.
func (n *Node) PeerKey(id string) ([32]byte, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.book.byID(id)
	if p == nil {
		return [32]byte{}, false
	}
	return p.key, true
}

// PublicKey is the node's own public key.
func (n *Node) PublicKey() [32]byte { return n.id.Public }

// onFileLocked hands a transfer control payload of an introduced peer to the
// handler (n.mu held).
func (n *Node) onFileLocked(p *peerState, pl *wire.Payload) {
	if p.label == "" || n.files == nil {
		return
	}
	k, pinned := n.book.pins.lookup(p.nick)
	n.files(FileMsg{PeerID: p.id, Peer: p.label, Key: p.key, Pinned: pinned && k == p.key && p.label == p.nick, Payload: *pl})
}
