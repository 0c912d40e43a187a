package wire

import "errors"

// ErrOpen means a sealed packet failed authentication.
var ErrOpen = errors.New("packet failed authentication")
