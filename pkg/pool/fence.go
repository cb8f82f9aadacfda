package pool

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrFenced means a pool write was refused because the deploy lock that
// guards it is no longer this process's: another deploy host may own the
// environment now, so this one must not touch its pool.
var ErrFenced = errors.New("fenced: the deploy lock is no longer ours")

// Fence guards pool writes with the deploy lock. Cmps go into every write
// transaction of the etcd backend, so the write and the lock check are one
// atomic step (the lock must live in the same etcd). Check is called right
// before a write that cannot be fenced — the HAProxy runtime API has no
// transactions — which narrows the gap but cannot close it.
type Fence struct {
	Cmps  []clientv3.Cmp
	Check func(ctx context.Context) error
}

type fenceKey struct{}

// WithFence returns ctx carrying f: every pool write made with it is
// guarded.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

func fenceOf(ctx context.Context) Fence {
	f, _ := ctx.Value(fenceKey{}).(Fence)
	return f
}

// checkFence runs the fence's Check, for writes that cannot be fenced.
func checkFence(ctx context.Context) error {
	f := fenceOf(ctx)
	if f.Check == nil {
		return nil
	}
	if err := f.Check(ctx); err != nil {
		return fmt.Errorf("%w: %w; nothing written", ErrFenced, err)
	}
	return nil
}
