package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// adoptable lays out, as scap3, Ansible or a hand copy would, releases
// deployctl must take as they are. Each setup returns the rev current
// points at.
var adoptable = []struct {
	name     string
	setup    func(t *testing.T, g repo, l release.Layout) string
	origin   release.Origin
	link     func(l release.Layout, rev string) string
	needsGit bool // HEAD is not in files deployctl reads; git must tell
}{
	{"scap3 checkout, detached HEAD", func(t *testing.T, g repo, l release.Layout) string {
		rev := g.commits[0]
		g.clone(t, l.Release(rev), rev)
		symlink(t, "revs/"+rev, l.Current())
		return rev
	}, release.OriginGit, relLink, false},
	{"checkout on a branch, loose ref", func(t *testing.T, g repo, l release.Layout) string {
		rev := g.commits[1]
		g.clone(t, l.Release(rev), "")
		mustExist(t, filepath.Join(l.Release(rev), ".git/refs/heads/main"), true)
		symlink(t, "revs/"+rev, l.Current())
		return rev
	}, release.OriginGit, relLink, false},
	{"checkout on a branch, packed ref", func(t *testing.T, g repo, l release.Layout) string {
		rev := g.commits[1]
		g.clone(t, l.Release(rev), "")
		git(t, l.Release(rev), "pack-refs", "--all")
		mustExist(t, filepath.Join(l.Release(rev), ".git/refs/heads/main"), false)
		symlink(t, "revs/"+rev, l.Current())
		return rev
	}, release.OriginGit, relLink, false},
	{"checkout, absolute current", func(t *testing.T, g repo, l release.Layout) string {
		rev := g.commits[0]
		g.clone(t, l.Release(rev), rev)
		symlink(t, l.Release(rev), l.Current())
		return rev
	}, release.OriginGit, func(l release.Layout, rev string) string { return l.Release(rev) }, false},
	{"checkout, current with a trailing slash", func(t *testing.T, g repo, l release.Layout) string {
		rev := g.commits[0]
		g.clone(t, l.Release(rev), rev)
		symlink(t, "revs/"+rev+"/", l.Current())
		return rev
	}, release.OriginGit, func(_ release.Layout, rev string) string { return "revs/" + rev + "/" }, false},
	{"plain dir (Ansible, by hand)", func(t *testing.T, g repo, l release.Layout) string {
		rev := revC
		mkdirs(t, filepath.Join(l.Release(rev), "lib"))
		write(t, filepath.Join(l.Release(rev), "server.js"), "console.log(1)\n")
		write(t, filepath.Join(l.Release(rev), "lib/util.js"), "1\n")
		symlink(t, "revs/"+rev, l.Current())
		return rev
	}, release.OriginDir, relLink, false},
	{"linked worktree, .git is a file", func(t *testing.T, g repo, l release.Layout) string {
		rev := g.commits[0]
		main := filepath.Join(l.Base(), "repo")
		g.clone(t, main, "")
		mkdirs(t, filepath.Join(l.Base(), release.RevsDir))
		git(t, main, "worktree", "add", "-q", "--detach", l.Release(rev), rev)
		symlink(t, "revs/"+rev, l.Current())
		return rev
	}, release.OriginGit, relLink, true},
}

func relLink(_ release.Layout, rev string) string { return "revs/" + rev }

// TestAdopt: every adoptable layout reads as live and staged, staging it
// sends nothing, activating it works, and not one of its files (nor of
// its .git) is touched; on a host with git and on one without.
func TestAdopt(t *testing.T) {
	g := newRepo(t)
	ctx := context.Background()
	runners := []struct {
		name string
		new  func(t *testing.T) release.Runner
		git  bool
	}{
		{"git on the host", func(t *testing.T) release.Runner { return &sshx.Local{Name: "web1"} }, true},
		{"no git on the host", func(t *testing.T) release.Runner { return newNoGit(t, "web1") }, false},
	}
	for _, tt := range adoptable {
		for _, rn := range runners {
			t.Run(tt.name+"/"+rn.name, func(t *testing.T) {
				l := layout(t)
				rev := tt.setup(t, g, l)
				before := snapshot(t, l.Release(rev))
				r := &counting{Runner: rn.new(t)}

				live, err := release.Live(ctx, r, l)
				if tt.needsGit && !rn.git {
					// The files do not tell, and there is no git to ask:
					// refused, not guessed.
					if !errors.Is(err, release.ErrForeignRelease) || !containsAll(err.Error(), "web1", "does not resolve", "move it aside") {
						t.Fatalf("live = %+v, %v; want ErrForeignRelease", live, err)
					}
					assertUnchanged(t, l.Release(rev), before)
					return
				}
				want := release.LiveRelease{Rev: rev, Origin: tt.origin, Link: tt.link(l, rev)}
				if err != nil || live != want {
					t.Fatalf("live = %+v, %v; want %+v", live, err, want)
				}
				if r.n.Load() != 1 {
					t.Fatalf("live ran %d commands, want 1", r.n.Load())
				}
				if got, err := release.Current(ctx, r, l); err != nil || got != rev {
					t.Fatalf("current = %q, %v", got, err)
				}
				st, err := release.Inspect(ctx, r, l, rev)
				if err != nil || st.State != release.Staged || st.Origin != tt.origin || !st.Current || st.Marker.Rev != rev {
					t.Fatalf("inspect = %+v, %v", st, err)
				}

				var calls atomic.Int64
				results, err := release.StageAll(ctx, []release.Host{{Runner: r, Layout: l}}, rev, archiveOf(tarOf(t, weirdTree()), &calls), release.StageOptions{})
				if err != nil || !results[0].Skipped || results[0].Bytes != 0 || results[0].Origin != tt.origin || calls.Load() != 0 {
					t.Fatalf("stage = %+v, %v, archive made %d times", results, err, calls.Load())
				}
				if err := release.Activate(ctx, r, l, rev); err != nil {
					t.Fatal(err)
				}
				if link, err := os.Readlink(l.Current()); err != nil || link != "revs/"+rev {
					t.Fatalf("current -> %q, %v; want revs/%s", link, err, rev)
				}
				if live, err := release.Live(ctx, r, l); err != nil || live.Origin != tt.origin || live.Link != "revs/"+rev {
					t.Fatalf("live after activate = %+v, %v", live, err)
				}
				assertUnchanged(t, l.Release(rev), before)
			})
		}
	}
}

