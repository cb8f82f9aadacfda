package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeJournalctl puts a journalctl on PATH that records its arguments and
// prints the given JSON lines (or fails), so the check's real script runs
// through a real sh and head. This machine has no journald.
func fakeJournalctl(t *testing.T, lines []string, exit int) (localRunner, string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "entries")
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(dir, "args")
	script := fmt.Sprintf("#!/bin/sh\nfor a; do echo \"$a\"; done > %q\ncat %q\nexit %d\n", args, out, exit)
	if err := os.WriteFile(filepath.Join(dir, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return localRunner{env: []string{"PATH=" + dir + ":" + os.Getenv("PATH")}}, args
}

func journalLine(prio int, msg string) string {
	return fmt.Sprintf(`{"__REALTIME_TIMESTAMP":"1764064801000000","PRIORITY":"%d","SYSLOG_IDENTIFIER":"exampleapp","_PID":"4242","_SYSTEMD_UNIT":"app.service","MESSAGE":%q}`, prio, msg)
}

func TestJournaldCheck(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		lines    []string
		exit     int
		wantErr  error
		saw      []string
		wantArgs []string
	}{
		{
			name:     "no errors",
			lines:    []string{journalLine(6, "Started app.service")},
			saw:      []string{"journal of h1.service: 0 of 1 entries since", "match ERROR/FATAL"},
			wantArgs: []string{"--unit=h1.service", "--priority=3", "--output=json", "--no-pager", "--quiet"},
		},
		{
			name:    "errors fail",
			lines:   []string{journalLine(6, "Started"), journalLine(3, "request failed: upstream timeout"), journalLine(2, "storage: lost connection")},
			wantErr: ErrFailed,
			saw:     []string{"2 of 3 entries", "2025-11-25T10:00:01Z exampleapp[4242] <3>: request failed: upstream timeout"},
		},
		{
			name:     "patterns read every priority",
			spec:     Spec{Levels: []string{}, Patterns: []string{"Cassandra"}},
			lines:    []string{journalLine(6, "Cassandra connection reset"), journalLine(3, "other")},
			wantErr:  ErrFailed,
			saw:      []string{"1 of 2 entries", "Cassandra connection reset"},
			wantArgs: []string{"--priority=debug"},
		},
		{
			name:    "message as bytes",
			lines:   []string{`{"PRIORITY":"3","MESSAGE":[104,105,255]}`},
			wantErr: ErrFailed,
			saw:     []string{"hi\xff"},
		},
		{
			name:    "journalctl fails",
			exit:    1,
			saw:     []string{"journalctl exited with status 1"},
			wantErr: errors.New("any"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner, argsFile := fakeJournalctl(t, tt.lines, tt.exit)
			s := tt.spec
			s.Name, s.Type, s.Unit = "journal", KindJournald, "{host}.service"
			c := mustCheck(t, s)
			target := Target{Host: "h1", Runner: runner}
			set := &Set{checks: []*Check{c}, log: discardLogger()}
			base, err := set.Prepare(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			snap := base.snaps["journal"].(*journalSnapshot)
			r := c.Run(context.Background(), target, base)
			switch {
			case tt.wantErr == nil && r.Err != nil:
				t.Fatalf("err = %v", r.Err)
			case tt.wantErr != nil && r.Err == nil:
				t.Fatalf("passed: %s", r.Evidence)
			case errors.Is(tt.wantErr, ErrFailed) && !errors.Is(r.Err, ErrFailed):
				t.Fatalf("err = %v, want ErrFailed", r.Err)
			}
			said := r.Evidence + " | " + fmt.Sprint(r.Err)
			for _, s := range tt.saw {
				if !strings.Contains(said, s) {
					t.Errorf("evidence does not say %q:\n%s", s, said)
				}
			}
			args, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{fmt.Sprintf("--since=@%d", snap.clock.Unix())}, tt.wantArgs...)
			for _, a := range want {
				if !strings.Contains(string(args), a+"\n") {
					t.Errorf("journalctl args %q lack %q", args, a)
				}
			}
		})
	}
}
