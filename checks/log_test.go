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

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const (
	infoLine  = "2026-11-25T10:00:00.000Z INFO request ok\n"
	errorLine = "2026-11-25T10:00:01.000Z ERROR request failed: upstream timeout\n"
	stackLine = "  at renderPage (/srv/app/lib/render.js:42:17)\n"
)

// TestLogCheck runs the log check against real files through a real sh,
// with the file changing between Prepare (before the stop) and Run as a
// restarting service and logrotate change it.
func TestLogCheck(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		before  func(t *testing.T, path string) // the file before the stop
		during  func(t *testing.T, path string) // between Prepare and Run
		wantErr bool
		saw     []string // in the evidence or error
	}{
		{
			name:   "old errors are not counted",
			before: func(t *testing.T, p string) { appendFile(t, p, strings.Repeat(errorLine, 5)+infoLine) },
			during: func(t *testing.T, p string) { appendFile(t, p, strings.Repeat(infoLine, 3)) },
			saw:    []string{"0 of 3 entries since", "match ERROR/FATAL (max_matches 0)"},
		},
		{
			name:    "new errors fail, a stack counts once",
			before:  func(t *testing.T, p string) { appendFile(t, p, infoLine) },
			during:  func(t *testing.T, p string) { appendFile(t, p, infoLine+errorLine+stackLine+stackLine+infoLine) },
			wantErr: true,
			saw:     []string{"1 of 3 entries since", "ERROR request failed: upstream timeout\n    at renderPage"},
		},
		{
			name:   "within max_matches",
			spec:   Spec{MaxMatches: 2},
			before: func(t *testing.T, p string) { appendFile(t, p, infoLine) },
			during: func(t *testing.T, p string) { appendFile(t, p, errorLine+errorLine) },
			saw:    []string{"2 of 2 entries", "(max_matches 2)"},
		},
		{
			name:   "rotated during the window: both files read",
			before: func(t *testing.T, p string) { appendFile(t, p, errorLine) },
			during: func(t *testing.T, p string) {
				appendFile(t, p, errorLine+"FATAL while stopping\n") // the old release stopping
				if err := os.Rename(p, p+".1"); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, infoLine+errorLine) // the new release
			},
			wantErr: true,
			saw:     []string{"3 of 4 entries", "rotated to " + "LOG.1", "new file", "FATAL while stopping"},
		},
		{
			// The new file may get the old inode back; then the fingerprint
			// tells them apart.
			name:   "deleted and created again: the new file read whole",
			before: func(t *testing.T, p string) { appendFile(t, p, infoLine) },
			during: func(t *testing.T, p string) {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, "2026-11-25T10:00:05.000Z INFO new release\n"+infoLine+errorLine)
			},
			wantErr: true,
			saw:     []string{"1 of 3 entries"},
		},
		{
			name:   "rotated and compressed away: new file read, gap said",
			before: func(t *testing.T, p string) { appendFile(t, p, infoLine) },
			during: func(t *testing.T, p string) {
				// Keep the old inode busy so the new file cannot reuse it.
				if err := os.Rename(p, filepath.Join(filepath.Dir(p), "archive.gz")); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, infoLine+infoLine)
			},
			saw: []string{"0 of 2 entries", "is gone, rotated away or deleted"},
		},
		{
			name:   "truncated (copytruncate) to less",
			before: func(t *testing.T, p string) { appendFile(t, p, strings.Repeat(infoLine, 10)) },
			during: func(t *testing.T, p string) {
				if err := os.Truncate(p, 0); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, errorLine)
			},
			wantErr: true,
			saw:     []string{"1 of 1 entries", "truncated from"},
		},
		{
			name:   "truncated and refilled past the old size",
			before: func(t *testing.T, p string) { appendFile(t, p, infoLine+infoLine) },
			during: func(t *testing.T, p string) {
				if err := os.Truncate(p, 0); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, errorLine+strings.Repeat("2026-11-25T10:00:02.000Z INFO a longer line than before\n", 3))
			},
			wantErr: true,
			saw:     []string{"1 of 4 entries", "rewritten since the snapshot"},
		},
		{
			name:    "absent before, created after",
			before:  func(t *testing.T, p string) {},
			during:  func(t *testing.T, p string) { appendFile(t, p, errorLine) },
			wantErr: true,
			saw:     []string{"1 of 1 entries", "did not exist before the stop"},
		},
		{
			name:    "absent after",
			before:  func(t *testing.T, p string) {},
			during:  func(t *testing.T, p string) {},
			wantErr: true,
			saw:     []string{"does not exist"},
		},
		{
			name:   "max_bytes caps the read",
			spec:   Spec{MaxBytes: int64(2 * len(infoLine))},
			before: func(t *testing.T, p string) { appendFile(t, p, infoLine) },
			during: func(t *testing.T, p string) { appendFile(t, p, infoLine+infoLine+errorLine) },
			saw:    []string{"0 of 2 entries", "read only the first max_bytes"},
		},
		{
			name: "relative: as many errors as before passes",
			spec: Spec{Relative: true, MaxIncreaseRatio: f64(1.5)},
			before: func(t *testing.T, p string) {
				appendFile(t, p, strings.Repeat(infoLine+infoLine+infoLine+errorLine, 25))
			},
			during: func(t *testing.T, p string) {
				appendFile(t, p, strings.Repeat(infoLine+infoLine+infoLine+errorLine, 4))
			},
			saw: []string{"4 of 16 entries", "share 25.00% since the stop vs 25.00% before it (25 of 100 entries)", "not worse by more than ×1.5"},
		},
		{
			name: "relative: more errors than before fails",
			spec: Spec{Relative: true, MaxIncreaseRatio: f64(1.5)},
			before: func(t *testing.T, p string) {
				appendFile(t, p, strings.Repeat(infoLine+infoLine+infoLine+errorLine, 25))
			},
			during:  func(t *testing.T, p string) { appendFile(t, p, strings.Repeat(infoLine+errorLine, 4)) },
			wantErr: true,
			saw:     []string{"4 of 8 entries", "share 50.00% since the stop vs 25.00% before it", "worse by more than ×1.5"},
		},
		{
			name:   "json lines (bunyan)",
			spec:   Spec{Format: FormatJSON},
			before: func(t *testing.T, p string) { appendFile(t, p, `{"level":50,"msg":"old"}`+"\n") },
			during: func(t *testing.T, p string) {
				appendFile(t, p, `{"level":30,"msg":"ok"}`+"\n"+`{"level":60,"msg":"storage: lost connection"}`+"\n")
			},
			wantErr: true,
			saw:     []string{"1 of 2 entries", `"msg":"storage: lost connection"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			spec := tt.spec
			spec.Name, spec.Type, spec.Path = "log", KindLog, filepath.Join(dir, "{host}.log")
			set, err := New([]Spec{spec})
			if err != nil {
				t.Fatal(err)
			}
			target := Target{Host: "app", Address: "127.0.0.1", Runner: localRunner{}}
			tt.before(t, path)
			ctx := context.Background()
			base, err := set.Prepare(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			tt.during(t, path)
			res := set.Run(ctx, StageDepooled, target, base)
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if (r.Err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v; evidence: %s", r.Err, tt.wantErr, r.Evidence)
			}
			if tt.wantErr && (!errors.Is(r.Err, ErrFailed) || r.Verdict != Fail) {
				t.Errorf("err = %v, verdict %v: want ErrFailed and Fail", r.Err, r.Verdict)
			}
			if !tt.wantErr && r.Verdict != Pass {
				t.Errorf("verdict %v, want pass", r.Verdict)
			}
			said := r.Evidence + " | " + fmt.Sprint(r.Err)
			for _, s := range tt.saw {
				s = strings.ReplaceAll(s, "LOG", path)
				if !strings.Contains(said, s) {
					t.Errorf("evidence does not say %q:\n%s", s, said)
				}
			}
		})
	}
}

// TestLogCheckPathIsNotShell proves the path reaches the host as an
// argument: a name full of shell syntax is only a name.
func TestLogCheckPathIsNotShell(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, `it's $(touch pwned); "app".log`)
	appendFile(t, path, infoLine)
	c := mustCheck(t, Spec{Name: "log", Type: KindLog, Path: path})
	set := &Set{checks: []*Check{c}, log: discardLogger()}
	target := Target{Host: "h", Runner: localRunner{}}
	base, err := set.Prepare(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, errorLine)
	r := c.Run(context.Background(), target, base)
	if !errors.Is(r.Err, ErrFailed) || !strings.Contains(r.Err.Error(), "1 of 1 entries") {
		t.Fatalf("err = %v, want one new ERROR entry", r.Err)
	}
	if _, err := os.Stat("pwned"); err == nil {
		os.Remove("pwned")
		t.Fatal("the path was run as shell")
	}
}

func TestLogCheckNeedsBaseline(t *testing.T) {
	c := mustCheck(t, Spec{Name: "log", Type: KindLog, Path: "/var/log/x.log"})
	tests := []struct {
		name string
		b    *Baseline
		want string
	}{
		{"none", nil, "call Set.Prepare first"},
		{"another host", &Baseline{Host: "other"}, "baseline is of host other"},
		{"another set", &Baseline{Host: "h", snaps: map[string]any{}}, "no snapshot for this check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Run(context.Background(), Target{Host: "h", Runner: localRunner{}}, tt.b)
			if r.Verdict != Fail || r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
				t.Fatalf("verdict %v, err %v; want a failure saying %q", r.Verdict, r.Err, tt.want)
			}
		})
	}
}