// TestLiveErrors: a current deployctl cannot start from is refused with a
// message naming the host and the target, and saying what to do.
func TestLiveErrors(t *testing.T) {
	g := newRepo(t)
	c0, c1 := g.commits[0], g.commits[1]
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, l release.Layout)
		want  error
		msg   func(l release.Layout) []string // substrings of the message
	}{
		{"no current", func(t *testing.T, l release.Layout) {}, release.ErrNoCurrent, nil},
		{"checkout at another commit", func(t *testing.T, l release.Layout) {
			g.clone(t, l.Release(c1), c0)
			symlink(t, "revs/"+c1, l.Current())
		}, release.ErrForeignRelease, func(l release.Layout) []string {
			return []string{l.Release(c1), "at " + c0, "not at " + c1, "move it aside", "mv " + l.Release(c1)}
		}},
		{"checkout whose HEAD does not resolve", func(t *testing.T, l release.Layout) {
			g.clone(t, l.Release(c1), "")
			write(t, filepath.Join(l.Release(c1), ".git/HEAD"), "ref: refs/heads/gone\n")
			symlink(t, "revs/"+c1, l.Current())
		}, release.ErrForeignRelease, func(l release.Layout) []string {
			return []string{l.Release(c1), "does not resolve", "move it aside"}
		}},
		{"current outside revs, absolute", func(t *testing.T, l release.Layout) {
			mkdirs(t, filepath.Join(l.DeployDir, "opt-app"))
			symlink(t, filepath.Join(l.DeployDir, "opt-app"), l.Current())
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"points at " + filepath.Join(l.DeployDir, "opt-app"), "move that release to " + l.Base() + "/revs/", "--initial"}
		}},
		{"current outside revs, relative", func(t *testing.T, l release.Layout) {
			mkdirs(t, filepath.Join(l.Base(), "releases/2024"))
			symlink(t, "releases/2024", l.Current())
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"points at releases/2024", "ln -sfn revs/", "--initial"}
		}},
		{"current at a checkout outside revs", func(t *testing.T, l release.Layout) {
			g.clone(t, filepath.Join(l.Base(), "releases/x"), c0)
			symlink(t, "releases/x", l.Current())
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			// The checkout's HEAD says where it belongs.
			return []string{"move that release to " + l.Release(c0), "ln -sfn revs/" + c0 + " " + l.Current()}
		}},
		{"current outside revs, missing", func(t *testing.T, l release.Layout) {
			symlink(t, "/nonexistent/app", l.Current())
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"/nonexistent/app (which does not exist)", "--initial"}
		}},
		{"current into another app's revs", func(t *testing.T, l release.Layout) {
			other := release.Layout{DeployDir: l.DeployDir, App: "other"}
			g.clone(t, other.Release(c0), c0)
			symlink(t, other.Release(c0), l.Current())
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"not into " + l.Base() + "/revs", "move that release to " + l.Release(c0)}
		}},
		{"dangling current", func(t *testing.T, l release.Layout) {
			symlink(t, "revs/"+c0, l.Current())
		}, release.ErrDanglingCurrent, func(l release.Layout) []string {
			return []string{"points at revs/" + c0 + ", which does not exist", "ln -sfn", "--initial"}
		}},
		{"current is a directory (a checkout)", func(t *testing.T, l release.Layout) {
			g.clone(t, l.Current(), c0)
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"is a directory, not a symlink", "mv " + l.Current() + " " + l.Release(c0), "ln -s revs/" + c0, "--initial"}
		}},
		{"current is a plain directory", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Current())
			write(t, filepath.Join(l.Current(), "server.js"), "1")
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"is a directory, not a symlink", l.Release("<full rev>"), "--initial"}
		}},
		{"current is a file", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Base())
			write(t, l.Current(), "x")
		}, release.ErrForeignCurrent, func(l release.Layout) []string {
			return []string{"is a file, not a symlink"}
		}},
		{"current at an empty release", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(c0))
			symlink(t, "revs/"+c0, l.Current())
		}, release.ErrVerify, func(l release.Layout) []string {
			return []string{l.Release(c0), "empty"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout(t)
			tt.setup(t, l)
			r := &sshx.Local{Name: "web1"}
			live, err := release.Live(ctx, r, l)
			if !errors.Is(err, tt.want) {
				t.Fatalf("live = %+v, %v; want %v", live, err, tt.want)
			}
			if !strings.Contains(err.Error(), "current on web1: ") {
				t.Errorf("message does not name the host: %v", err)
			}
			if tt.msg != nil {
				for _, s := range tt.msg(l) {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("message lacks %q: %v", s, err)
					}
				}
			}
			if _, cerr := release.Current(ctx, r, l); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("current: %v, want live's error", cerr)
			}
		})
	}
}

func mustExist(t *testing.T, p string, want bool) {
	t.Helper()
	if exists(p) != want {
		t.Fatalf("%s exists: %v, want %v (the case does not lay out what it says)", p, !want, want)
	}
}
