package pool_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

const (
	loadWorkers = 4
	loadMax     = 90 * time.Second // the load stops by itself after this
	loadReqWait = 5 * time.Second  // each request
)

// load sends GETs through HAProxy from a few workers, constantly, until
// stopped or loadMax passes, counting successes and failures.
type load struct {
	ok, failed atomic.Int64
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu   sync.Mutex
	errs []string // the first few failures
}

func startLoad(t *testing.T, url string) *load {
	ctx, cancel := context.WithTimeout(context.Background(), loadMax)
	l := &load{cancel: cancel}
	tr := &http.Transport{MaxIdleConnsPerHost: loadWorkers}
	client := &http.Client{Transport: tr, Timeout: loadReqWait}
	for range loadWorkers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				l.one(ctx, client, url)
			}
		}()
	}
	t.Cleanup(func() { l.stop(); tr.CloseIdleConnections() })
	return l
}

func (l *load) one(ctx context.Context, client *http.Client, url string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
	}
	switch {
	case err == nil:
		l.ok.Add(1)
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// stopped by the test, not a failure
	default:
		l.failed.Add(1)
		l.mu.Lock()
		if len(l.errs) < 5 {
			l.errs = append(l.errs, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
		}
		l.mu.Unlock()
	}
}

// stop ends the load and waits for the workers.
func (l *load) stop() (ok, failed int64) {
	l.cancel()
	l.wg.Wait()
	return l.ok.Load(), l.failed.Load()
}

// fleet is three apps behind one HAProxy, with the pool hosts h1..h3.
type fleet struct {
	lb    *haproxyServer
	apps  []*app
	hosts []pool.Host
}

func startFleet(t *testing.T) *fleet {
	f := &fleet{hosts: testHosts("h1", "h2", "h3")}
	var servers []lbServer
	for i := range f.hosts {
		a := newApp(t, fmt.Sprintf("127.0.1.%d", 211+i))
		f.apps = append(f.apps, a)
		servers = append(servers, lbServer{name: f.hosts[i].Name, addr: a.addr, weight: 10, check: true})
	}
	f.lb = startHAProxy(t, "exampleapp", servers)
	f.waitUp(t)
	return f
}

// waitUp waits until HAProxy shows every server UP.
func (f *fleet) waitUp(t *testing.T) {
	for _, h := range f.hosts {
		eventually(t, h.Name+" UP", func() error {
			if s := f.lb.server(t, "exampleapp", h.Name); !s.FullyUp() || s.Maint() || s.Drain() {
				return fmt.Errorf("haproxy shows %s", s.Status)
			}
			return nil
		})
	}
}

// TestZeroFailedRequests: under constant HTTP load through HAProxy, one host
// goes depool -> drained -> stop -> start -> repool, by each backend that
// controls the load balancer, and no request fails. The none backend is the
// control: it does not touch HAProxy, so stopping the host fails requests,
// which shows the test can see a failure.
func TestZeroFailedRequests(t *testing.T) {
	needServers(t, etcdBin, haproxyBin)
	tests := []struct {
		name       string
		backend    func(t *testing.T, f *fleet) pool.Backend
		wantFailed bool
		downFor    time.Duration // how long h1 stays stopped
	}{
		{name: "haproxy", downFor: 500 * time.Millisecond, backend: func(t *testing.T, f *fleet) pool.Backend {
			return newBackend(t, pool.Config{
				Backend: pool.BackendHAProxy,
				HAProxy: pool.HAProxyConfig{Address: f.lb.api, Backend: "exampleapp"},
			})
		}},
		{name: "etcd", downFor: 500 * time.Millisecond, backend: func(t *testing.T, f *fleet) pool.Backend {
			e := startEtcd(t)
			prefix := "/conftool/v1/pools/dc1/web/exampleapp/"
			for _, h := range f.hosts {
				e.put(t, prefix+h.Name, `{"pooled":"yes","weight":10}`)
			}
			startPoolsync(t, e.endpoint, prefix, "exampleapp", f.lb.api)
			return newBackend(t, pool.Config{
				Backend: pool.BackendEtcd,
				Etcd: pool.EtcdConfig{
					Endpoints:      []string{e.endpoint},
					HAProxyStatus:  f.lb.api,
					HAProxyBackend: "exampleapp",
				},
			})
		}},
		// Longer than HAProxy's 3 retries of one second each, so a request
		// sent to the stopped host cannot be saved by a retry.
		{name: "none (control)", wantFailed: true, downFor: 4 * time.Second, backend: func(t *testing.T, f *fleet) pool.Backend {
			return pool.NewNone()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			f := startFleet(t)
			b := tt.backend(t, f)
			f.waitUp(t)
			pl, err := pool.NewPool(b, f.hosts, "2")
			if err != nil {
				t.Fatal(err)
			}
			h1 := f.apps[0]

			l := startLoad(t, f.lb.frontend+"/")
			for i, a := range f.apps {
				eventually(t, f.hosts[i].Name+" gets traffic", func() error {
					if a.hits.Load() == 0 {
						return errors.New("no requests yet")
					}
					return nil
				})
			}

			priors, err := pl.Depool(ctx, "h1")
			if err != nil {
				t.Fatalf("depool h1: %v", err)
			}
			st, err := b.State(ctx, f.hosts[0])
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("h1 depooled: %s", st)
			if !tt.wantFailed && (st.Pooled != pool.PooledNo || st.Sessions != 0) {
				t.Errorf("after depool h1 is %s, want pooled=no with 0 sessions", st)
			}
			// The budget (2 of 3) now refuses a second host and names h1.
			if _, err := pl.Depool(ctx, "h2"); !errors.Is(err, pool.ErrBudget) || !strings.Contains(err.Error(), "already out: h1") {
				t.Errorf("depool h2 with h1 out: %v, want ErrBudget naming h1", err)
			} else {
				t.Logf("budget: %v", err)
			}

			drained := h1.hits.Load()
			h1.stop(t)
			if got := h1.hits.Load(); !tt.wantFailed && got != drained {
				t.Errorf("h1 got %d requests after it was depooled and drained", got-drained)
			}
			time.Sleep(tt.downFor) // the load goes on without h1
			h1.start(t)
			if err := pl.Repool(ctx, priors...); err != nil {
				t.Fatalf("repool h1: %v", err)
			}
			if st, err := b.State(ctx, f.hosts[0]); err != nil || st.Pooled != pool.PooledYes {
				t.Errorf("after repool h1 is %s, %v; want pooled", st, err)
			}
			back := h1.hits.Load()
			eventually(t, "h1 gets traffic again", func() error {
				if h1.hits.Load() == back {
					return errors.New("no requests since repool")
				}
				return nil
			})
			time.Sleep(300 * time.Millisecond)

			ok, failed := l.stop()
			t.Logf("requests through haproxy: %d ok, %d failed (h1 served %d)", ok, failed, h1.hits.Load())
			switch {
			case ok == 0:
				t.Errorf("no request succeeded")
			case tt.wantFailed && failed == 0:
				t.Errorf("stopping a host the backend cannot depool failed no request; the test cannot see failures")
			case !tt.wantFailed && failed != 0:
				t.Errorf("%d requests failed, want 0; first: %q", failed, l.errs)
			}
		})
	}
}

func newBackend(t *testing.T, cfg pool.Config) pool.Backend {
	t.Helper()
	b, err := pool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
