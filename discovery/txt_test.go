package discovery

import (
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func testKey(b byte) [32]byte {
	var k [32]byte
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// keyText is testKey(1) as it appears in TXT.
const keyText = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"

func TestTXTRoundTrip(t *testing.T) {
	tests := []Info{
		{ID: "0123456789abcdef", Name: "alice", Key: testKey(1), Host: "laptop", Version: 1},
		{ID: "fedcba9876543210", Name: "小明", Key: testKey(7), Host: "小明的电脑", Version: 1},
		{ID: "00000000000000ff", Name: strings.Repeat("名", MaxNameRunes), Key: testKey(200), Version: 3},
		{ID: "0000000000000000", Name: "emoji👩💻ok", Key: testKey(255), Host: "emoji 👩‍💻 ok", Version: 1},
	}
	for _, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			got, err := ParseTXT(TXT(want))
			if err != nil {
				t.Fatalf("ParseTXT(TXT(%+v)): %v", want, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestTXTFields(t *testing.T) {
	got := TXT(Info{ID: "0123456789abcdef", Name: "小明", Key: testKey(1), Host: "h", Port: 9999})
	want := []string{"v=2", "id=0123456789abcdef", "name=小明", "key=" + keyText, "host=h"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TXT = %q, want %q", got, want)
	}
}

func TestParseTXT(t *testing.T) {
	valid := func(mod func(m map[string]string)) []string {
		m := map[string]string{"v": "1", "id": "0123456789abcdef", "name": "bob", "key": keyText, "host": "h"}
		mod(m)
		var out []string
		for _, k := range []string{"v", "id", "name", "key", "host"} {
			if v, ok := m[k]; ok {
				out = append(out, k+"="+v)
			}
		}
		return out
	}
	set := func(k, v string) func(map[string]string) { return func(m map[string]string) { m[k] = v } }
	del := func(k string) func(map[string]string) { return func(m map[string]string) { delete(m, k) } }

	tests := []struct {
		name    string
		fields  []string
		wantErr string // "" = must parse
	}{
		{"valid", valid(set("x", "")), ""},
		{"no host", valid(del("host")), ""},
		{"version 2", valid(set("v", "2")), ""},
		{"unknown fields ignored", append(valid(set("x", "")), "color=blue", "flag", "=junk"), ""},
		{"first occurrence wins", append(valid(set("x", "")), "v=x", "name=\x1b[31m"), ""},
		{"keys case-insensitive", []string{"V=1", "ID=0123456789abcdef", "Name=bob", "KEY=" + keyText}, ""},

		{"missing v", valid(del("v")), `missing "v="`},
		{"missing id", valid(del("id")), `missing "id="`},
		{"missing name", valid(del("name")), `missing "name="`},
		{"missing key", valid(del("key")), `missing "key="`},
		{"empty", nil, "missing"},
		{"bad version word", valid(set("v", "one")), "bad version"},
		{"bad version empty", valid(set("v", "")), "bad version"},
		{"bad version zero", valid(set("v", "0")), "bad version"},
		{"bad version negative", valid(set("v", "-1")), "bad version"},
		{"bad version plus", valid(set("v", "+1")), "bad version"},
		{"bad version huge", valid(set("v", "99999999999999999999")), "bad version"},
		{"id short", valid(set("id", "0123")), "id"},
		{"id upper case", valid(set("id", "0123456789ABCDEF")), "id"},
		{"id not hex", valid(set("id", "0123456789abcdeg")), "id"},
		{"short key", valid(set("key", keyText[:42])), "key"},
		{"long key", valid(set("key", keyText+"A")), "key"},
		{"bad base64", valid(set("key", "!"+keyText[1:])), "key"},
		{"padded std base64", valid(set("key", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")), "key"},
		{"newline in key", valid(set("key", keyText[:21]+"\n"+keyText[22:])), "key"},
		{"non-canonical key", valid(set("key", keyText[:42]+"B")), "key"},
		{"zero key", valid(set("key", strings.Repeat("A", 43))), "all zero"},
		{"empty name", valid(set("name", "")), "empty"},
		{"escape in name", valid(set("name", "bob\x1b[2J")), "control"},
		{"newline in name", valid(set("name", "bob\nalice")), "control"},
		{"C1 control in name", valid(set("name", "bob\u009b")), "control"},
		{"bidi override in name", valid(set("name", "bob\u202egpj.exe")), "control"},
		{"invalid UTF-8 name", valid(set("name", "bob\xff")), "UTF-8"},
		{"GBK name", valid(set("name", "\xd0\xa1\xc3\xf7")), "UTF-8"},
		{"33-rune name", valid(set("name", strings.Repeat("名", MaxNameRunes+1))), "at most 32"},
		{"zero-width joiner in name", valid(set("name", "👩\u200d💻")), "control"},
		{"space in name", valid(set("name", "bob alice")), "space"},
		{"@ in name", valid(set("name", "bob@2")), "'@'"},
		{"slash in name", valid(set("name", "bob/x")), "'/'"},
		{"control in host", valid(set("host", "h\x07")), "control"},
		{"long host", valid(set("host", strings.Repeat("h", 251))), "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseTXT(tt.fields)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseTXT(%q): %v", tt.fields, err)
				}
				if info.Name != "bob" || info.Key != testKey(1) || info.ID != "0123456789abcdef" {
					t.Errorf("ParseTXT(%q) = %+v", tt.fields, info)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseTXT(%q) = %+v, want error containing %q", tt.fields, info, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "discovery: TXT: ") {
				t.Errorf("ParseTXT(%q) error %q, want it to contain %q", tt.fields, err, tt.wantErr)
			}
		})
	}
}

func FuzzParseTXT(f *testing.F) {
	f.Add("v=1", "id=0123456789abcdef", "name=小明", "key="+keyText, "host=h")
	f.Add("v=2", "id=0123456789abcdef", "name=\x1b", "key="+keyText, "x")
	f.Add("V=01", "Id=0123456789abcdef", "NAME=a=b", "key="+keyText, "v=3")
	f.Fuzz(func(t *testing.T, a, b, c, d, e string) {
		info, err := ParseTXT([]string{a, b, c, d, e})
		if err != nil {
			return
		}
		again, err := ParseTXT(TXT(info))
		if err != nil {
			t.Fatalf("accepted %+v, but not TXT of it: %v", info, err)
		}
		if !reflect.DeepEqual(again, info) {
			t.Fatalf("round trip changed it:\n got %+v\nwant %+v", again, info)
		}
	})
}

// TestTXTThroughDNS sends TXT fields through github.com/miekg/dns the way the
// mdns library does (pack on the responder, unpack on the querier), with no
// network involved.
func TestTXTThroughDNS(t *testing.T) {
	for _, want := range []Info{
		{ID: "0123456789abcdef", Name: "小明", Key: testKey(1), Host: "小明的电脑", Version: 1},
		{ID: "0123456789abcdef", Name: `back\slash"quoted"\065`, Key: testKey(2), Host: `h\ "q" \065`, Version: 1},
		{ID: "0123456789abcdef", Name: "a=b;c(d)é👩💻", Key: testKey(3), Host: "a=b;c (d) é 👩‍💻", Version: 7},
	} {
		t.Run(want.Name, func(t *testing.T) {
			msg := new(dns.Msg)
			msg.Answer = []dns.RR{&dns.TXT{
				Hdr: dns.RR_Header{Name: "x.local.", Rrtype: dns.TypeTXT, Class: dns.ClassINET},
				Txt: escapeFields(TXT(want)),
			}}
			wire, err := msg.Pack()
			if err != nil {
				t.Fatal(err)
			}
			var got dns.Msg
			if err := got.Unpack(wire); err != nil {
				t.Fatal(err)
			}
			fields, err := unescapeFields(got.Answer[0].(*dns.TXT).Txt)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseTXT(fields)
			if err != nil {
				t.Fatalf("ParseTXT(%q): %v", fields, err)
			}
			if !reflect.DeepEqual(info, want) {
				t.Errorf("through DNS:\n got %+v\nwant %+v", info, want)
			}
		})
	}
}

func TestUnescapeTXT(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                         "plain",
		`name=\229\176\143\230\152\142`: "name=小明",
		`\"q\" \\ \a \000`:              "\"q\" \\ a \x00",
		`\12`:                           "12",
	} {
		got, err := unescapeTXT(in)
		if err != nil || got != want {
			t.Errorf("unescapeTXT(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`trailing\`, `\256`, `\999`} {
		if got, err := unescapeTXT(in); err == nil {
			t.Errorf("unescapeTXT(%q) = %q, want error", in, got)
		}
	}
}

func FuzzUnescapeTXT(f *testing.F) {
	f.Add(`name=\229\176\143 \\ \" \`)
	f.Fuzz(func(t *testing.T, s string) {
		unescapeTXT(s) // must not panic
		if got, err := unescapeTXT(escapeTXT(s)); err != nil || got != s {
			t.Fatalf("unescapeTXT(escapeTXT(%q)) = %q, %v", s, got, err)
		}
	})
}
