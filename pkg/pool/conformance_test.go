package pool_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

// testHosts are the hosts of every conformance env, with the inventory vars
// the conftool key template needs.
func testHosts(names ...string) []pool.Host {
	hosts := make([]pool.Host, len(names))
	for i, n := range names {
		hosts[i] = pool.Host{Name: n, Vars: hosttmpl.Vars{"dc": "dc1", "cluster": "web", "service": "exampleapp"}}
	}
	return hosts
}

func TestConformanceFake(t *testing.T) {
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
		hosts := testHosts("h1", "h2", "h3", "h4")
		f := pooltest.NewFake()
		for i, h := range hosts {
			f.Set(h.Name, pool.State{Pooled: pool.PooledYes, Weight: 10 * (i + 1)})
		}
		return pooltest.Env{
			Backend: f,
			Hosts:   hosts,
			Unknown: testHosts("nosuchhost")[0],
			Set: func(ctx context.Context, h pool.Host, p pool.Pooled, w int) error {
				f.Set(h.Name, pool.State{Pooled: p, Weight: w})
				return nil
			},
		}
	})
}

func TestConformanceNone(t *testing.T) {
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
		return pooltest.Env{Backend: pool.NewNone(), Hosts: testHosts("h1", "h2", "h3")}
	})
}

// envWeights are the distinct weights the conformance hosts start with.
var envWeights = []int{11, 22, 33}

func conftoolValue(p pool.Pooled, w int) string {
	return fmt.Sprintf(`{"pooled":%q,"weight":%d}`, p, w)
}

// etcdEnv puts the keys of three pooled hosts under a cluster name of their
// own, so every env of one etcd is apart.
func etcdEnv(t *testing.T, e *etcdServer, n *atomic.Int64, lb *haproxyServer) pooltest.Env {
	cluster := fmt.Sprintf("c%d", n.Add(1))
	hosts := testHosts("h1", "h2", "h3")
	keyOf := func(h pool.Host) string { return "/conftool/v1/pools/dc1/" + cluster + "/exampleapp/" + h.Name }
	for i := range hosts {
		hosts[i].Vars["cluster"] = cluster
		e.put(t, keyOf(hosts[i]), conftoolValue(pool.PooledYes, envWeights[i]))
	}
	cfg := pool.Config{
		Backend:       pool.BackendEtcd,
		VerifyTimeout: 10 * time.Second,
		DrainTimeout:  5 * time.Second,
		Etcd: pool.EtcdConfig{
			Endpoints:      []string{e.endpoint},
			RequestTimeout: 2 * time.Second,
		},
	}
	if lb != nil {
		cfg.Etcd.HAProxyStatus = lb.api
		cfg.Etcd.HAProxyBackend = "exampleapp"
		startPoolsync(t, e.endpoint, "/conftool/v1/pools/dc1/"+cluster+"/exampleapp/", "exampleapp", lb.api)
		for i, h := range hosts {
			eventually(t, "poolsync applies "+h.Name, func() error {
				s := lb.server(t, "exampleapp", h.Name)
				if s.Weight != envWeights[i] || !s.FullyUp() {
					return fmt.Errorf("haproxy shows %+v", s)
				}
				return nil
			})
		}
	}
	b, err := pool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	unknown := testHosts("nosuchhost")[0]
	unknown.Vars["cluster"] = cluster
	return pooltest.Env{
		Backend: b,
		Hosts:   hosts,
		Unknown: unknown,
		Set: func(ctx context.Context, h pool.Host, p pool.Pooled, w int) error {
			_, err := e.cli.Put(ctx, keyOf(h), conftoolValue(p, w))
			return err
		},
	}
}

func TestConformanceEtcd(t *testing.T) {
	e := startEtcd(t)
	var n atomic.Int64
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return etcdEnv(t, e, &n, nil) })
}

// TestConformanceEtcdHAProxy runs the etcd backend against an HAProxy fed
// from etcd by poolsync, verifying every write on the load balancer.
func TestConformanceEtcdHAProxy(t *testing.T) {
	e := startEtcd(t)
	var n atomic.Int64
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
		lb := startHAProxy(t, "exampleapp", noCheckServers())
		return etcdEnv(t, e, &n, lb)
	})
}

// noCheckServers are three servers without health checks: HAProxy reports
// them "no check", which counts as up, and sends them nothing in these tests.
func noCheckServers() []lbServer {
	var s []lbServer
	for i, w := range envWeights {
		s = append(s, lbServer{name: fmt.Sprintf("h%d", i+1), addr: fmt.Sprintf("127.0.1.%d:9", 201+i), weight: w})
	}
	return s
}

func haproxyEnv(t *testing.T, unix bool) pooltest.Env {
	lb := startHAProxy(t, "exampleapp", noCheckServers())
	addr := lb.api
	if unix {
		addr = lb.sock
	}
	b, err := pool.New(pool.Config{
		Backend:       pool.BackendHAProxy,
		VerifyTimeout: 5 * time.Second,
		DrainTimeout:  5 * time.Second,
		HAProxy:       pool.HAProxyConfig{Address: addr, Backend: "exampleapp", Timeout: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return pooltest.Env{
		Backend: b,
		Hosts:   testHosts("h1", "h2", "h3"),
		Unknown: testHosts("nosuchhost")[0],
		Set: func(ctx context.Context, h pool.Host, p pool.Pooled, w int) error {
			state := map[pool.Pooled]string{pool.PooledYes: "ready", pool.PooledNo: "maint"}[p]
			for _, cmd := range []string{
				fmt.Sprintf("set server exampleapp/%s weight %d", h.Name, w),
				fmt.Sprintf("set server exampleapp/%s state %s", h.Name, state),
			} {
				if out, err := lb.rt.Command(ctx, cmd); err != nil || strings.TrimSpace(out) != "" {
					return fmt.Errorf("%s: %q %v", cmd, out, err)
				}
			}
			return nil
		},
	}
}

func TestConformanceHAProxyTCP(t *testing.T) {
	needServers(t, haproxyBin)
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return haproxyEnv(t, false) })
}

func TestConformanceHAProxyUnix(t *testing.T) {
	needServers(t, haproxyBin)
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return haproxyEnv(t, true) })
}
