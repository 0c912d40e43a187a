package discovery

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/p2pchat/p2pchat/internal/wire"
)

// Limits on the TXT fields. A single DNS TXT string holds at most 255 bytes,
// key and "=" included.
const (
	// MaxNameRunes is the longest nickname, in runes, that ParseTXT accepts
	// (wire.MaxNameRunes).
	MaxNameRunes = wire.MaxNameRunes
	// maxHostBytes keeps "host=" + Host within one 255-byte TXT string.
	maxHostBytes = 255 - len("host=")
	// idLen is the length of a node id: 8 bytes, lower-case hex.
	idLen = 16
)

// keyEncoding is how Info.Key travels in TXT "key=": base64url without
// padding, with non-zero trailing bits rejected so every key has exactly one
// spelling.
var keyEncoding = base64.RawURLEncoding.Strict()

// TXT returns the DNS-SD TXT fields that advertise i, in a fixed order:
// v=, id=, name=, key=, host=. A zero i.Version is written as Version.
// TXT does not validate i; ParseTXT(TXT(i)) does.
func TXT(i Info) []string {
	v := i.Version
	if v == 0 {
		v = Version
	}
	return []string{
		"v=" + strconv.Itoa(v),
		"id=" + i.ID,
		"name=" + i.Name,
		"key=" + keyEncoding.EncodeToString(i.Key[:]),
		"host=" + i.Host,
	}
}

// ParseTXT parses the TXT fields of an answer. It is strict about the fields
// it knows and ignores the ones it does not (so later versions may add some):
//
//   - v: required, a positive decimal number (ASCII digits only);
//   - id: required, 16 lower-case hex digits;
//   - name: required, a valid nickname (wire.ValidName: valid UTF-8, 1 to
//     MaxNameRunes printable runes, no space, '@' or '/', no control or
//     bidirectional-override characters);
//   - key: required, base64url without padding of exactly 32 bytes, not all zero;
//   - host: optional, valid UTF-8 without control characters, at most 250 bytes.
//
// As RFC 6763 section 6.4 says, keys are case-insensitive and only the first
// occurrence of a key counts. Port is not part of TXT (it comes from the SRV
// record) and is left zero.
func ParseTXT(fields []string) (Info, error) {
	seen := make(map[string]string, 5)
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			continue // boolean attribute or junk: not ours
		}
		k = strings.ToLower(k)
		if _, dup := seen[k]; !dup {
			seen[k] = v
		}
	}

	var info Info
	var err error
	for _, k := range []string{"v", "id", "name", "key"} {
		if _, ok := seen[k]; !ok {
			return Info{}, fmt.Errorf("discovery: TXT: missing %q", k+"=")
		}
	}
	if info.Version, err = parseVersion(seen["v"]); err != nil {
		return Info{}, err
	}
	if info.ID, err = parseID(seen["id"]); err != nil {
		return Info{}, err
	}
	if info.Name, err = parseName(seen["name"]); err != nil {
		return Info{}, err
	}
	if info.Key, err = parseKey(seen["key"]); err != nil {
		return Info{}, err
	}
	if info.Host, err = parseHost(seen["host"]); err != nil {
		return Info{}, err
	}
	return info, nil
}

func parseVersion(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, fmt.Errorf("discovery: TXT: bad version %q", s)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("discovery: TXT: bad version %q", s)
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("discovery: TXT: bad version %q", s)
	}
	return v, nil
}

func parseID(s string) (string, error) {
	if len(s) != idLen {
		return "", fmt.Errorf("discovery: TXT: id %q is not %d hex digits", s, idLen)
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("discovery: TXT: id %q is not %d lower-case hex digits", s, idLen)
		}
	}
	return s, nil
}

// parseName checks a TXT name with the one nickname rule of the project
// (wire.ValidName), so that discovery reports only names the chat
// protocol accepts.
func parseName(s string) (string, error) {
	if err := wire.ValidName(s); err != nil {
		return "", fmt.Errorf("discovery: TXT: name: %w", err)
	}
	return s, nil
}

func parseKey(s string) ([32]byte, error) {
	var key [32]byte
	// The length check comes first: the decoder silently skips '\r' and '\n'.
	if len(s) != keyEncoding.EncodedLen(len(key)) {
		return key, fmt.Errorf("discovery: TXT: key has %d characters, want %d", len(s), keyEncoding.EncodedLen(len(key)))
	}
	n, err := keyEncoding.Decode(key[:], []byte(s))
	if err != nil {
		return [32]byte{}, fmt.Errorf("discovery: TXT: key: %w", err)
	}
	if n != len(key) {
		return [32]byte{}, fmt.Errorf("discovery: TXT: key decodes to %d bytes, want %d", n, len(key))
	}
	if key == ([32]byte{}) {
		return key, errors.New("discovery: TXT: key is all zero")
	}
	return key, nil
}

func parseHost(s string) (string, error) {
	if len(s) > maxHostBytes {
		return "", fmt.Errorf("discovery: TXT: host is %d bytes, more than %d", len(s), maxHostBytes)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("discovery: TXT: host %q is not valid UTF-8", s)
	}
	for _, r := range s {
		if badRune(r) {
			return "", fmt.Errorf("discovery: TXT: host %q contains control character %U", s, r)
		}
	}
	return s, nil
}

// badRune reports characters that must not reach a terminal from a peer:
// C0/C1 controls (ESC starts terminal escape sequences) and the Unicode
// bidirectional overrides and isolates, which reorder what is displayed.
func badRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case '\u202a' <= r && r <= '\u202e', '\u2066' <= r && r <= '\u2069':
		return true
	}
	return false
}

// The mdns library hands TXT strings to github.com/miekg/dns, which keeps them
// in DNS presentation format: when packing it reads "\DDD" and "\X" as
// escapes, and when unpacking it writes '"' and '\' as `\"` and `\\` and every
// byte outside printable ASCII as "\DDD" (so "小明" arrives as
// `\229\176\143\230\152\142`). escapeTXT and unescapeTXT convert between that
// format and the raw fields TXT and ParseTXT deal in.

// escapeTXT returns the presentation form of a raw TXT string: backslashes
// doubled; other bytes, UTF-8 included, pass through the packer unchanged.
func escapeTXT(s string) string {
	return strings.ReplaceAll(s, `\`, `\\`)
}

// unescapeTXT returns the raw bytes of a TXT string in presentation format.
func unescapeTXT(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch {
		case i == len(s):
			return "", fmt.Errorf("discovery: TXT: %q ends in a lone backslash", s)
		case i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]):
			n := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
			if n > 255 {
				return "", fmt.Errorf("discovery: TXT: bad escape in %q", s)
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// escapeFields applies escapeTXT to every field.
func escapeFields(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = escapeTXT(f)
	}
	return out
}

// unescapeFields applies unescapeTXT to every field.
func unescapeFields(fields []string) ([]string, error) {
	out := make([]string, len(fields))
	for i, f := range fields {
		var err error
		if out[i], err = unescapeTXT(f); err != nil {
			return nil, err
		}
	}
	return out, nil
}
