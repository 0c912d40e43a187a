package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pchat/p2pchat/internal/testnet"
)

// The packet replayer: this test binary, re-executed inside an attacker's
// lab namespace, sends recorded datagrams to lab addresses, from its own
// address or forged (raw socket) as coming from another host.

// Environment of the replay helper: this test binary, re-executed by
// runReplay inside the attacker's namespace, sends the datagrams in the
// file named by replayEnvFile to every address in replayEnvTo; with
// replayEnvFrom it forges that source address and port with a raw socket.
const (
	replayEnvFile = "P2PCHAT_E2E_REPLAY_FILE"
	replayEnvTo   = "P2PCHAT_E2E_REPLAY_TO"
	replayEnvFrom = "P2PCHAT_E2E_REPLAY_FROM"
)

func init() {
	helperMain(replayEnvFile, "replay helper", func(file string) error {
		n, err := replayHelper(file, os.Getenv(replayEnvTo), os.Getenv(replayEnvFrom))
		if err == nil {
			fmt.Printf("sent %d datagrams\n", n)
		}
		return err
	})
}

func replayHelper(file, to, from string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var payloads [][]byte
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if 4+n > len(b) {
			return 0, errors.New("truncated payload file")
		}
		payloads = append(payloads, b[4:4+n])
		b = b[4+n:]
	}
	var dsts []netip.AddrPort
	for _, s := range strings.Split(to, ",") {
		a, err := netip.ParseAddrPort(s)
		if err != nil || !testnet.Net.Contains(a.Addr()) {
			return 0, fmt.Errorf("destination %q is not a lab address", s)
		}
		dsts = append(dsts, a)
	}
	sent := 0
	if from == "" {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		for _, p := range payloads {
			for _, d := range dsts {
				if _, err := c.WriteToUDPAddrPort(p, d); err != nil {
					return sent, err
				}
				sent++
			}
		}
		return sent, nil
	}
	src, err := netip.ParseAddrPort(from)
	if err != nil || !testnet.Net.Contains(src.Addr()) {
		return 0, fmt.Errorf("source %q is not a lab address", from)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return 0, fmt.Errorf("raw socket: %w", err)
	}
	defer syscall.Close(fd)
	for _, p := range payloads {
		for _, d := range dsts {
			if err := syscall.Sendto(fd, forgedUDP(src, d, p), 0, &syscall.SockaddrInet4{Addr: d.Addr().As4()}); err != nil {
				return sent, fmt.Errorf("sendto %s: %w", d, err)
			}
			sent++
		}
	}
	return sent, nil
}

// forgedUDP builds an IPv4 packet holding a UDP datagram from src to dst.
func forgedUDP(src, dst netip.AddrPort, payload []byte) []byte {
	ulen := 8 + len(payload)
	b := make([]byte, 20+ulen)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[6] = 0x40 // don't fragment
	b[8] = 64   // TTL
	b[9] = 17
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], s4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[10:], inetChecksum(b[:20]))
	u := b[20:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	copy(u[8:], payload)
	pseudo := append(append(append([]byte{}, s4[:]...), d4[:]...), 0, 17, byte(ulen>>8), byte(ulen))
	cs := inetChecksum(append(pseudo, u...))
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], cs)
	return b
}

func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// runReplay sends payloads to every one of to from host h, forging the
// source address from when it is valid, and checks they all went out.
func runReplay(t *testing.T, h *testnet.Host, payloads [][]byte, from netip.AddrPort, to ...netip.AddrPort) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, p := range payloads {
		file = binary.BigEndian.AppendUint32(file, uint32(len(p)))
		file = append(file, p...)
	}
	path := filepath.Join(t.TempDir(), "replay.bin")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, d := range to {
		dsts = append(dsts, d.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h.Name, exe)
	cmd.Env = append(os.Environ(), replayEnvFile+"="+path, replayEnvTo+"="+strings.Join(dsts, ","), replayEnvFrom+"=")
	if from.IsValid() {
		cmd.Env[len(cmd.Env)-1] = replayEnvFrom + "=" + from.String()
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("replay helper on %s: %v\n%s", h.Name, err, out)
	}
	want := fmt.Sprintf("sent %d datagrams", len(payloads)*len(to))
	if !strings.Contains(string(out), want) {
		t.Fatalf("replay helper on %s: %q, want %q", h.Name, out, want)
	}
	how := "from its own address"
	if from.IsValid() {
		how = "forged as coming from " + from.String()
	}
	t.Logf("%s: %s to %s, %s", h.Name, want, strings.Join(dsts, ", "), how)
}
