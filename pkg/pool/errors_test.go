package pool_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

// errTimeout is every timeout of the backends in the error tests; each call
// must give up within errLimit.
const (
	errTimeout = time.Second
	errLimit   = 4 * errTimeout
)

// hungServer accepts connections and never answers, like a peer that hangs.
func hungServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
}

func etcdCfg(endpoint string) pool.Config {
	return pool.Config{
		Backend:       pool.BackendEtcd,
		VerifyTimeout: errTimeout,
		DrainTimeout:  errTimeout,
		Etcd: pool.EtcdConfig{
			Endpoints:      []string{endpoint},
			Key:            "/conftool/v1/pools/{dc}/{cluster}/{service}/{host}",
			DialTimeout:    errTimeout,
			RequestTimeout: errTimeout,
		},
	}
}

func haproxyCfg(addr string) pool.Config {
	return pool.Config{
		Backend:       pool.BackendHAProxy,
		VerifyTimeout: errTimeout,
		DrainTimeout:  errTimeout,
		HAProxy:       pool.HAProxyConfig{Address: addr, Backend: "exampleapp", Timeout: errTimeout},
	}
}

// TestErrorsWriteNothing: a bad etcd value, a missing key, an unknown
// HAProxy server and an unreachable etcd or HAProxy each give a clear error
// (the sentinel, the host, the key or server) within the timeout, from
// State, Depool and Repool alike, and nothing is written.
func TestErrorsWriteNothing(t *testing.T) {
	needServers(t, etcdBin, haproxyBin)
	e := startEtcd(t)
	lb := startHAProxy(t, "exampleapp", noCheckServers())
	host := testHosts("h1")[0]
	key := "/conftool/v1/pools/dc1/web/exampleapp/h1"

	// snapshot returns what must not change: the key and the LB's servers.
	snapshot := func(t *testing.T) string {
		v, rev := e.get(t, key)
		return fmt.Sprintf("etcd %q@%d\n%s", v, rev, lb.serversState(t, "exampleapp"))
	}
	tests := []struct {
		name    string
		value   string // the key's value; "" means no key
		cfg     pool.Config
		host    pool.Host
		want    error
		mention []string // the error must name these
	}{
		{name: "etcd value not JSON", value: `pooled=yes`, cfg: etcdCfg(e.endpoint),
			want: pool.ErrBadValue, mention: []string{"h1", key, "not a JSON object"}},
		{name: "etcd value a JSON array", value: `["yes",10]`, cfg: etcdCfg(e.endpoint),
			want: pool.ErrBadValue, mention: []string{"h1", key}},
		{name: "etcd unknown pooled value", value: `{"pooled":"maybe","weight":10}`, cfg: etcdCfg(e.endpoint),
			want: pool.ErrBadValue, mention: []string{"h1", key, `"maybe"`}},
		{name: "etcd value without weight", value: `{"pooled":"yes"}`, cfg: etcdCfg(e.endpoint),
			want: pool.ErrBadValue, mention: []string{"h1", key, "weight"}},
		{name: "etcd missing key", cfg: etcdCfg(e.endpoint),
			want: pool.ErrMissingKey, mention: []string{"h1", key}},
		{name: "etcd unreachable", value: `{"pooled":"yes","weight":10}`, cfg: etcdCfg("http://" + closedPort(t)),
			want: pool.ErrUnreachable, mention: []string{"h1", key}},
		{name: "etcd hangs", value: `{"pooled":"yes","weight":10}`, cfg: etcdCfg("http://" + hungServer(t)),
			want: pool.ErrUnreachable, mention: []string{"h1", key}},
		{name: "haproxy unknown server", cfg: haproxyCfg(lb.api), host: testHosts("h9")[0],
			want: pool.ErrUnknownServer, mention: []string{"h9", "exampleapp/h9"}},
		{name: "haproxy unknown backend", cfg: func() pool.Config {
			c := haproxyCfg(lb.api)
			c.HAProxy.Backend = "nosuchbackend"
			return c
		}(), want: pool.ErrUnknownServer, mention: []string{"h1", "nosuchbackend/h1"}},
		{name: "haproxy unreachable", cfg: haproxyCfg("tcp://" + closedPort(t)),
			want: pool.ErrUnreachable, mention: []string{"h1", "exampleapp/h1"}},
		{name: "haproxy hangs", cfg: haproxyCfg("tcp://" + hungServer(t)),
			want: pool.ErrUnreachable, mention: []string{"h1", "exampleapp/h1"}},
		{name: "haproxy unix socket missing", cfg: haproxyCfg("unix:///nonexistent/haproxy.sock"),
			want: pool.ErrUnreachable, mention: []string{"h1", "exampleapp/h1"}},
		{name: "etcd fine, its haproxy_status unknown server", value: `{"pooled":"yes","weight":10}`,
			cfg: func() pool.Config {
				c := etcdCfg(e.endpoint)
				c.Etcd.HAProxyStatus, c.Etcd.HAProxyBackend, c.Etcd.HAProxyServer = lb.api, "exampleapp", "{host}-missing"
				return c
			}(), want: pool.ErrUnknownServer, mention: []string{"h1", key, "exampleapp/h1-missing"}},
		{name: "etcd fine, its haproxy_status unreachable", value: `{"pooled":"yes","weight":10}`,
			cfg: func() pool.Config {
				c := etcdCfg(e.endpoint)
				c.Etcd.HAProxyStatus, c.Etcd.HAProxyBackend = "tcp://"+hungServer(t), "exampleapp"
				return c
			}(), want: pool.ErrUnreachable, mention: []string{"h1", key, "exampleapp/h1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			delCtx, delCancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := e.cli.Delete(delCtx, key); err != nil {
				t.Fatal(err)
			}
			delCancel()
			if tt.value != "" {
				e.put(t, key, tt.value)
			}
			h := host
			if tt.host.Name != "" {
				h = tt.host
			}
			b, err := pool.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			before := snapshot(t)
			prior := pool.Prior{Host: h.Name, Changed: true,
				Before: pool.State{Pooled: pool.PooledYes, Weight: 10},
				Value:  `{"pooled":"yes","weight":10}`, Wrote: `{"pooled":"no","weight":10}`}
			calls := []struct {
				op   string
				call func() error
			}{
				{"State", func() error { _, err := b.State(ctx, h); return err }},
				{"Depool", func() error {
					p, err := b.Depool(ctx, h)
					if p.Changed {
						t.Errorf("Depool says it changed the host: %+v", p)
					}
					return err
				}},
				{"Repool", func() error { return b.Repool(ctx, h, prior) }},
			}
			for _, c := range calls {
				start := time.Now()
				err := c.call()
				took := time.Since(start)
				if !errors.Is(err, tt.want) {
					t.Errorf("%s: %v, want %v", c.op, err, tt.want)
					continue
				}
				for _, m := range tt.mention {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("%s error %q does not mention %q", c.op, err, m)
					}
				}
				if took > errLimit {
					t.Errorf("%s took %s; the timeouts are %s", c.op, took, errTimeout)
				}
				t.Logf("%s (%s): %v", c.op, took.Round(time.Millisecond), err)
			}
			if after := snapshot(t); after != before {
				t.Errorf("something was written:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
