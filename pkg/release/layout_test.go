package release_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/release"
)

func TestValidRev(t *testing.T) {
	sha1 := strings.Repeat("0123456789abcdef", 3)[:40]
	sha256 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name string
		rev  string
		ok   bool
	}{
		{"sha-1", sha1, true},
		{"sha-256", sha256, true},
		{"empty", "", false},
		{"short", sha1[:12], false},
		{"between the lengths", sha256[:50], false},
		{"one past sha-1", sha1 + "0", false},
		{"one past sha-256", sha256 + "0", false},
		{"uppercase sha-1", strings.ToUpper(sha1), false},
		{"uppercase sha-256", strings.ToUpper(sha256), false},
		{"not hex", "g" + sha1[1:], false},
		{"not hex in sha-256", sha256[:63] + "g", false},
		{"newline", sha1[:39] + "\n", false},
		{"a path", "../" + sha1[3:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := release.ValidRev(tt.rev)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidRev(%q) = %v, want nil", tt.rev, err)
				}
				return
			}
			if !errors.Is(err, release.ErrBadRev) {
				t.Fatalf("ValidRev(%q) = %v, want ErrBadRev", tt.rev, err)
			}
			if want := `not a full hex rev: "`; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("ValidRev(%q) = %q, want it to start %q", tt.rev, err, want)
			}
		})
	}
}
