package shell

import (
	"fmt"
	"slices"
	"sync"

	"github.com/p2pchat/p2pchat/peer"
)

// fakeNode is an in-memory Node: it records what the shell asks of it and
// emits whatever events the test pushes into its channel.
type fakeNode struct {
	mu      sync.Mutex
	name    string
	fp      string
	peers   []peer.PeerInfo
	sent    []sendCall
	trusted []string
	unsent  []string // ids given to Unsend
	shown   []uint64 // what Shown was told, in order
	sendErr error    // if set, Send fails with it
	cmdErr  error    // if set, SetAway, Trust and Unsend fail with it
	away    string
	onSend  func(sendCall)
	nextID  uint64
	events  chan peer.Event
}

type sendCall struct {
	To   string `json:"to"` // peer id, "" = everyone
	Text string `json:"text"`
}

func newFakeNode(peers ...peer.PeerInfo) *fakeNode {
	return &fakeNode{name: "alice", fp: "AAAA-BBBB-CCCC", peers: peers, events: make(chan peer.Event, 16)}
}

var _ Node = (*fakeNode)(nil)

func (n *fakeNode) Name() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name
}

func (n *fakeNode) SetName(name string) error {
	if err := peer.ValidName(name); err != nil {
		return fmt.Errorf("peer: set name: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.name = name
	return nil
}

func (n *fakeNode) Send(to, text string) ([]uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sendErr != nil {
		return nil, n.sendErr
	}
	if err := peer.ValidText(text); err != nil {
		return nil, fmt.Errorf("peer: send: %w", err)
	}
	recipients := 1
	if to == "" {
		if len(n.peers) == 0 {
			return nil, fmt.Errorf("peer: send: %w", peer.ErrNoPeers)
		}
		recipients = len(n.peers)
	} else if !slices.ContainsFunc(n.peers, func(p peer.PeerInfo) bool { return p.ID == to }) {
		return nil, fmt.Errorf("peer: send to %q: %w", to, peer.ErrUnknownPeer)
	}
	n.sent = append(n.sent, sendCall{to, text})
	if n.onSend != nil {
		n.onSend(sendCall{to, text})
	}
	var ids []uint64
	for range recipients {
		n.nextID++
		ids = append(ids, n.nextID)
	}
	// As peer.Node does, "sent" comes as an event, after Send returned.
	ev := peer.Event{Kind: peer.EvSent, Peer: "all", IDs: ids}
	if to != "" {
		i := slices.IndexFunc(n.peers, func(p peer.PeerInfo) bool { return p.ID == to })
		ev.Peer, ev.PeerID = n.peers[i].Name, to
	}
	select {
	case n.events <- ev:
	default:
		go func() { n.events <- ev }()
	}
	return ids, nil
}

func (n *fakeNode) Unsend(id string) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.ContainsFunc(n.peers, func(p peer.PeerInfo) bool { return p.ID == id }) {
		return 0, fmt.Errorf("peer: unsend %q: %w", id, peer.ErrUnknownPeer)
	}
	if n.cmdErr != nil {
		return 0, n.cmdErr
	}
	n.unsent = append(n.unsent, id)
	return 2, nil
}

func (n *fakeNode) Shown(idx uint64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shown = append(n.shown, idx)
	return nil
}

func (n *fakeNode) Peers() []peer.PeerInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.peers)
}

// Resolve finds a peer by display name, or by a nickname only one peer
// claims, as peer.Node does.
func (n *fakeNode) Resolve(name string) (peer.PeerInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if i := slices.IndexFunc(n.peers, func(p peer.PeerInfo) bool { return p.Name == name }); i >= 0 {
		return n.peers[i], nil
	}
	var found []peer.PeerInfo
	for _, p := range n.peers {
		if p.Nick == name {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return peer.PeerInfo{}, fmt.Errorf("peer: %w: %s", peer.ErrUnknownPeer, name)
	}
	return found[0], nil
}

func (n *fakeNode) Peer(id string) (peer.PeerInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := slices.IndexFunc(n.peers, func(p peer.PeerInfo) bool { return p.ID == id })
	if i < 0 {
		return peer.PeerInfo{}, false
	}
	return n.peers[i], true
}

func (n *fakeNode) Trust(id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.ContainsFunc(n.peers, func(p peer.PeerInfo) bool { return p.ID == id }) {
		return fmt.Errorf("peer: trust %q: %w", id, peer.ErrUnknownPeer)
	}
	if n.cmdErr != nil {
		return n.cmdErr
	}
	n.trusted = append(n.trusted, id)
	return nil
}

// setPeers replaces the address book (renames, newcomers, departures).
func (n *fakeNode) setPeers(peers ...peer.PeerInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peers = peers
}

func (n *fakeNode) Fingerprint() string { return n.fp }

func (n *fakeNode) SetAway(text string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmdErr != nil {
		return n.cmdErr
	}
	n.away = text
	return nil
}

func (n *fakeNode) Events() <-chan peer.Event { return n.events }

func (n *fakeNode) sends() []sendCall {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent)
}
