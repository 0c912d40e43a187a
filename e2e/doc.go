// Package e2e holds end-to-end tests that run real p2pchat processes.
//
// TestMain builds the binary once (or uses $P2PCHAT_BIN if set). The
// multi-host tests run each node in its own network namespace of an
// internal/testnet lab and need root; they skip otherwise. The loopback and
// tmux tests run in the caller's namespace, always with -mdns=false and
// -bind 127.0.0.1, so nothing is ever multicast outside a lab. Processes
// are driven with internal/proctest, terminals with internal/tmuxtest.
//
//	sudo go test -v -count=1 ./e2e
//
// Figures (durations, latencies, memory) are logged with t.Logf; run with
// -v to see them.
//
// # Which tests run at once
//
// Most tests wait on real clocks (mDNS, heartbeats, retransmissions) far
// more than they work, so they run side by side; those that measure run
// alone. Every test begins with one of (sched_test.go):
//
//   - shared(t), sharedFirst(t): next to at most 5 other shared tests
//     ($P2PCHAT_E2E_SHARED changes the 6) and the background one. Each has
//     its own lab (namespaces named after the pid and a per-process
//     counter), tmux server (socket named the same way), temporary
//     directories and, on loopback, free ports. sharedFirst is for the
//     longest (a minute or so: TestTransferSlowLink, TestFiftyLaptops,
//     TestLoss1000, TestDurableReceiverKilled, TestDurableDamagedStore,
//     TestOutboxSurvivesUpgrade, TestHostileBackpressure), started first so the shared phase does
//     not end with one of them running by itself. TestFiftyLaptops is
//     shared: its 90 s limit bounds a failure and paces nothing (its
//     figures are logged, not asserted). TestTransferSlowLink is
//     shared: its bound (twice the link's time plus 30 s) is there to
//     catch a transfer that starts over, not to measure the rate, and
//     its minute of Wi-Fi-shaped transfer stays a minute.
//     TestHostileBackpressure is shared: its bounds (RSS within 64 MiB,
//     at most 2 MiB acknowledged while nobody reads, every message shown
//     once) are bytes and counts, which the others' load does not move.
//   - alone(t): nothing but the background test runs with it, because
//     it measures memory, CPU or latency, or holds a deadline of a few
//     seconds that other tests' load could break, or loads the machine
//     itself: TestHostileReorderMemory (RSS, bob's messages within 1 s),
//     TestFloodAndGarbage (RSS, each message within 1 s),
//     TestMDNSQueryAttack (under 10% of a core, messages within 1 s),
//     TestUDPBlockedSwitchesAndReturns (each within 2 s),
//     TestTransferScriptGivesUp (gives up between its bounds) and
//     TestTransferBigFile (chat within 1 s during 256 MiB), all six
//     after a set-up run shared (sharedThenAlone, below);
//     TestSIGTERMInFlight (exit within 3 s), TestAvahiSeesGoodbye (gone within
//     1.5 s), TestOldVersionPeerTold (told within 10 s),
//     TestHostileEvictionReplay (the replay within a 10 s challenge) and
//     TestExchangeSurvivesLoss (its nft rule drops the first datagram of
//     exactly one book's length: run next to 5 others, dave once heard of
//     carol from carol first and the rule dropped nothing).
//   - sharedThenAlone(t): shared (let in after the sharedFirst ones,
//     before the plain shared ones) while it sets up or
//     waits on an expiry with a loose bound, then alone from the call of
//     the function it returns, for the part that measures:
//     TestVanishAndReturn (its first absence, bounds of 30 s and 70 s,
//     shared; the two returns whose messages must follow within 3 s
//     alone), TestTransferLinkCutResumes (labs, nodes and its two 512 MiB
//     files made shared; the transfers, the cuts, paused within 7 s, and
//     the resumes alone); and the six above whose labs, nodes (joined)
//     and files are made shared. Their processes wait, connected and
//     idle, for the alone turn.
//   - background(t): TestRekeyDuringConversation alone, which lasts
//     about 4m05s (two rekeys at the production 2-minute session lifetime,
//     seen on the wire, and 5 s more; at most 5m30s): two processes
//     sending a message a second each, a load far below what other
//     engineers' builds put on the machine. It runs from the start next
//     to everything, so that its minutes overlap the others' instead of
//     being added to them. It is the floor of the package's time.
//
// Every test calls t.Parallel (in those functions) and the gate decides
// who runs: shared tests first, then the alone ones one by one (an alone
// test waits while any shared test runs or waits to). TestMain raises
// -test.parallel to 256 unless the command line sets it, since its default
// (GOMAXPROCS, 2 here) would hold back tests the gate lets run.
// -parallel 1 runs them one at a time, the background one included.
//
// # Scenarios, one file each
//
// Chat on a LAN and on loopback:
//
//	lan_test.go           discovery and chat, a vanished peer, -peer without
//	                      multicast, TCP fallback, a lossy link, piped input
//	local_test.go         loopback without discovery; the shell in tmux
//	interop_test.go       avahi and python-zeroconf see p2pchat; avahi sees it
//	                      leave at /quit; p2pchat next to avahi; several
//	                      instances on one host
//	networks_test.go      a laptop on two networks; an interface that
//	                      appears while p2pchat runs
//	exchange_test.go      peer exchange without multicast; a hostile peer
//	                      feeding made-up entries (re-executed test binary)
//	exchange_loss_test.go peer exchange whose first book is dropped (nftables)
//	discovery_ipv6_test.go an IPv6-only LAN (link-local alone); a dual-stack
//	                      LAN (each peer reached once); -peer [fe80::..%eth0]
//	                      and peer exchange over IPv6
//
// Security: what a listener on the LAN, an impostor, a replaying machine
// or a hostile peer can do:
//
//	capture_test.go       TestCaptureShowsNoText: no message text on the wire
//	                      (pcap_test.go reads the capture, IPv4 and IPv6)
//	impostor_test.go      TestImpostorKeepsNoName: another key calling itself
//	                      bob is shown apart until /trust
//	replay_test.go        TestReplayAcrossTheLAN: recorded datagrams replayed
//	                      from another machine, also to a restarted receiver
//	escapes_test.go       TestTerminalEscapesNeutralised: no control character
//	                      from the network reaches a terminal
//	limits_test.go        TestLimits: the message size limit
//
// Hostile peers: authenticated strangers (fresh keys that join the honest
// way) attacking a real node, driven by the hostile helper:
//
//	hostile_memory_test.go        TestHostileReorderMemory: 32 keys flood
//	                              messages behind a gap over one TCP
//	                              connection; RSS, acks, a real peer's latency
//	hostile_squatting_test.go     TestHostileNameSquatting: passing through
//	                              names pins none of them
//	hostile_label_test.go         TestHostileLabelTakeover: keys named bob
//	                              from bob2's host cannot take bob2's label
//	                              or the shell's target
//	hostile_backpressure_test.go  TestHostileBackpressure: a -json reader
//	                              that stops reading; bounded acks and RSS,
//	                              every message shown once
//	hostile_eviction_test.go      TestHostileEvictionReplay: a peer forgotten
//	                              for room is not brought back by a replay
//
// Reliability: loss, blocked UDP, vanishing peers, floods, many peers,
// signals:
//
//	loss_test.go          TestLoss1000
//	udp_blocked_test.go   TestUDPBlockedSwitchesAndReturns
//	vanish_test.go        TestVanishAndReturn
//	flood_test.go         TestFloodAndGarbage
//	twenty_peers_test.go  TestTwentyPeers
//	fifty_test.go         TestFiftyLaptops: 50, on IPv4 and IPv6-only LANs
//	sigterm_test.go       TestSIGTERMInFlight
//
// File transfer:
//
//	transfer_big_test.go     TestTransferBigFile: 256 MiB arrives whole, chat
//	                         stays fast; TestTransferFolderRejectCancel: a
//	                         folder with Chinese names (twice: no overwrite),
//	                         reject, cancel by the receiver
//	transfer_resume_test.go  TestTransferLinkCutResumes: link cut at a third
//	                         (interface down; every packet dropped): both
//	                         sides pause within 7 s, resumed from what arrived
//	transfer_restart_test.go TestTransferRestart: receiver, then sender,
//	                         killed (-9) and restarted with the same home:
//	                         resumed, only the rest on the wire
//	transfer_script_test.go  TestTransferScript: a piped /send exits 0 only
//	                         once verified; 3 if rejected or no such peer
//	transfer_giveup_test.go  TestTransferScriptGivesUp: offer unanswered,
//	                         receiver killed (-9) for good: exit 4 within
//	                         -send-timeout, one line
//	transfer_capture_test.go TestTransferCaptureShowsNoFileBytes: no 32-byte
//	                         window of the file in a capture of the LAN
//	transfer_hostile_test.go TestTransferHostileSender: hostile names, hash
//	                         and size lies (its own data-protocol client,
//	                         a re-executed test binary)
//	transfer_diskfull_test.go TestTransferDiskFull: a 6 MiB tmpfs fills up:
//	                         clear error (said once while it stays full),
//	                         partial kept, resumed once freed
//	transfer_tmux_test.go    TestTransferProgressInTmux: the progress line
//	                         updates in place above a half-typed line
//	term_tmux_test.go        TestTalkInTmux: a bracketed paste after half a
//	                         line reaches the -json peer as one 5-line
//	                         message; /me as an action; -notify on a direct
//	                         message and a mention, not on a plain message
//
// Messages kept on disk (issue 12):
//
//	durable_sender_test.go   TestDurableSenderKilled: kill -9 with 5 queued
//	                         for an away peer; after the restart they arrive
//	                         once, in order, under the same ids
//	durable_receiver_test.go TestDurableReceiverKilled: the receiver killed
//	                         at a random point of 300, 20 rounds: each shown
//	                         once over both runs (one stated exception)
//	durable_both_test.go     TestDurableBothKilled: both killed mid-stream
//	durable_script_test.go   TestDurableOneShot: a piped one-shot to an away
//	                         peer exits 4; the next run delivers it
//	durable_damage_test.go   TestDurableDamagedStore: a flipped byte, torn
//	                         tails of messages.db
//	durable_diskfull_test.go TestDurableDiskFull: home on a full tmpfs
//	durable_lock_test.go     TestDurableHomeLocked: two processes, one home
//
// # Libraries
//
//	main_test.go          TestMain: the binary under test
//	nodes_test.go         starting nodes (JSON, text, with a given home)
//	chat_test.go          talking to a node: send and confirm, /whois, /peers
//	events_test.go        event logs: counting, extracting, sequence diffs
//	nft_test.go           nftables counters and blocks on lab hosts
//	tcpdump_test.go       capturing the lab's bridge with tcpdump
//	pcap_test.go          reading pcap files down to UDP and TCP payloads
//	                      (checked against the replayer's forged packets)
//	replayer_test.go      the replaying attacker (re-executed test binary;
//	                      raw socket to forge source addresses)
//	flooder_test.go       the junk flooder (re-executed test binary)
//	hostile_helper_test.go  the hostile helper (re-executed test binary in
//	                      a lab namespace driving internal/hostile peers on
//	                      JSON commands)
//	transfer_test_lib_test.go  transfer events, random files, SHA-256
//	durable_lib_test.go   the durable tests' lab, kill points, shown mark
package e2e
