package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

func etcdBackend(t *testing.T, endpoint string) *pool.Etcd {
	t.Helper()
	b, err := pool.NewEtcd(pool.Config{Backend: pool.BackendEtcd, Etcd: pool.EtcdConfig{
		Endpoints: []string{endpoint}, RequestTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestEtcdLostSwap: a write against a revision someone else moved past is
// refused, says so, and writes nothing.
func TestEtcdLostSwap(t *testing.T) {
	e := startEtcd(t)
	key := "/conftool/v1/pools/dc1/web/exampleapp/h1"
	e.put(t, key, `{"pooled":"yes","weight":10}`)
	_, rev := e.get(t, key)
	e.put(t, key, `{"pooled":"yes","weight":12}`) // someone else
	b := etcdBackend(t, e.endpoint)
	err := b.Swap(context.Background(), key, rev, []byte(`{"pooled":"no","weight":10}`))
	if !errors.Is(err, pool.ErrChanged) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("swap at an old revision: %v, want ErrChanged", err)
	}
	if v, _ := e.get(t, key); v != `{"pooled":"yes","weight":12}` {
		t.Errorf("a lost swap wrote: %s", v)
	}
}

// TestEtcdConcurrentDepools: deployctl processes racing to depool one host
// (each with its own client): exactly one wins, the others are told the
// host is not pooled or changed under them.
func TestEtcdConcurrentDepools(t *testing.T) {
	e := startEtcd(t)
	key := "/conftool/v1/pools/dc1/web/exampleapp/h1"
	e.put(t, key, `{"pooled":"yes","weight":10}`)
	h := testHosts("h1")[0]
	const racers = 8
	backends := make([]*pool.Etcd, racers)
	for i := range backends {
		backends[i] = etcdBackend(t, e.endpoint)
		if _, err := backends[i].State(context.Background(), h); err != nil { // connect first
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, racers)
	priors := make([]pool.Prior, racers)
	for i, b := range backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			priors[i], errs[i] = b.Depool(context.Background(), h)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, pool.ErrNotPooled), errors.Is(err, pool.ErrChanged):
			// A loser wrote nothing, so its Repool must leave the winner's depool.
			if priors[i].Changed {
				t.Errorf("a losing depool says it changed the host: %+v (%v)", priors[i], err)
			}
			if err := backends[i].Repool(context.Background(), h, priors[i]); err != nil {
				t.Errorf("repool with a losing prior: %v", err)
			}
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d depools won, want exactly 1: %v", won, errs)
	}
	if v, _ := e.get(t, key); !strings.Contains(v, `"pooled":"no"`) {
		t.Errorf("value after the race: %s", v)
	}
}

// TestEtcdKeepsValueExactly: depool changes only pooled, keeps fields
// conftool may add, and repool writes back the value byte for byte; an
// inactive host is left alone.
func TestEtcdKeepsValueExactly(t *testing.T) {
	e := startEtcd(t)
	key := "/conftool/v1/pools/dc1/web/exampleapp/h1"
	orig := `{ "weight": 7, "pooled": "yes", "comment": "rack 3" }`
	e.put(t, key, orig)
	b := etcdBackend(t, e.endpoint)
	h := testHosts("h1")[0]
	ctx := context.Background()

	p, err := b.Depool(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := e.get(t, key)
	var got map[string]any
	if err := json.Unmarshal([]byte(v), &got); err != nil || got["pooled"] != "no" || got["weight"] != 7.0 || got["comment"] != "rack 3" {
		t.Errorf("after depool: %s", v)
	}
	// The prior survives a trip through the caller's state file.
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back pool.Prior
	if err := json.Unmarshal(data, &back); err != nil || back != p {
		t.Fatalf("prior JSON round trip: %s -> %+v, %v", data, back, err)
	}
	if err := b.Repool(ctx, h, back); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.get(t, key); v != orig {
		t.Errorf("after repool: %q, want exactly %q", v, orig)
	}

	e.put(t, key, `{"pooled":"inactive","weight":7}`)
	_, rev := e.get(t, key)
	p, err = b.Depool(ctx, h)
	if !errors.Is(err, pool.ErrNotPooled) || !p.LeftAlone() || p.Before.Pooled != pool.PooledInactive {
		t.Errorf("depool of an inactive host: %+v, %v", p, err)
	}
	if _, rev2 := e.get(t, key); rev2 != rev {
		t.Errorf("depool of an inactive host wrote")
	}
}
