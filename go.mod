module github.com/p2pchat/p2pchat

go 1.26.8

require (
	github.com/flynn/noise v1.1.0
	github.com/hashicorp/mdns v1.0.7
	github.com/mattn/go-runewidth v0.0.31
	github.com/miekg/dns v1.1.72
	github.com/peterh/liner v1.2.3
	go.etcd.io/bbolt v1.4.3
	golang.org/x/crypto v0.58.0
	golang.org/x/net v0.60.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/clipperhouse/uax29/v2 v2.7.0 // indirect
	golang.org/x/mod v0.31.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/tools v0.40.0 // indirect
)
