package deploy

import (
	"context"
	"io"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/pkg/configset"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/release"
)

// Runner runs an argv on one host; *sshx.Client satisfies it. A non-zero
// exit is an error; cancelling ctx reaches the remote process.
type Runner interface {
	Host() string
	Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error)
	Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error
}

// Connector hands out the one Runner of each host, opened once and reused
// for every step of a rollout.
type Connector interface {
	Runner(ctx context.Context, host string) (Runner, error)
}

// Pooler takes a host out of traffic and puts it back (pkg/pool through
// NewPoolHosts). Depool returns what it found, for Repool to restore exactly;
// a host someone else depooled is left alone (pool.ErrNotPooled).
type Pooler interface {
	State(ctx context.Context, host string) (pool.State, error)
	Depool(ctx context.Context, host string) (pool.Prior, error)
	Repool(ctx context.Context, host string, p pool.Prior) error
	// Budget refuses taking hosts out when fewer than min_pooled of the
	// whole pool would keep serving, naming the hosts already out.
	Budget(ctx context.Context, out []string) error
}

// Releaser puts releases in place on a host (pkg/release through
// NewReleases).
type Releaser interface {
	// Stage makes revs/<rev> complete on every host in parallel, sending
	// nothing to a host that already has it intact; it returns the bytes
	// sent. Any host's failure is an error naming it.
	Stage(ctx context.Context, hosts []Runner, rev string) (int64, error)
	// Activate switches current to rev atomically.
	Activate(ctx context.Context, r Runner, rev string) error
	// Live returns the release current points at, with who laid it out
	// (deployctl, or another tool's release it adopts); zero when none.
	Live(ctx context.Context, r Runner) (release.LiveRelease, error)
	// Prune removes old releases beyond keep, never current or protect.
	Prune(ctx context.Context, r Runner, keep int, protect ...string) error
}

// Checker runs the configured checks on one host (checks.Set through
// NewCheckSet).
type Checker interface {
	// Prepare records, before the stop, what the checks need (log offsets).
	Prepare(ctx context.Context, host string, r Runner) (*checks.Baseline, error)
	// Run runs the checks of one stage and returns their results.
	Run(ctx context.Context, stage checks.Stage, host string, r Runner, b *checks.Baseline) []checks.Result
	// Has reports whether any check runs in stage.
	Has(stage checks.Stage) bool
}

// Configurer puts rendered configuration in place on a host (pkg/configset
// through NewConfigs).
type Configurer interface {
	// Ship puts the set in configs/<version>/, sending nothing when it is
	// already there intact.
	Ship(ctx context.Context, r Runner, set *configset.Set) (int64, error)
	// Link points every file's path at set's version, atomically.
	Link(ctx context.Context, r Runner, set *configset.Set) error
	// LinkVersion links a version already on the host (rollback).
	LinkVersion(ctx context.Context, r Runner, version string) error
	// Current returns the linked version ("" when none).
	Current(ctx context.Context, r Runner) (string, error)
	// Prune removes old versions, never the current or protected ones.
	Prune(ctx context.Context, r Runner, keep int, protect ...string) error
}
