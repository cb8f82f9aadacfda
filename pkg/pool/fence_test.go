package pool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/pool"
)

// lockFence takes a lease-bound lock key, as the etcd state store does,
// and returns the fence a holder puts on its pool writes, and a revoke
// that takes the lock away underneath it.
func lockFence(t *testing.T, e *etcdServer, key string) (pool.Fence, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lease, err := e.cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, "owner", clientv3.WithLease(lease.ID))).Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("take lock %s: %v", key, err)
	}
	fence := pool.Fence{Cmps: []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", resp.Header.Revision)}}
	return fence, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := e.cli.Revoke(ctx, lease.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// A deploy host that holds the lock writes the pool; once its lease is
// revoked underneath it, its depool and repool transactions fail, say so,
// and write nothing.
func TestEtcdFencedWrites(t *testing.T) {
	e := startEtcd(t)
	key := "/conftool/v1/pools/dc1/web/exampleapp/h1"
	e.put(t, key, `{"pooled":"yes","weight":10}`)
	b := etcdBackend(t, e.endpoint)
	h := testHosts("h1")[0]
	fence, revoke := lockFence(t, e, "/deployctl/prod/lock")
	ctx := pool.WithFence(context.Background(), fence)

	prior, err := b.Depool(ctx, h)
	if err != nil {
		t.Fatalf("depool holding the lock: %v", err)
	}
	revoke()
	if err := b.Repool(ctx, h, prior); !errors.Is(err, pool.ErrFenced) {
		t.Fatalf("repool after the lock was lost: %v, want ErrFenced", err)
	}
	if v, _ := e.get(t, key); v != prior.Wrote {
		t.Errorf("a fenced repool wrote: %s", v)
	}
	// Someone else repools it; a depool by the fenced process fails too.
	e.put(t, key, `{"pooled":"yes","weight":10}`)
	p, err := b.Depool(ctx, h)
	if !errors.Is(err, pool.ErrFenced) || p.Changed {
		t.Fatalf("depool after the lock was lost: %v (changed %v), want ErrFenced and nothing changed", err, p.Changed)
	}
	if v, _ := e.get(t, key); v != `{"pooled":"yes","weight":10}` {
		t.Errorf("a fenced depool wrote: %s", v)
	}
}

// HAProxy's runtime API has no transactions: the fence's check runs right
// before each write, and a failed check writes nothing.
func TestHAProxyFenceCheck(t *testing.T) {
	env := haproxyEnv(t, false)
	h := env.Hosts[0]
	before, err := env.Backend.State(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	lost := errors.New("lock lease expired")
	ctx := pool.WithFence(context.Background(), pool.Fence{Check: func(context.Context) error { return lost }})
	if _, err := env.Backend.Depool(ctx, h); !errors.Is(err, pool.ErrFenced) || !errors.Is(err, lost) {
		t.Fatalf("depool with a failing lock check: %v, want ErrFenced wrapping the check's error", err)
	}
	if after, _ := env.Backend.State(context.Background(), h); after.Pooled != before.Pooled || after.LB != before.LB {
		t.Errorf("a fenced depool changed %s: %s -> %s", h.Name, before, after)
	}
}
