package release_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deployctl/deployctl/pkg/release"
)

// TestAdoptOverSSH: a fleet scap3 (h1) and a hand copy (h2) laid out, and
// a host whose checkout is at another commit than its name (h3), over
// real sshd: staging sends no archive byte to any of them, h3 is refused
// by name, and nothing in their releases changes; h1 and h2 activate and
// read back, each read one command.
func TestAdoptOverSSH(t *testing.T) {
	g := newRepo(t)
	c0, c1 := g.commits[0], g.commits[1]
	f := startFleet(t, 3)
	ctx := context.Background()
	h1, h2, h3 := f.hosts[0].Layout, f.hosts[1].Layout, f.hosts[2].Layout
	g.clone(t, h1.Release(c0), c0)
	symlink(t, "revs/"+c0, h1.Current())
	mkdirs(t, h2.Release(c0))
	write(t, filepath.Join(h2.Release(c0), "server.js"), "v1\n")
	symlink(t, "revs/"+c0, h2.Current())
	g.clone(t, h3.Release(c0), c1)
	symlink(t, "revs/"+c0, h3.Current())
	var snaps []map[string]string
	for _, h := range f.hosts {
		snaps = append(snaps, snapshot(t, h.Layout.Release(c0)))
	}

	var calls atomic.Int64
	before := f.sent()
	results, err := release.StageAll(ctx, f.hosts, c0, archiveOf(tarOf(t, weirdTree()), &calls), release.StageOptions{Parallel: 3})
	sent := f.sent() - before
	if !errors.Is(err, release.ErrForeignRelease) || !containsAll(err.Error(), "on h3", h3.Release(c0), "move it aside") || strings.Contains(err.Error(), "on h1") {
		t.Fatalf("stage all: %v; want h3 alone refused as a foreign release", err)
	}
	for i, want := range []release.Origin{release.OriginGit, release.OriginDir} {
		if res := results[i]; !res.Skipped || res.Bytes != 0 || res.Origin != want {
			t.Errorf("%s: %+v, want skipped as %s", res.Host, res, want.Describe())
		}
	}
	if calls.Load() != 0 {
		t.Errorf("archive made %d times for a fleet that has the rev", calls.Load())
	}
	t.Logf("staging an adopted fleet of 3 sent %d bytes over SSH (commands only)", sent)
	if sent > 64<<10 {
		t.Errorf("sent %d bytes over SSH: more than the inspect commands", sent)
	}

	for i, want := range []release.Origin{release.OriginGit, release.OriginDir} {
		h := f.hosts[i]
		if err := release.Activate(ctx, h.Runner, h.Layout, c0); err != nil {
			t.Fatal(err)
		}
		r := &counting{Runner: h.Runner}
		live, err := release.Live(ctx, r, h.Layout)
		if err != nil || live != (release.LiveRelease{Rev: c0, Origin: want, Link: "revs/" + c0}) || r.n.Load() != 1 {
			t.Errorf("live on %s: %+v, %v, in %d commands", h.Runner.Host(), live, err, r.n.Load())
		}
	}
	if _, err := release.Live(ctx, f.hosts[2].Runner, h3); !errors.Is(err, release.ErrForeignRelease) || !containsAll(err.Error(), "current on h3", c1) {
		t.Errorf("live on h3: %v", err)
	}
	for i, h := range f.hosts {
		assertUnchanged(t, h.Layout.Release(c0), snaps[i])
	}
}
