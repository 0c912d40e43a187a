package discovery

// The responder's budgets. Anyone on the link can send mDNS queries, from
// any source address it likes, so the work done for them is bounded per
// source and in all, before a query is even unpacked:
//
//   - queries read: queryRate a second (queryBurst at once) from one source
//     prefix (IPv4 /24, IPv6 /64), allQueryRate (allQueryBurst) from all
//     sources together. A LAN of 50 nodes started at once sends 50 queries
//     per family in its first second, then fewer and fewer (schedule.go);
//   - unicast answers (legacy queries, QU questions): answerRate a second
//     (answerBurst) to one address, the address a spoofed query names (a
//     reflection's victim); a p2pchat node queries at most twice a second
//     per family.
//
// Each budget remembers at most maxSources sources; when full, the one
// used longest ago is forgotten (it starts again with a full budget).
const (
	queryRate     = 50
	queryBurst    = 100
	allQueryRate  = 200
	allQueryBurst = 400
	answerRate    = 10
	answerBurst   = 20
	maxSources    = 1024
)
