package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/hosttmpl"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

// The pool conformance suite against the fleet's own etcd, with the change
// verified on the fleet's HAProxy through its sync process: the setup
// deployctl meets in production (conftool keys applied by PyBal or confd).
func TestE2EPoolConformanceOnFleetEtcd(t *testing.T) {
	x := newE2E(t)
	p, err := inventory.Open(x.cfg)
	if err != nil {
		t.Fatal(err)
	}
	env, err := p.Env(x.env)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: x.f.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cfg := env.Pool.WithDefaults()
	key := func(h pool.Host) string {
		k, err := hosttmpl.Expand(cfg.Etcd.Key, h.Vars.With("host", h.Name))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	set := func(ctx context.Context, h pool.Host, pooled pool.Pooled, weight int) error {
		b, _ := json.Marshal(map[string]any{"pooled": pooled.String(), "weight": weight})
		_, err := cli.Put(ctx, key(h), string(b))
		return err
	}
	var hosts []pool.Host
	for _, h := range env.Hosts {
		hosts = append(hosts, pool.Host{Name: h.Name, Vars: env.HostVars(h.Name, "")})
	}
	waitUp := func(t *testing.T) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			st, err := x.f.ServerStatus(context.Background())
			up := err == nil
			for _, h := range hosts {
				up = up && len(st[h.Name]) >= 2 && st[h.Name][:2] == "UP"
			}
			if up {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("fleet hosts not UP again")
	}
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i, h := range hosts {
			if err := set(ctx, h, pool.PooledYes, 11+i); err != nil {
				t.Fatal(err)
			}
		}
		waitUp(t)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, h := range hosts {
				set(ctx, h, pool.PooledYes, 10)
			}
			waitUp(t)
		})
		b, err := pool.NewEtcd(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		unknown := pool.Host{Name: "host-not-in-the-pool", Vars: env.HostVars(hosts[0].Name, "")}
		unknown.Vars = unknown.Vars.With("host", unknown.Name)
		return pooltest.Env{Backend: b, Hosts: hosts, Unknown: unknown, Set: set}
	})
}
