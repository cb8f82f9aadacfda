package pool

import "context"

// Swap exposes the etcd backend's compare-and-swap to the external tests.
func (b *Etcd) Swap(ctx context.Context, key string, rev int64, val []byte) error {
	return b.swap(ctx, key, rev, val)
}
