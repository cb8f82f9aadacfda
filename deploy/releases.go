package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/release"
)

// Releases is the Releaser over pkg/release: the release layout of one
// environment and the archive of its source.
type Releases struct {
	Layout   release.Layout
	Parallel int
	// Archive writes rev's tree as a tar stream (gitsrc.Source.Archive);
	// nil when nothing may be sent (status, abort with everything staged).
	Archive func(ctx context.Context, rev string, w io.Writer) error
}

var _ Releaser = (*Releases)(nil)

// Archiver writes a rev's tree as a tar stream; *gitsrc.Source is one.
type Archiver interface {
	Archive(ctx context.Context, rev string, w io.Writer) error
}

// NewReleases returns the environment's Releaser; src may be nil when no
// release will be sent.
func NewReleases(env *inventory.Env, src Archiver) *Releases {
	r := &Releases{Layout: release.Layout{DeployDir: env.DeployDir, App: env.App}, Parallel: env.SSH.Parallel}
	if src != nil {
		r.Archive = src.Archive
	}
	return r
}

var errNoSource = errors.New("the release is not on the host and no source was opened to send it")

// Stage stages rev on every host, archiving it once.
func (r *Releases) Stage(ctx context.Context, hosts []Runner, rev string) (int64, error) {
	hs := make([]release.Host, len(hosts))
	for i, h := range hosts {
		hs[i] = release.Host{Runner: h, Layout: r.Layout}
	}
	archive := func(ctx context.Context, w io.Writer) error {
		if r.Archive == nil {
			return errNoSource
		}
		return r.Archive(ctx, rev, w)
	}
	results, err := release.StageAll(ctx, hs, rev, archive, release.StageOptions{Parallel: r.Parallel})
	var sent int64
	for _, res := range results {
		sent += res.Bytes
	}
	if err != nil {
		return sent, fmt.Errorf("stage %s: %w", gitsrc.Short(rev), err)
	}
	return sent, nil
}

// Activate switches current to rev.
func (r *Releases) Activate(ctx context.Context, h Runner, rev string) error {
	return release.Activate(ctx, h, r.Layout, rev)
}

// Live returns the release current points at, with its origin (its own or
// adopted from another tool); a host with none yet has a zero LiveRelease.
func (r *Releases) Live(ctx context.Context, h Runner) (release.LiveRelease, error) {
	live, err := release.Live(ctx, h, r.Layout)
	if errors.Is(err, release.ErrNoCurrent) {
		return release.LiveRelease{}, nil
	}
	return live, err
}

// Prune removes old releases beyond keep.
func (r *Releases) Prune(ctx context.Context, h Runner, keep int, protect ...string) error {
	_, err := release.Prune(ctx, h, r.Layout, keep, protect...)
	return err
}
