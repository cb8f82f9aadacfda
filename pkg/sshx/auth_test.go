package sshx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewAuth(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files []string
		sock  string
		want  error
		msg   string
	}{
		{"no key anywhere", []string{filepath.Join(dir, "missing")}, "", ErrNoAuth, "SSH_AUTH_SOCK is not set"},
		{"agent socket dead", nil, filepath.Join(dir, "no.sock"), ErrNoAuth, "ssh-agent"},
		{"unparseable key file", []string{garbage}, "", nil, garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", tt.sock)
			_, err := newAuth(endpoint{name: "h1", identities: tt.files}, time.Second)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}
