package sshx

import (
	"bytes"
	"testing"
	"time"
)

func TestPIDWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		pid    int64
		rest   string
	}{
		{"pid line then stderr", []string{"deployctl-pid 1234\nerr\n"}, 1234, "err\n"},
		{"split across writes", []string{"deployctl-p", "id 77", "\nmore"}, 77, "more"},
		{"rc noise before", []string{"motd line\n", "deployctl-pid 9\nx"}, 9, "motd line\nx"},
		{"no pid line", []string{"just an error\n"}, 0, "just an error\n"},
		{"garbage pid", []string{"deployctl-pid x\ny\n"}, 0, "y\n"},
		{"partial line at end", []string{"no newline"}, 0, "no newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newPIDWriter(&out)
			for _, w := range tt.writes {
				if n, err := p.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			p.flush()
			<-p.known
			if got := p.pid.Load(); got != tt.pid {
				t.Errorf("pid = %d, want %d", got, tt.pid)
			}
			if out.String() != tt.rest {
				t.Errorf("passed on %q, want %q", out.String(), tt.rest)
			}
		})
	}
	// A stderr flood without a PID line stops the search at pidScanLimit.
	var out bytes.Buffer
	p := newPIDWriter(&out)
	big := bytes.Repeat([]byte("x"), pidScanLimit+1)
	p.Write(big)
	select {
	case <-p.known:
	default:
		t.Fatal("search not over after pidScanLimit bytes")
	}
	if out.Len() != len(big) || p.pid.Load() != 0 {
		t.Fatalf("flood: passed %d bytes", out.Len())
	}
}

func TestTailBuffer(t *testing.T) {
	tb := newTail(5)
	for _, w := range []string{"ab", "cde", "fg"} {
		tb.Write([]byte(w))
	}
	if got := string(tb.Bytes()); got != "cdefg" {
		t.Fatalf("tail = %q", got)
	}
	tb.Write([]byte("0123456789"))
	if got := string(tb.Bytes()); got != "56789" {
		t.Fatalf("tail = %q", got)
	}
}

func TestBackoffDelay(t *testing.T) {
	for failures, bounds := range map[int][2]time.Duration{
		0:  {redialBackoffBase / 2, redialBackoffBase},
		1:  {redialBackoffBase, 2 * redialBackoffBase},
		10: {redialBackoffMax / 2, redialBackoffMax},
	} {
		for range 50 {
			if d := backoffDelay(failures); d < bounds[0] || d > bounds[1] {
				t.Fatalf("backoffDelay(%d) = %s, want within %v", failures, d, bounds)
			}
		}
	}
}
