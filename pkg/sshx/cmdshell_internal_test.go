package sshx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCopyUntil(t *testing.T) {
	const tok = "deployctl-end-abc "
	long := strings.Repeat("x", 200) // longer than the 64-byte test buffer
	tests := []struct {
		name    string
		stream  string
		out     string
		rest    string
		wantErr error
	}{
		{"no trailing newline", "abc\n" + tok + "0\n", "abc", "0\n", nil},
		{"trailing newline", "abc\n\n" + tok + "0\n", "abc\n", "0\n", nil},
		{"empty", "\n" + tok + "5\n", "", "5\n", nil},
		{"only newlines", "\n\n\n" + tok + "0\n", "\n\n", "0\n", nil},
		{"token not after a newline", "x" + tok + "1\n" + "\n" + tok + "2\n", "x" + tok + "1\n", "2\n", nil},
		{"long lines", long + "\n" + long + "\n" + tok + "0\n", long + "\n" + long, "0\n", nil},
		{"binary", "\x00\xff\r\n\x01\n" + tok + "0\n", "\x00\xff\r\n\x01", "0\n", nil},
		{"eof before marker", "abc\n", "abc\n", "", io.ErrUnexpectedEOF},
		{"eof in a long line", long, long, "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read, through a buffer that holds a marker line but
			// not a long line: every split.
			r := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tt.stream)), 64)
			var out bytes.Buffer
			rest, err := copyUntil(r, &out, []byte(tok))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if out.String() != tt.out || string(rest) != tt.rest {
				t.Fatalf("out %q rest %q, want %q and %q", out.String(), rest, tt.out, tt.rest)
			}
		})
	}
}

func TestShellSignal(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   string
	}{
		{"plain exit", 3, ""},
		{"TERM", 143, "TERM"},
		{"KILL", 137, "KILL"},
		{"128 is no signal", 128, ""},
		{"beyond signals", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellSignal(tt.status); got != tt.want {
				t.Fatalf("shellSignal(%d) = %q, want %q", tt.status, got, tt.want)
			}
		})
	}
}

func TestShellSetBounded(t *testing.T) {
	var ss shellSet
	for i := range maxShells {
		if sh, open := ss.take(); sh != nil || !open {
			t.Fatalf("take %d: %v, %v; want leave to open", i, sh, open)
		}
	}
	if sh, open := ss.take(); sh != nil || open {
		t.Fatal("more than maxShells open")
	}
	idle := &shell{}
	ss.put(idle)
	if sh, _ := ss.take(); sh != idle {
		t.Fatal("idle shell not handed out")
	}
	ss.closed()
	if _, open := ss.take(); !open {
		t.Fatal("a closed shell's place not freed")
	}
}
