package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCommandCheck(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		runner  Runner
		wantErr error
		saw     []string
	}{
		{"exit 0 passes, output kept", []string{"sh", "-c", `echo "selftest ok on $1"`, "sh", "{host}"}, localRunner{}, nil, []string{"exit 0", "selftest ok on h1"}},
		{"exit 3 fails with stderr tail", []string{"sh", "-c", `echo partial; echo "db: connection refused" >&2; exit 3`}, localRunner{}, ErrFailed, []string{"exit status 3", "db: connection refused", "output: partial"}},
		{"argument stays one argument", []string{"test", "{greeting}", "=", "hello world; rm -rf /"}, localRunner{}, nil, []string{"exit 0"}},
		{"no such command", []string{"/nonexistent/selftest"}, localRunner{}, ErrFailed, []string{"/nonexistent/selftest"}},
		{"no runner", []string{"true"}, nil, ErrNoRunner, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCheck(t, Spec{Name: "cmd", Type: KindCommand, Argv: tt.argv})
			target := Target{Host: "h1", Runner: tt.runner, Vars: map[string]string{"greeting": "hello world; rm -rf /"}}
			r := c.Run(context.Background(), target, nil)
			if tt.wantErr == nil && r.Err != nil || tt.wantErr != nil && !errors.Is(r.Err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", r.Err, tt.wantErr)
			}
			said := r.Evidence + " | " + fmt.Sprint(r.Err)
			for _, s := range tt.saw {
				if !strings.Contains(said, s) {
					t.Errorf("evidence does not say %q:\n%s", s, said)
				}
			}
		})
	}
}
