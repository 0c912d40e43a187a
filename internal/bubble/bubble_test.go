package bubble

import (
	"testing"
	"testing/synctest"
)

func TestIn(t *testing.T) {
	if In() {
		t.Error("In outside a bubble: true")
	}
	synctest.Test(t, func(t *testing.T) {
		if !In() {
			t.Error("In inside a bubble: false")
		}
	})
}
