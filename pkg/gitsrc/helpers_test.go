package gitsrc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// baseTime is the date of the first commit of every test repository, so
// that hashes are the same on every run.
const baseTime = 1700000000

// requireBinary skips the test when a binary is missing, except under
// CI=true, where a missing binary fails it.
func requireBinary(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
}

// gitRepo is a real repository made with the git CLI in a temporary
// directory, with fixed names and dates.
type gitRepo struct {
	t     testing.TB
	dir   string
	clock int64 // seconds after baseTime of the next git command's dates
}

func newGitRepo(t testing.TB) *gitRepo {
	t.Helper()
	requireBinary(t, "git")
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	date := fmt.Sprintf("@%d +0000", baseTime+r.clock)
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ada Author",
		"GIT_AUTHOR_EMAIL=ada@example.test",
		"GIT_COMMITTER_NAME=Cy Committer",
		"GIT_COMMITTER_EMAIL=cy@example.test",
		"GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_DATE="+date,
	)
}

// git runs git in the repository and returns its trimmed stdout.
func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	return r.gitStdin(nil, args...)
}

func (r *gitRepo) gitStdin(stdin []byte, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = r.env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// write creates or replaces a file in the work tree.
func (r *gitRepo) write(name, content string, mode os.FileMode) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile keeps the mode of an existing file
		r.t.Fatal(err)
	}
}

// commit commits everything in the work tree and returns the new rev.
func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	r.clock += 60
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// open opens the repository as a local source.
func (r *gitRepo) open(t testing.TB) *Source {
	t.Helper()
	s, err := Open(context.Background(), r.dir, "")
	if err != nil {
		t.Fatalf("Open(%s): %v", r.dir, err)
	}
	return s
}
