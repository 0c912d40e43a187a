package peer

import (
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Name is the current nickname.
func (n *Node) Name() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name
}

// SetName changes the nickname and tells every peer.
func (n *Node) SetName(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.name = name
	for _, p := range n.book.peers {
		if p.online {
			n.sendHelloLocked(p, 0, zeroChallenge, nil)
		}
	}
	return nil
}

// MaxAwayBytes bounds the away text.
const MaxAwayBytes = wire.MaxAway

// SetAway sets an away text that peers see in /peers and that answers each
// peer's first direct message while it is set (like IP Messenger's absence
// mode); "" means back.
func (n *Node) SetAway(text string) error {
	if len(text) > MaxAwayBytes {
		return ErrAwayTooLong
	}
	if !utf8.ValidString(text) {
		return ErrAwayNotUTF8
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.away = text
	for _, p := range n.book.peers {
		p.awayAnswered = false
		if p.online {
			n.sendHelloLocked(p, 0, zeroChallenge, nil)
		}
	}
	return nil
}

// Away is the current away text ("" = here).
func (n *Node) Away() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.away
}
