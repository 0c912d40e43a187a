package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string // substring of what the user sees; "" = accepted
	}{
		{[]string{"-name", "小明", "-port", "0", "-peer", "10.0.0.5:7117", "-peer", "10.0.0.6"}, ""},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus (see p2pchat -h)"},
		{[]string{"-port", "x"}, "invalid value"},
		{[]string{"-port", "70000"}, "must be between 0 and 65535"},
		{[]string{"-name", "a b"}, "contains a space"},
		{[]string{"-name", "bob@home"}, "may not contain '@'"},
		{[]string{"-name", strings.Repeat("x", 33)}, "at most 32"},
		{[]string{"-bind", "localhost"}, "not an IPv4 address"},
		{[]string{"-bind", "::1"}, "not an IPv4 address"},
		{[]string{"-peer", "10.0.0.5:99999"}, "bad port"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v %s", err, stderr.String())
				}
				if len(o.peers) != 2 {
					t.Fatalf("peers = %v", o.peers)
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("err %v, stderr %q, want %q", err, stderr.String(), tt.wantErr)
			}
			if lines := strings.Count(stderr.String(), "\n"); lines != 1 {
				t.Errorf("a bad flag should give one line, got %d:\n%s", lines, stderr.String())
			}
		})
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	var stderr bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, f := range []string{"-name", "-port", "-home", "-iface", "-peer", "-tcp", "-json", "-v", "-mdns", "-bind", "-bell", "-version", "Exit status"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("-h does not mention %s", f)
		}
	}
}

func TestResolvePeer(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.5:7000": "10.0.0.5:7000", "10.0.0.5": "10.0.0.5:7117", "127.0.0.1:1": "127.0.0.1:1"} {
		got, err := resolvePeer(in)
		if err != nil || got.String() != want {
			t.Errorf("resolvePeer(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}
