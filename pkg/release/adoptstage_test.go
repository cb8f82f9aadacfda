package release_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/release"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// TestForeignReleaseRefused: a checkout at another commit than its name
// is someone's work: inspecting, staging and activating it all refuse,
// saying to move it aside, and nothing in it changes.
func TestForeignReleaseRefused(t *testing.T) {
	g := newRepo(t)
	c0, c1 := g.commits[0], g.commits[1]
	ctx := context.Background()
	r := &sshx.Local{Name: "web1"}
	l := layout(t)
	stream := tarOf(t, weirdTree())
	if _, err := release.Stage(ctx, r, l, revA, archiveOf(stream, nil)); err != nil {
		t.Fatal(err)
	}
	if err := release.Activate(ctx, r, l, revA); err != nil {
		t.Fatal(err)
	}
	g.clone(t, l.Release(c1), c0)
	before := snapshot(t, l.Release(c1))
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, release.ErrForeignRelease) || !containsAll(err.Error(), "web1", l.Release(c1), c0, "move it aside") {
			t.Errorf("%s: %v; want ErrForeignRelease naming the host, the dir, its HEAD and what to do", what, err)
		}
	}

	_, err := release.Inspect(ctx, r, l, c1)
	refused("inspect", err)
	var calls atomic.Int64
	results, err := release.StageAll(ctx, []release.Host{{Runner: r, Layout: l}}, c1, archiveOf(stream, &calls), release.StageOptions{})
	refused("stage all", err)
	if calls.Load() != 0 || results[0].Bytes != 0 || results[0].Skipped {
		t.Errorf("stage all sent something: %+v, archive made %d times", results[0], calls.Load())
	}
	_, err = release.Stage(ctx, r, l, c1, archiveOf(stream, &calls))
	refused("stage", err)
	refused("activate", release.Activate(ctx, r, l, c1))
	if got, err := release.Current(ctx, r, l); err != nil || got != revA {
		t.Errorf("current moved: %q, %v", got, err)
	}
	assertUnchanged(t, l.Release(c1), before)
	if exists(l.Partial(c1)) || exists(l.Release(c1)+release.OldSuffix) {
		t.Error("staging began over the foreign release")
	}
}

// TestActivateRefuses: what is not a release of the rev is not activated,
// and current stays where it was.
func TestActivateRefuses(t *testing.T) {
	g := newRepo(t)
	c0, c1 := g.commits[0], g.commits[1]
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, l release.Layout)
		want  error
		msg   string
	}{
		{"absent", func(t *testing.T, l release.Layout) {}, release.ErrNotStaged, "does not exist"},
		{"empty dir", func(t *testing.T, l release.Layout) { mkdirs(t, l.Release(c1)) }, release.ErrNotStaged, "empty"},
		{"a file", func(t *testing.T, l release.Layout) { write(t, l.Release(c1), "x") }, release.ErrNotStaged, "not a directory"},
		{"marker for another rev", func(t *testing.T, l release.Layout) {
			mkdirs(t, l.Release(c1))
			write(t, filepath.Join(l.Release(c1), release.MarkerName), c0+"\n")
		}, release.ErrNotStaged, "marker names rev " + c0},
		{"checkout at another commit", func(t *testing.T, l release.Layout) { g.clone(t, l.Release(c1), c0) }, release.ErrForeignRelease, "move it aside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout(t)
			r := &sshx.Local{Name: "web1"}
			g.clone(t, l.Release(c0), c0)
			if err := release.Activate(ctx, r, l, c0); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, l)
			err := release.Activate(ctx, r, l, c1)
			if !errors.Is(err, tt.want) || !containsAll(err.Error(), "on web1", tt.msg) {
				t.Fatalf("activate = %v; want %v saying %q", err, tt.want, tt.msg)
			}
			if got, err := release.Current(ctx, r, l); err != nil || got != c0 {
				t.Fatalf("current moved: %q, %v", got, err)
			}
		})
	}
}

// TestSwitchOwnAndAdopted: from an adopted fleet to deployctl's release
// and back (a rollback to the adopted rev), without writing into it.
func TestSwitchOwnAndAdopted(t *testing.T) {
	g := newRepo(t)
	c0 := g.commits[0]
	ctx := context.Background()
	r := &sshx.Local{}
	l := layout(t)
	g.clone(t, l.Release(c0), c0)
	symlink(t, "revs/"+c0, l.Current())
	before := snapshot(t, l.Release(c0))
	if _, err := release.Stage(ctx, r, l, revA, archiveOf(tarOf(t, weirdTree()), nil)); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		rev    string
		origin release.Origin
	}{{revA, release.OriginDeployctl}, {c0, release.OriginGit}, {revA, release.OriginDeployctl}} {
		if err := release.Activate(ctx, r, l, step.rev); err != nil {
			t.Fatal(err)
		}
		live, err := release.Live(ctx, r, l)
		if err != nil || live != (release.LiveRelease{Rev: step.rev, Origin: step.origin, Link: "revs/" + step.rev}) {
			t.Fatalf("live = %+v, %v; want %s (%s)", live, err, short(step.rev), step.origin)
		}
	}
	assertUnchanged(t, l.Release(c0), before)
}

