package release_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// repo is a small git repository with two commits on main, as a deploy
// server's checkout that scap3 clones from.
type repo struct {
	dir     string
	commits []string // oldest first
}

// git runs git in dir with no user or system config, so the test does
// not depend on the machine's.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newRepo(t testing.TB) repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := repo{dir: filepath.Join(t.TempDir(), "src")}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, r.dir, "init", "-q")
	for i, content := range []string{"v1\n", "v2\n"} {
		if err := os.WriteFile(filepath.Join(r.dir, "server.js"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, r.dir, "add", "server.js")
		git(t, r.dir, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
		r.commits = append(r.commits, git(t, r.dir, "rev-parse", "HEAD"))
	}
	return r
}

// clone lays out what scap3 does: a clone of the repo in dst, its HEAD
// detached at commit ("" keeps the clone's HEAD, ref: refs/heads/main).
func (r repo) clone(t testing.TB, dst, commit string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, filepath.Dir(dst), "clone", "-q", r.dir, dst)
	if commit != "" {
		git(t, dst, "checkout", "-q", "--detach", commit)
	}
}

// snapshot records every entry under root (.git included): type, mode,
// mtime, and the content of files or the target of links; two equal
// snapshots mean nothing was written, created or removed.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func assertUnchanged(t testing.TB, root string, before map[string]string) {
	t.Helper()
	after := snapshot(t, root)
	for p, d := range before {
		if after[p] != d {
			t.Errorf("%s/%s changed: %q, was %q", root, p, after[p], d)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s/%s was created", root, p)
		}
	}
}

// noGit runs argv with a PATH holding the shell and coreutils but no git,
// as on a host without git: HEAD must then be read from the files.
type noGit struct {
	sshx.Local
	path string
}

func newNoGit(t testing.TB, name string) *noGit {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"sh", "readlink", "ln", "mv", "rm", "cat", "head", "stat", "chmod", "mkdir", "ls", "tar"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	r := &noGit{Local: sshx.Local{Name: name}, path: dir}
	if _, err := r.Run(context.Background(), nil, "sh", "-c", "command -v git"); err == nil {
		t.Fatal("git is still on the PATH of the noGit runner")
	}
	return r
}

func (r *noGit) argv(argv []string) []string {
	return append([]string{"/usr/bin/env", "PATH=" + r.path}, argv...)
}

func (r *noGit) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	return r.Local.Run(ctx, stdin, r.argv(argv)...)
}

func (r *noGit) Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error {
	return r.Local.Stream(ctx, stdin, stdout, r.argv(argv)...)
}

// counting counts the commands run through it.
type counting struct {
	release.Runner
	n atomic.Int64
}

func (c *counting) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	c.n.Add(1)
	return c.Runner.Run(ctx, stdin, argv...)
}

func (c *counting) Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error {
	c.n.Add(1)
	return c.Runner.Stream(ctx, stdin, stdout, argv...)
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
