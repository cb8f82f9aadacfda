package deploy

import (
	"context"
	"io"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// StateStore keeps what deploy hosts know about an environment: its lock,
// its state (last good, the run in progress, held hosts), its history,
// abort requests and each run's log. pkg/state's local files implement
// it (*state.Store); a shared backend plugs in here.
type StateStore interface {
	// Lock takes env's lock for owner, waiting up to wait (state.NoWait:
	// one try). A busy lock is an error wrapping state.ErrLocked.
	Lock(ctx context.Context, env string, owner state.Owner, wait time.Duration) (*state.Lock, error)
	// Holder returns who holds env's lock and whether that process lives.
	Holder(env string) (*state.Owner, bool, error)
	// ForceRelease clears a lock whose holder died and returns that
	// holder (nil: there was none); it refuses while the holder lives.
	ForceRelease(env string) (*state.Owner, error)
	Load(env string) (state.State, error)
	Save(env string, st state.State) error
	Append(env string, rec state.Record) error
	// History returns the last limit records (0: all), oldest first.
	History(env string, limit int) ([]state.Record, error)
	// LogFile opens run id's log for appending; LogPath says where it is.
	LogFile(env, id string) (io.WriteCloser, error)
	LogPath(env, id string) string
	RequestAbort(env string, by state.Owner) error
	AbortRequested(env string) (*state.Owner, bool)
	ClearAbort(env string) error
	// WatchAbort sends the requester once an abort request appears.
	WatchAbort(ctx context.Context, env string, every time.Duration) <-chan state.Owner
}

var _ StateStore = (*state.Store)(nil)

// Source is the code repository of a deploy (pkg/gitsrc).
type Source interface {
	// Resolve pins what the user typed to a full commit hash.
	Resolve(ctx context.Context, ref string) (string, error)
	// ReadFile reads one file at rev; a missing file wraps fs.ErrNotExist.
	ReadFile(ctx context.Context, rev, path string) ([]byte, error)
	Templates
	Archiver
}

// UI is the operator's side of a run: cmd prints and asks.
type UI interface {
	// Confirm asks before anything changes; an error stops the run.
	Confirm(question string) error
	// Note tells the operator something outside the event stream.
	Note(msg string)
	// Event shows one event.
	Event(ev Event)
}

// fencingStore is a StateStore whose lock can guard pool writes
// (etcdstate): Fence gives the compares an etcd pool write puts in its
// transaction, Check re-checks the lock before a write that cannot be
// fenced.
type fencingStore interface {
	Fence(env string) []clientv3.Cmp
	Check(ctx context.Context, env string) error
}

// fenced returns ctx guarding every pool write with the store's lock of
// the environment, when the store can (else ctx). The lock's compares go
// into the pool's own etcd transactions only when the pool is on the same
// etcd as the state: another cluster has no such key. Every other pool
// write re-checks the lock just before.
func (d *Deployer) fenced(ctx context.Context) context.Context {
	f, ok := d.Store.(fencingStore)
	if !ok {
		return ctx
	}
	env := d.Env.Name
	fence := pool.Fence{Check: func(ctx context.Context) error { return f.Check(ctx, env) }}
	if p := d.Env.Pool.WithDefaults(); p.Backend == pool.BackendEtcd && slices.Equal(p.Etcd.Endpoints, d.Env.State.Etcd.Endpoints) {
		fence = pool.Fence{Cmps: f.Fence(env)}
	}
	return pool.WithFence(ctx, fence)
}
