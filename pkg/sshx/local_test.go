package sshx_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/sshx"
)

func TestLocalRun(t *testing.T) {
	l := &sshx.Local{Name: "here", MaxOutput: 100}
	ctx := context.Background()
	tests := []struct {
		name    string
		stdin   string
		argv    []string
		want    string
		wantErr func(*testing.T, error)
	}{
		{name: "argv intact", argv: []string{"printf", "%s|", "a b", "$(id)", "it's", ""}, want: "a b|$(id)|it's||"},
		{name: "stdin", stdin: "hello", argv: []string{"cat"}, want: "hello"},
		{name: "exit error", argv: []string{"sh", "-c", "echo out; echo bad >&2; exit 4"}, want: "out\n",
			wantErr: func(t *testing.T, err error) {
				var xe *sshx.ExitError
				if !errors.As(err, &xe) || xe.Code != 4 || string(xe.Stderr) != "bad\n" || xe.Host != "here" {
					t.Fatalf("err = %#v", err)
				}
			}},
		{name: "signal", argv: []string{"sh", "-c", "kill -TERM $$"},
			wantErr: func(t *testing.T, err error) {
				var xe *sshx.ExitError
				if !errors.As(err, &xe) || xe.Signal != "TERM" || xe.Code != -1 {
					t.Fatalf("err = %#v", err)
				}
			}},
		{name: "output cap", argv: []string{"head", "-c", "1000", "/dev/zero"}, want: strings.Repeat("\x00", 100),
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, sshx.ErrOutputTooLarge) {
					t.Fatalf("err = %v", err)
				}
			}},
		{name: "NUL", argv: []string{"echo", "\x00"},
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, sshx.ErrNUL) {
					t.Fatalf("err = %v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []byte
			var err error
			if tt.stdin != "" {
				out, err = l.Run(ctx, strings.NewReader(tt.stdin), tt.argv...)
			} else {
				out, err = l.Run(ctx, nil, tt.argv...)
			}
			if tt.wantErr != nil {
				tt.wantErr(t, err)
			} else if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("stdout = %q, want %q", out, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	if err := l.Stream(ctx, nil, &buf, "head", "-c", "1000", "/dev/zero"); err != nil || buf.Len() != 1000 {
		t.Fatalf("Stream: %d bytes, %v", buf.Len(), err)
	}
	if l.Host() != "here" || (&sshx.Local{}).Host() != "localhost" {
		t.Fatal("Host()")
	}
}

func TestLocalCancel(t *testing.T) {
	testCancel(t, &sshx.Local{CommandTimeout: 500 * time.Millisecond})
}
