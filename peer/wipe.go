package peer

import (
	"reflect"
	"unsafe"

	"github.com/flynn/noise"
)

// Erasure. flynn/noise keeps a handshake's chaining key, hash, ephemeral
// private key and every cipher key in unexported fields and has no call
// that zeroes them, so these functions reach them by reflection and zero
// every byte array and byte slice they hold, following pointers and
// interfaces (the AEADs inside the ciphers hold their keys the same way).
// They skip what is shared or not secret: the cipher suite (its name) and
// the handshake's static key pair (our identity, which must live on). What
// the Go runtime copied and freed (DH outputs, HKDF temporaries) is not
// reachable and not zeroed; the tests check that the state held is.

// wipeCipherState zeroes a session key and its cipher.
func wipeCipherState(cs *noise.CipherState) {
	if cs == nil {
		return
	}
	wipeStruct(reflect.ValueOf(cs).Elem(), 0)
}

// wipeHandshake zeroes a handshake's symmetric state (chaining key, hash,
// handshake cipher key) and its ephemeral key pair.
func wipeHandshake(hs *noise.HandshakeState) {
	if hs == nil {
		return
	}
	v := reflect.ValueOf(hs).Elem()
	for _, f := range []string{"ss", "e", "re", "psk"} {
		if fv := v.FieldByName(f); fv.IsValid() {
			wipeValue(fv, 0)
		}
	}
}

// wipeStruct zeroes the byte fields of struct v, but not its "cs" (the
// cipher suite) nor "s" (the static key pair).
func wipeStruct(v reflect.Value, depth int) {
	t := v.Type()
	for i := range v.NumField() {
		switch t.Field(i).Name {
		case "cs", "s", "rs", "nonce":
			continue
		}
		wipeValue(v.Field(i), depth+1)
	}
}

func wipeValue(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.CanAddr() && v.Len() > 0 {
			clear(unsafe.Slice((*byte)(unsafe.Pointer(v.UnsafeAddr())), v.Len()))
			return
		}
		for i := range v.Len() {
			wipeValue(v.Index(i), depth+1)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Cap() > 0 {
				clear(unsafe.Slice((*byte)(v.UnsafePointer()), v.Cap()))
			}
			return
		}
		for i := range v.Len() {
			wipeValue(v.Index(i), depth+1)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			wipeValue(v.Elem(), depth+1)
		}
	case reflect.Struct:
		wipeStruct(v, depth)
	}
}