// TestStageAllAdoptedFleet: a fleet mixing an adopted checkout, an
// adopted plain dir and a bare host: only the bare host gets the archive.
func TestStageAllAdoptedFleet(t *testing.T) {
	g := newRepo(t)
	rev := g.commits[0]
	ctx := context.Background()
	tree := weirdTree()
	stream := tarOf(t, tree)
	var hosts []release.Host
	for _, name := range []string{"web1", "web2", "web3"} {
		hosts = append(hosts, release.Host{Runner: &sshx.Local{Name: name}, Layout: layout(t)})
	}
	hosts[1].Runner = newNoGit(t, "web2")
	g.clone(t, hosts[0].Layout.Release(rev), rev)
	mkdirs(t, hosts[1].Layout.Release(rev))
	write(t, filepath.Join(hosts[1].Layout.Release(rev), "server.js"), "v1\n")
	snaps := []map[string]string{snapshot(t, hosts[0].Layout.Release(rev)), snapshot(t, hosts[1].Layout.Release(rev))}

	var calls atomic.Int64
	results, err := release.StageAll(ctx, hosts, rev, archiveOf(stream, &calls), release.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []release.Origin{release.OriginGit, release.OriginDir} {
		if res := results[i]; !res.Skipped || res.Bytes != 0 || res.Origin != want {
			t.Errorf("%s: %+v, want skipped as %s", res.Host, res, want.Describe())
		}
		assertUnchanged(t, hosts[i].Layout.Release(rev), snaps[i])
	}
	if res := results[2]; res.Skipped || res.Bytes != int64(len(stream)) {
		t.Errorf("web3: %+v, want the archive sent", res)
	}
	assertTree(t, hosts[2].Layout.Release(rev), tree)
	if calls.Load() != 1 {
		t.Errorf("archive made %d times, want once", calls.Load())
	}
}

// TestPruneAdopted: adopted releases age and go like deployctl's own
// (a checkout's read-only objects included), but never current or a
// protected one; a .git of revs/ itself is not a release.
func TestPruneAdopted(t *testing.T) {
	g := newRepo(t)
	ctx := context.Background()
	r := &sshx.Local{}
	l := layout(t)
	revs := []string{g.commits[0], revA, g.commits[1], revB, revC} // oldest first
	for _, rev := range []string{revA, revB} {
		if _, err := release.Stage(ctx, r, l, rev, archiveOf(tarOf(t, weirdTree()), nil)); err != nil {
			t.Fatal(err)
		}
	}
	g.clone(t, l.Release(revs[0]), revs[0])
	g.clone(t, l.Release(revs[2]), revs[2])
	mkdirs(t, l.Release(revC))
	write(t, filepath.Join(l.Release(revC), "server.js"), "x")
	mkdirs(t, filepath.Join(l.Base(), release.RevsDir, ".git"))
	base := time.Now().Add(-time.Hour)
	for i, rev := range revs {
		p := l.Release(rev)
		if exists(filepath.Join(p, release.MarkerName)) {
			p = filepath.Join(p, release.MarkerName)
		}
		at := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	symlink(t, "revs/"+revs[0], l.Current()) // the oldest, an adopted checkout

	removed, err := release.Prune(ctx, r, l, 1, revs[1])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{revs[2], revs[3]} // kept: current, protected, newest (the plain dir)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	entries, _ := os.ReadDir(filepath.Join(l.Base(), release.RevsDir))
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	wantLeft := []string{".git", revs[0], revs[1], revC}
	slices.Sort(wantLeft)
	if !slices.Equal(left, wantLeft) {
		t.Fatalf("left %v, want %v", left, wantLeft)
	}
	if live, err := release.Live(ctx, r, l); err != nil || live.Rev != revs[0] || live.Origin != release.OriginGit {
		t.Fatalf("live after prune: %+v, %v", live, err)
	}
}

func TestOriginDescribe(t *testing.T) {
	tests := []struct {
		o             release.Origin
		str, describe string
		adopted       bool
	}{
		{release.OriginDeployctl, "deployctl", "staged by deployctl", false},
		{release.OriginGit, "git", "adopted git checkout", true},
		{release.OriginDir, "dir", "adopted plain dir", true},
	}
	for _, tt := range tests {
		if tt.o.String() != tt.str || tt.o.Describe() != tt.describe || tt.o.Adopted() != tt.adopted {
			t.Errorf("%q: %q, %q, %v", string(tt.o), tt.o.String(), tt.o.Describe(), tt.o.Adopted())
		}
	}
}

func short(rev string) string { return rev[:12] }
