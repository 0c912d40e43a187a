package peer

// Notice shows the user a quiet notice that concerns no peer (EvInfo), in
// order with the node's own events: for the parts of the program around
// the node, such as discovery saying which interfaces it uses.
func (n *Node) Notice(text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.emitLocked(Event{Kind: EvInfo, Text: text})
}
