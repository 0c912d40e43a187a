package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestFilePayloadBytes pins the transfer control payloads to exact bytes.
func TestFilePayloadBytes(t *testing.T) {
	sum := [32]byte{0xaa, 31: 0xbb}
	key := [32]byte{0x11, 31: 0x22}
	hdr := "0000000000000001 0000000000000002 000000000000000a"
	tests := []struct {
		name string
		p    Payload
		want string
	}{
		{"offer", Payload{Kind: KindOffer, Boot: 1, Counter: 2, ToBoot: 10, Transfer: 0x0102030405060708,
			Files: []FileEntry{{Name: "a.txt", Size: 5, SHA256: sum}, {Name: "目录/b", Size: 0x100000000, SHA256: sum}}},
			"07 " + hdr + " 0102030405060708 00 0002" +
				" 0000000000000005 aa000000000000000000000000000000000000000000000000000000000000bb 0005 612e747874" +
				" 0000000100000000 aa000000000000000000000000000000000000000000000000000000000000bb 0008 e79baee5bd952f62"},
		{"accept", Payload{Kind: KindAccept, Boot: 1, Counter: 2, ToBoot: 10, Transfer: 9, TransferKey: key},
			"08 " + hdr + " 0000000000000009 1100000000000000000000000000000000000000000000000000000000000022"},
		{"reject", Payload{Kind: KindReject, Boot: 1, Counter: 2, ToBoot: 10, Transfer: 9, Code: CodeUser},
			"09 " + hdr + " 0000000000000009 01"},
		{"cancel", Payload{Kind: KindCancel, Boot: 1, Counter: 2, ToBoot: 10, Transfer: 9, Code: CodeFailed},
			"0a " + hdr + " 0000000000000009 05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.AppendMarshal(nil)
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("bytes\n got %x\nwant %x", got, want)
			}
			if tt.p.Kind == KindOffer && OfferSize(tt.p.Files) != len(got)-InnerHdr {
				t.Errorf("OfferSize = %d, encoded body is %d", OfferSize(tt.p.Files), len(got)-InnerHdr)
			}
			back, err := ParsePayload(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.p) {
				t.Fatalf("round trip\n got %+v\nwant %+v", back, tt.p)
			}
			if back, err := ParsePayload(append(got, 0xff, 0xfe)); err != nil || !reflect.DeepEqual(back, tt.p) {
				t.Errorf("trailing bytes: %v", err)
			}
		})
	}
}

func TestFilePayloadRejects(t *testing.T) {
	offer := func(files ...FileEntry) []byte {
		return (&Payload{Kind: KindOffer, Transfer: 1, Files: files}).AppendMarshal(nil)
	}
	many := make([]FileEntry, MaxOfferFiles+1)
	for i := range many {
		many[i] = FileEntry{Name: "f", Size: 1}
	}
	big := make([]FileEntry, 70)
	for i := range big {
		big[i] = FileEntry{Name: strings.Repeat("n", MaxFileNameBytes), Size: 1}
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"no files", offer(), ErrBadField},
		{"too many files", offer(many...), ErrBadField},
		{"empty name", offer(FileEntry{Size: 1}), ErrBadField},
		{"name too long", offer(FileEntry{Name: strings.Repeat("x", MaxFileNameBytes+1)}), ErrBadField},
		{"name not utf8", offer(FileEntry{Name: "a\xffb"}), ErrBadField},
		{"file too big", offer(FileEntry{Name: "a", Size: MaxFileSize + 1}), ErrTooBig},
		{"total too big", offer(FileEntry{Name: "a", Size: MaxFileSize}, FileEntry{Name: "b", Size: 1}), ErrTooBig},
		{"offer too big", offer(big...), ErrTooBig},
		{"truncated offer", offer(FileEntry{Name: "abc", Size: 1})[:InnerHdr+8+1+2+8+32+2+1], ErrShort},
		{"transfer zero", (&Payload{Kind: KindReject}).AppendMarshal(nil), ErrBadField},
		{"truncated accept", (&Payload{Kind: KindAccept, Transfer: 1}).AppendMarshal(nil)[:InnerHdr+8+31], ErrShort},
		{"truncated cancel", (&Payload{Kind: KindCancel, Transfer: 1}).AppendMarshal(nil)[:InnerHdr+8], ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePayload(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
