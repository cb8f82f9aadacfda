package pool_test

import (
	"context"
	"encoding/json"
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

// fakeEnv is a Fake pool of four hosts; with lb, each has a load balancer
// view, so the suite sees MAINT and DRAIN as HAProxy would show them.
func fakeEnv(t *testing.T, lb bool) pooltest.Env {
	hosts := testHosts("h1", "h2", "h3", "h4")
	f := pooltest.NewFake()
	for i, h := range hosts {
		st := pool.State{Pooled: pool.PooledYes, Weight: 10 * (i + 1)}
		if lb {
			st.LB, st.Up = "UP", true
		}
		f.Set(h.Name, st)
	}
	return pooltest.Env{
		Backend: f,
		Hosts:   hosts,
		Unknown: testHosts("nosuchhost")[0],
		Set: func(ctx context.Context, h pool.Host, p pool.Pooled, w int) error {
			st := pool.State{Pooled: p, Weight: w}
			if lb {
				st.LB, st.Up = "MAINT", false
				if p == pool.PooledYes {
					st.LB, st.Up = "UP", true
				}
			}
			f.Set(h.Name, st)
			return nil
		},
		SetWeight: func(ctx context.Context, h pool.Host, w int) error {
			st, _ := f.Get(h.Name)
			st.Weight = w
			f.Set(h.Name, st)
			return nil
		},
		Interrupt: f.Interrupt,
	}
}

func TestConformanceFake(t *testing.T) {
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return fakeEnv(t, false) })
}

func TestConformanceFakeLB(t *testing.T) {
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return fakeEnv(t, true) })
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
		SetWeight: func(ctx context.Context, h pool.Host, w int) error {
			var v struct{ Pooled string }
			raw, _ := e.get(t, keyOf(h))
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return fmt.Errorf("%s: %q: %v", keyOf(h), raw, err)
			}
			_, err := e.cli.Put(ctx, keyOf(h), fmt.Sprintf(`{"pooled":%q,"weight":%d}`, v.Pooled, w))
			return err
		},
		Interrupt: func(ctx context.Context, h pool.Host) (pool.Prior, error) {
			return etcdInterrupt(ctx, t, e, b, lb, h, keyOf(h))
		},
	}
}

// etcdInterrupt does what an etcd Depool does up to its write of pooled=no,
// and returns its Prior as Depool had recorded it by then. With an LB it
// waits until poolsync has drained the server, as a Depool interrupted
// during its drain wait leaves it; else a late poolsync could drain the
// server after the Repool under test.
func etcdInterrupt(ctx context.Context, t *testing.T, e *etcdServer, b pool.Backend, lb *haproxyServer, h pool.Host, key string) (pool.Prior, error) {
	before, err := b.State(ctx, h)
	if err != nil {
		return pool.Prior{}, err
	}
	raw, _ := e.get(t, key)
	wrote := conftoolValue(pool.PooledNo, before.Weight)
	if raw != conftoolValue(pool.PooledYes, before.Weight) {
		return pool.Prior{}, fmt.Errorf("%s: %q, want a pooled value of this env", key, raw)
	}
	if _, err := e.cli.Put(ctx, key, wrote); err != nil {
		return pool.Prior{}, err
	}
	if lb != nil {
		eventually(t, "poolsync drains "+h.Name, func() error {
			if s := lb.server(t, "exampleapp", h.Name); !s.Drain() {
				return fmt.Errorf("haproxy shows %+v", s)
			}
			return nil
		})
	}
	return pool.Prior{Host: h.Name, Changed: true, Before: before, Value: raw, Wrote: wrote}, nil
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
				if err := lbCommand(ctx, lb, cmd); err != nil {
					return err
				}
			}
			return nil
		},
		SetWeight: func(ctx context.Context, h pool.Host, w int) error {
			return lbCommand(ctx, lb, fmt.Sprintf("set server exampleapp/%s weight %d", h.Name, w))
		},
		// As Depool does up to its first command, which an interrupt
		// (cancelled context, killed process) may follow.
		Interrupt: func(ctx context.Context, h pool.Host) (pool.Prior, error) {
			before, err := b.State(ctx, h)
			if err != nil {
				return pool.Prior{}, err
			}
			p := pool.Prior{Host: h.Name, Changed: true, Before: before}
			return p, lbCommand(ctx, lb, "set server exampleapp/"+h.Name+" state drain")
		},
	}
}

// lbCommand runs a runtime API command that must answer nothing.
func lbCommand(ctx context.Context, lb *haproxyServer, cmd string) error {
	if out, err := lb.rt.Command(ctx, cmd); err != nil || strings.TrimSpace(out) != "" {
		return fmt.Errorf("%s: %q %v", cmd, out, err)
	}
	return nil
}

func TestConformanceHAProxyTCP(t *testing.T) {
	needServers(t, haproxyBin)
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return haproxyEnv(t, false) })
}

func TestConformanceHAProxyUnix(t *testing.T) {
	needServers(t, haproxyBin)
	pooltest.RunConformance(t, func(t *testing.T) pooltest.Env { return haproxyEnv(t, true) })
}
