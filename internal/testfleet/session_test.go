package testfleet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeScript writes a stand-in for fleet.sh.
func fakeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fleet.sh")
	if err := os.WriteFile(p, []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScriptRun(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		timeout    time.Duration
		wantPrereq bool
		wantErr    string
	}{
		{name: "ok", body: `echo "$FLEET_DIR $SSH_PORT $1"`, timeout: 5 * time.Second},
		{name: "missing prerequisite", body: `echo "fleet: missing prerequisite: root" >&2; exit 3`,
			timeout: 5 * time.Second, wantPrereq: true, wantErr: "missing prerequisite: root"},
		{name: "failure quotes the output", body: `echo "fleet: error: boom" >&2; exit 1`,
			timeout: 5 * time.Second, wantErr: "fleet: error: boom"},
		{name: "bounded", body: `sleep 30`, timeout: 200 * time.Millisecond, wantErr: "deadline exceeded after 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := script{path: fakeScript(t, tt.body), opts: Options{Dir: "/tmp/x"}.withDefaults()}
			out, err := s.run(context.Background(), tt.timeout, "up")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := "/tmp/x 2322 up\n"; out != want {
					t.Fatalf("output %q, want %q (options reach fleet.sh through the environment)", out, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrPrerequisite); got != tt.wantPrereq {
				t.Fatalf("errors.Is(err, ErrPrerequisite) = %v, want %v", got, tt.wantPrereq)
			}
		})
	}
}

func TestScriptRunLBMode(t *testing.T) {
	// The mode is always passed, so a FLEET_LB in the caller's environment
	// does not leak into the test fleet.
	t.Setenv("FLEET_LB", "forgiving")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "strict by default", opts: Options{}, want: "strict\n"},
		{name: "forgiving on request", opts: Options{ForgivingLB: true}, want: "forgiving\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := script{path: fakeScript(t, `echo "$FLEET_LB"`), opts: tt.opts.withDefaults()}
			out, err := s.run(context.Background(), 5*time.Second, "up")
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Fatalf("FLEET_LB = %q, want %q", out, tt.want)
			}
		})
	}
}

func TestSkippable(t *testing.T) {
	prereq := errors.Join(ErrPrerequisite, errors.New("no haproxy"))
	tests := []struct {
		name string
		err  error
		ci   string
		want bool
	}{
		{name: "missing package outside CI skips", err: prereq, ci: "", want: true},
		{name: "missing package under CI fails", err: prereq, ci: "true", want: false},
		{name: "other failure fails", err: errors.New("port in use"), ci: "", want: false},
		{name: "CI=false is not CI", err: prereq, ci: "false", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := skippable(tt.err, tt.ci); got != tt.want {
				t.Fatalf("skippable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSessionStartFailureStillStops(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	// Records each call; `up` fails as on a machine without HAProxy.
	body := `echo "$1" >> ` + log + `
if [ "$1" = up ]; then echo "fleet: missing prerequisite: haproxy" >&2; exit 3; fi`
	s := &session{opts: Options{Dir: filepath.Join(dir, "fleet"), LockFile: filepath.Join(dir, "lock"),
		Script: fakeScript(t, body)}.withDefaults()}
	_, err := s.get()
	if !errors.Is(err, ErrPrerequisite) {
		t.Fatalf("get: err = %v, want ErrPrerequisite", err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	calls, _ := os.ReadFile(log)
	if string(calls) != "clean\nup\ndown\n" {
		t.Fatalf("fleet.sh calls = %q, want clean, up, down", calls)
	}
	// The lock is free again.
	l, err := acquireLock(s.opts.LockFile, time.Second)
	if err != nil {
		t.Fatalf("lock not released: %v", err)
	}
	l.release()
	if _, err := s.get(); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("get after stop: err = %v, want ErrNotStarted", err)
	}
}
