package transfer

import (
	"net"
	"time"
)

// A data connection whose peer has stopped answering (a link cut, a
// laptop closed, a receiver killed on a host that vanished) is noticed by
// the kernel in about linkTimeout, not after ioTimeout: unacknowledged data
// is given up after linkTimeout (TCP_USER_TIMEOUT, on Linux), and a side
// that only reads sends keepalive probes after keepIdle of silence, which
// the same bound ends. A peer that is alive but slow to read (a slow disk)
// still answers, so it is not taken for gone; ioTimeout stays as the
// backstop for a peer process that is stuck.
const (
	linkTimeout  = 4 * time.Second
	keepIdle     = time.Second
	keepInterval = time.Second
	keepCount    = 4
)

// watchLink sets the liveness checks above on data connection nc (best
// effort: a connection that is not TCP keeps ioTimeout only).
func watchLink(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: keepIdle, Interval: keepInterval, Count: keepCount})
	setUserTimeout(tc, linkTimeout)
}

// deadlineWriter gives every write on a data connection ioTimeout to go
// out, however long the connection has run: a peer that stops reading
// for that long ends it. A data connection keeps no deadline from its
// handshake: a transfer may take hours.
type deadlineWriter struct{ nc net.Conn }

func (w deadlineWriter) Write(b []byte) (int, error) {
	_ = w.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	return w.nc.Write(b)
}
