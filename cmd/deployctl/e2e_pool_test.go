package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

// The pool conformance suite against the fleet's own etcd, with the change
// verified on the fleet's HAProxy through its sync process: the setup
// deployctl meets in production (conftool keys applied by PyBal or confd).
func TestE2EPoolConformanceOnFleetEtcd(t *testing.T) {
	x := newE2E(t)
	env := x.loadEnv()
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
	hosts := poolHosts(env)
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
		x.distinctWeights(t, hosts, set)
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
