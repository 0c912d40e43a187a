package peer

import (
	"strings"
	"testing"
	"testing/synctest"
)

// TestAppPayloadsDurable: application payloads queued for a key that is
// away (never met in this run: parked) wait on disk across the sender's
// restart, arrive once each and in order as EvApp events with their kind
// and exact bytes (binary, larger than a chat message may be), and are
// reported delivered with App set; an app-once payload to an online peer
// arrives as EvApp without Idx.
func TestAppPayloadsDurable(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(31)
		dir := t.TempDir()
		opt, stop := durable(t, dir)
		a := startNode(t, mn, "alice", opt)
		bobID := mustIdentity(t)
		big := string(make([]byte, MaxTextBytes+100)) // larger than any chat message
		datas := []string{"\x00\xff\x01", big, "third"}
		var ids []uint64
		for i, d := range datas {
			id, err := a.SendApp(bobID.Public, "bob", byte(i+1), []byte(d))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if got := a.Waiting(); got != 3 {
			t.Fatalf("Waiting = %d, want 3", got)
		}
		a2, _ := restart(t, mn, a, stop, dir)
		if got := a2.Waiting(); got != 3 {
			t.Fatalf("after restart Waiting = %d, want 3", got)
		}
		b := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(b, a2)
		for i, d := range datas {
			e := b.wait("app", func(e Event) bool { return e.Kind == EvApp })
			if e.App != byte(i+1) || e.Text != d || e.Key != a2.id.Public || e.PeerID != a2.ID() {
				t.Fatalf("app %d: got kind %d, %d bytes from %x; want kind %d, %d bytes", i, e.App, len(e.Text), e.Key[:4], i+1, len(d))
			}
		}
		for _, id := range ids {
			e := a2.wait("delivered", func(e Event) bool { return e.Kind == EvDelivered && e.ID == id })
			if e.App == 0 {
				t.Errorf("delivered %d without App", id)
			}
		}
		if err := b.SendAppOnce(a2.id.Public, 9, []byte("once")); err != nil {
			t.Fatal(err)
		}
		e := a2.wait("app-once", func(e Event) bool { return e.Kind == EvApp })
		if e.App != 9 || e.Text != "once" || e.Idx != 0 {
			t.Errorf("app-once: %+v", e)
		}
		if got := a2.Waiting(); got != 0 {
			t.Errorf("Waiting = %d", got)
		}
	})
}

// TestAppPayloadLateDeliveryNotWorded: an application payload reported
// pending (its recipient vanished) and delivered when it comes back is
// reported by EvDelivered with App set only: no "delivered after all"
// info event quoting its bytes (the application words its own; the shell
// would print the binary payload as text).
func TestAppPayloadLateDeliveryNotWorded(t *testing.T) {
	t.Parallel() // on virtual time
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNet(32)
		a := startNode(t, mn, "alice")
		bobID := mustIdentity(t)
		b := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(a, b)
		a.waitJoined("bob")
		b.tr.Unplug(true)
		id, err := a.SendApp(bobID.Public, "bob", 1, []byte("\x01\x02room payload"))
		if err != nil {
			t.Fatal(err)
		}
		a.Send("bob", "plain")
		a.wait("left", func(e Event) bool { return e.Kind == EvLeft && e.Peer == "bob" })
		b.Close()
		b2 := startNode(t, mn, "bob", func(c *Config) { c.Identity = bobID })
		introduce(a, b2)
		// Both delivered; the plain message's "after all" comes with it.
		var infos []string
		plain := false
		for got := 0; got < 2 || !plain; {
			e := a.wait("delivered", func(e Event) bool { return e.Kind == EvDelivered || e.Kind == EvInfo })
			switch {
			case e.Kind == EvInfo && e.Code == CodeDeliveredLate:
				infos = append(infos, e.Text)
				plain = plain || e.Text == "plain"
			case e.Kind == EvDelivered:
				if e.ID == id && e.App != 1 {
					t.Errorf("delivered app payload without App: %+v", e)
				}
				got++
			}
		}
		for _, s := range infos {
			if strings.Contains(s, "room payload") {
				t.Errorf("app payload worded: %q", s)
			}
		}
	})
}
