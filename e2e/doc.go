// Package e2e holds end-to-end tests that run real p2pchat processes.
//
// TestMain builds the binary once (or uses $P2PCHAT_BIN if set). The
// multi-host tests run each node in its own network namespace of an
// internal/testnet lab and need root; they skip otherwise. The loopback and
// tmux tests run in the caller's namespace, always with -mdns=false and
// -bind 127.0.0.1, so nothing is ever multicast outside a lab.
//
//	sudo go test -v -count=1 ./e2e
package e2e
