package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// deployctl runs the command line in-process and returns exit code and output.
func deployctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWith(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateBadFixtures(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/config/bad/*")
	if len(dirs) == 0 {
		t.Fatal("no bad fixtures")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "expect"))
			if err != nil {
				t.Fatal(err)
			}
			code, _, stderr := deployctl(t, "validate", "--config", filepath.Join(dir, "deployctl.yaml"))
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			got := strings.ReplaceAll(stderr, dir+"/", "")
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(got, line) {
					t.Errorf("stderr lacks %q:\n%s", line, got)
				}
			}
		})
	}
}

func TestValidateGoodFixtures(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/config/good/*")
	if len(dirs) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			code, stdout, stderr := deployctl(t, "validate", "--config", filepath.Join(dir, "deployctl.yaml"))
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout, ": ok") {
				t.Errorf("stdout: %q", stdout)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	code, stdout, _ := deployctl(t, "validate", "-o", "json", "--config", "../../testdata/config/bad/duplicate-host/deployctl.yaml")
	if code != exitUsage || !strings.Contains(stdout, `"ok":false`) || !strings.Contains(stdout, `"line":3`) {
		t.Fatalf("exit %d, stdout %s", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"unknown flag", []string{"version", "--frob"}},
		{"bad output", []string{"version", "-o", "yaml"}},
		{"plan needs a ref", []string{"plan"}},
		{"several envs need --env", []string{"hosts", "--config", "../../testdata/config/good/plan/deployctl.yaml"}},
		{"unknown env", []string{"hosts", "--env", "nope", "--config", "../../testdata/config/good/plan/deployctl.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, stderr := deployctl(t, tt.args...); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
		})
	}
}

func TestInitWritesValidStarterAndNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := deployctl(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	cfg := filepath.Join(dir, "deployctl.yaml")
	if code, _, stderr := deployctl(t, "validate", "--config", cfg); code != 0 {
		t.Fatalf("starter does not validate: %s", stderr)
	}
	if err := os.WriteFile(cfg, []byte("app: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := deployctl(t, "init", "--dir", dir)
	if code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second init: exit %d, stderr %s", code, stderr)
	}
	if b, _ := os.ReadFile(cfg); string(b) != "app: mine\n" {
		t.Fatalf("init overwrote the file: %q", b)
	}
}

func TestHosts(t *testing.T) {
	code, stdout, stderr := deployctl(t, "hosts", "--env", "staging", "--config", "../../testdata/config/good/plan/deployctl.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"rb2001  127.0.1.1  -         canary  1", "rb2002  127.0.1.2  2222      main    1", "rb2004  127.0.1.4  -         main    2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
}

// makeRepo builds a small git repository with fixed authors and dates, so
// its revs are the same on every machine.
func makeRepo(t *testing.T, dir string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required")
	}
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.org", "GIT_AUTHOR_DATE=2026-01-02T03:04:05Z",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.org", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	for _, v := range []string{"v1", "v2"} {
		if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "VERSION")
		git("commit", "-q", "-m", "release "+v)
		git("tag", "-a", "-m", v, v)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPlanGolden(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../testdata/config/good/plan", dir)
	makeRepo(t, filepath.Join(dir, "repo"))
	for _, tt := range []struct{ name, output, golden string }{
		{"text", "text", "plan-staging.txt"},
		{"json", "json", "plan-staging.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := deployctl(t, "plan", "v2", "--env", "staging", "-o", tt.output,
				"--config", filepath.Join(dir, "deployctl.yaml"), "--state-dir", filepath.Join(dir, "state"))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("../../testdata/golden", tt.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("plan differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", golden, stdout, want)
			}
		})
	}
}

func TestPlanUnknownRef(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../testdata/config/good/plan", dir)
	makeRepo(t, filepath.Join(dir, "repo"))
	code, _, stderr := deployctl(t, "plan", "v9", "--env", "staging", "--config", filepath.Join(dir, "deployctl.yaml"), "--state-dir", t.TempDir())
	if code != exitError || !strings.Contains(stderr, "v9") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := deployctl(t, "version", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"version":`) {
		t.Fatalf("exit %d: %s", code, stdout)
	}
}
