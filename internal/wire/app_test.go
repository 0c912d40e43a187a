package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// TestAppPayloadBytes pins the app payloads to exact bytes and checks
// their bounds.
func TestAppPayloadBytes(t *testing.T) {
	hdr := "0000000000000001 0000000000000002 000000000000000a"
	tests := []struct {
		name string
		p    Payload
		want string
	}{
		{"app", Payload{Kind: KindApp, Boot: 1, Counter: 2, ToBoot: 10, Stream: 7, Seq: 3, Base: 2, Time: 5, App: 1, Text: "\x00\xff"},
			"15 " + hdr + " 0000000000000007 0000000000000003 0000000000000002 0000000000000005 00 01 00000002 00ff"},
		{"app-once", Payload{Kind: KindAppOnce, Boot: 1, Counter: 2, ToBoot: 10, App: 4, Text: "ab"},
			"16 " + hdr + " 04 00000002 6162"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.AppendMarshal(nil)
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("bytes\n got %x\nwant %x", got, want)
			}
			back, err := ParsePayload(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.p) {
				t.Fatalf("round trip\n got %+v\nwant %+v", back, tt.p)
			}
		})
	}
	bad := []struct {
		name string
		p    Payload
		want error
	}{
		{"app 0", Payload{Kind: KindAppOnce, Text: "x"}, ErrBadField},
		{"too big", Payload{Kind: KindAppOnce, App: 1, Text: string(make([]byte, MaxAppBytes+1))}, ErrTooBig},
		{"seq 0", Payload{Kind: KindApp, App: 1, Stream: 1, Base: 1}, ErrBadField},
	}
	for _, tt := range bad {
		if _, err := ParsePayload(tt.p.AppendMarshal(nil)); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
	big := Payload{Kind: KindApp, App: 1, Stream: 1, Seq: 1, Base: 1, Text: string(make([]byte, MaxAppBytes))}
	if n := DataHdr + BoxOverhead + len(big.AppendMarshal(nil)); n > MaxPacket {
		t.Errorf("largest app packet %d bytes > MaxPacket %d", n, MaxPacket)
	}
}
