//go:build !linux

package transfer

import (
	"net"
	"time"
)

// setUserTimeout: TCP_USER_TIMEOUT is Linux's; elsewhere the keepalives
// and ioTimeout notice a dead connection.
func setUserTimeout(*net.TCPConn, time.Duration) {}
