package notify

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCommandGetsTheEnvironmentAndStdin(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DEPLOYCTL_REV", "stale-from-the-parent") // the event's value wins
	n := mustNew(t, Config{Commands: []Command{{
		Name: "sal",
		Argv: script(t, `env | grep '^DEPLOYCTL_' | sort > "$1/env" && cat > "$1/stdin"`, dir),
	}}}, Options{})
	ev := sampleEvent(KindRollback)
	if errs := n.Send(t.Context(), ev); len(errs) > 0 {
		t.Fatalf("Send: %v", errs)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readOrEmpty(t, filepath.Join(dir, "env"))), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	want := map[string]string{
		"DEPLOYCTL_KIND":                "rollback",
		"DEPLOYCTL_APP":                 ev.App,
		"DEPLOYCTL_ENV":                 ev.Env,
		"DEPLOYCTL_REF":                 ev.Ref,
		"DEPLOYCTL_REV":                 ev.Rev,
		"DEPLOYCTL_PREVIOUS_REV":        ev.PreviousRev,
		"DEPLOYCTL_CONFIG_VERSION":      ev.ConfigVersion,
		"DEPLOYCTL_OUTCOME":             ev.Outcome,
		"DEPLOYCTL_REASON":              ev.Reason,
		"DEPLOYCTL_FAILED_HOST":         ev.FailedHost,
		"DEPLOYCTL_HOSTS_CHANGED":       "rb1001 rb1002",
		"DEPLOYCTL_HOSTS_LEFT_DEPOOLED": "rb1002",
		"DEPLOYCTL_USER":                ev.User,
		"DEPLOYCTL_DEPLOY_HOST":         ev.DeployHost,
		"DEPLOYCTL_ROLLOUT_ID":          ev.RolloutID,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment:\n%v\nwant\n%v", got, want)
	}
	var stdin Event
	if err := json.Unmarshal([]byte(readOrEmpty(t, filepath.Join(dir, "stdin"))), &stdin); err != nil {
		t.Fatalf("stdin: %v", err)
	}
	if !reflect.DeepEqual(stdin, ev) {
		t.Errorf("stdin decodes to %+v, want %+v", stdin, ev)
	}
}

func TestCommandFailures(t *testing.T) {
	tests := []struct {
		name    string
		argv    func(t *testing.T) []string
		want    []string // in the error
		notWant []string
	}{
		{name: "non-zero exit", argv: func(t *testing.T) []string {
			return script(t, `echo "cannot reach irc" >&2; echo "giving up" >&2; exit 3`)
		}, want: []string{`notify: command "c": exit status 3`, "stderr: cannot reach irc | giving up"}},
		{name: "only the tail of stderr", argv: func(t *testing.T) []string {
			return script(t, `echo first-line >&2; i=0; while [ $i -lt 200 ]; do echo "noise $i" >&2; i=$((i+1)); done; echo last-line >&2; exit 1`)
		}, want: []string{"exit status 1", "last-line"}, notWant: []string{"first-line"}},
		{name: "killed by a signal", argv: func(t *testing.T) []string { return script(t, `kill -9 $$`) },
			want: []string{`command "c"`, "signal: killed"}},
		{name: "not found", argv: func(t *testing.T) []string { return []string{"/nonexistent/deployctl-notify-test"} },
			want: []string{`command "c"`, "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNew(t, Config{Commands: []Command{{Name: "c", Argv: tt.argv(t)}}}, Options{})
			errs := sendWithin(t, 10*time.Second, n, sampleEvent(KindFailure))
			if len(errs) != 1 {
				t.Fatalf("Send = %v, want one error", errs)
			}
			msg := errs[0].Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("error %q contains %q", msg, w)
				}
			}
			if len(msg) > 600 {
				t.Errorf("error is %d bytes long", len(msg))
			}
		})
	}
}

func TestCommandKilledAtItsTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell waits for a child of its own: the kill must reach the
	// whole process group, the child too.
	n := mustNew(t, Config{Commands: []Command{{
		Name:    "hang",
		Argv:    script(t, `trap '' TERM; sleep 60 & echo $! > "$1"; echo waiting >&2; wait`, pidFile),
		Timeout: timeout,
	}}}, Options{})
	errs := sendWithin(t, 5*timeout, n, sampleEvent(KindStart))
	if len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) || !strings.Contains(errs[0].Error(), `command "hang": killed at its timeout (300ms)`) {
		t.Fatalf("Send = %v, want the timeout of command \"hang\"", errs)
	}
	if !strings.Contains(errs[0].Error(), "stderr: waiting") {
		t.Errorf("error %q lacks the stderr tail", errs[0])
	}
	pid := strings.TrimSpace(readOrEmpty(t, pidFile))
	if pid == "" {
		t.Fatal("the script wrote no pid")
	}
	if !waitFor(5*time.Second, func() bool { return !alive(pid) }) {
		t.Errorf("the command's child %s outlived the kill", pid)
	}
}

func TestCommandSucceedsWhileAChildHoldsStderr(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	n := mustNew(t, Config{Commands: []Command{{
		Name: "bg", Argv: script(t, `sleep 60 >&2 & echo $! > "$1"; exit 0`, pidFile), Timeout: 5 * time.Second,
	}}}, Options{})
	t.Cleanup(func() {
		if pid, err := strconv.Atoi(strings.TrimSpace(readOrEmpty(t, pidFile))); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if errs := sendWithin(t, 3*time.Second, n, sampleEvent(KindFinish)); len(errs) > 0 {
		t.Fatalf("Send: %v", errs)
	}
}
