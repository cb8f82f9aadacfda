package pool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

func fakePool(t *testing.T, minPooled string, names ...string) (*pool.Pool, *pooltest.Fake) {
	t.Helper()
	f := pooltest.NewFake(names...)
	p, err := pool.NewPool(f, testHosts(names...), minPooled)
	if err != nil {
		t.Fatal(err)
	}
	return p, f
}

// slowDepool makes every Depool take a while, as a real drain does, so
// concurrent Pool.Depool calls overlap between budget check and write.
type slowDepool struct{ *pooltest.Fake }

func (s slowDepool) Depool(ctx context.Context, h pool.Host) (pool.Prior, error) {
	time.Sleep(50 * time.Millisecond)
	return s.Fake.Depool(ctx, h)
}

func TestPoolConcurrentDepoolsKeepTheBudget(t *testing.T) {
	f := pooltest.NewFake("h1", "h2", "h3", "h4")
	p, err := pool.NewPool(slowDepool{f}, testHosts("h1", "h2", "h3", "h4"), "3")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, h := range []string{"h1", "h2", "h3", "h4"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Depool(context.Background(), h)
		}()
	}
	wg.Wait()
	var ok, refused int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, pool.ErrBudget):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || refused != 3 {
		t.Errorf("%d depools went through and %d were refused, want 1 and 3; calls %v", ok, refused, f.Calls())
	}
}

func TestPoolDepoolReportsHostLeftAlone(t *testing.T) {
	p, f := fakePool(t, "0", "h1", "h2", "h3")
	f.Set("h2", pool.State{Pooled: pool.PooledNo, Weight: 3})
	priors, err := p.Depool(context.Background(), "h1", "h2")
	if !errors.Is(err, pool.ErrNotPooled) || !strings.Contains(err.Error(), "h2") {
		t.Fatalf("Depool(h1, h2) with h2 out: %v, want ErrNotPooled naming h2", err)
	}
	if len(priors) != 2 || !priors[0].Changed || !priors[1].LeftAlone() {
		t.Fatalf("priors = %+v", priors)
	}
	if err := p.Repool(context.Background(), priors...); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Get("h2"); st.Pooled != pool.PooledNo {
		t.Errorf("Repool put h2, which someone else depooled, back: %s", st)
	}
	if st, _ := f.Get("h1"); st.Pooled != pool.PooledYes {
		t.Errorf("h1 not repooled: %s", st)
	}
}

func TestPoolUnknownHost(t *testing.T) {
	p, f := fakePool(t, "0", "h1")
	if _, err := p.Depool(context.Background(), "h9"); !errors.Is(err, pool.ErrUnknownHost) {
		t.Errorf("Depool(h9): %v", err)
	}
	if err := p.Repool(context.Background(), pool.Prior{Host: "h9", Changed: true}); !errors.Is(err, pool.ErrUnknownHost) {
		t.Errorf("Repool(h9): %v", err)
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("the backend was called for a host not in the inventory: %v", calls)
	}
}

func TestPoolDepoolFailureKeepsPrior(t *testing.T) {
	p, f := fakePool(t, "0", "h1", "h2")
	boom := errors.New("boom")
	f.FailOn("repool", "h1", boom)
	priors, err := p.Depool(context.Background(), "h1", "h2")
	if err != nil {
		t.Fatal(err)
	}
	err = p.Repool(context.Background(), priors...)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "h1") {
		t.Fatalf("Repool: %v, want boom naming h1", err)
	}
	if st, _ := f.Get("h2"); st.Pooled != pool.PooledYes {
		t.Errorf("one host's repool failure stopped another's: h2 %s", st)
	}
	if err := p.Repool(context.Background(), priors...); err != nil {
		t.Errorf("second Repool: %v", err)
	}
}

func TestPoolStatusKeepsRowsOnError(t *testing.T) {
	p, f := fakePool(t, "0", "h1", "h2", "h3")
	f.FailOn("state", "h2", pool.ErrUnreachable)
	rows := p.Status(context.Background())
	if len(rows) != 3 || rows[0].Err != nil || !errors.Is(rows[1].Err, pool.ErrUnreachable) || rows[2].Err != nil {
		t.Errorf("rows = %+v", rows)
	}
}

func TestNewPoolBudget(t *testing.T) {
	p, err := pool.NewPool(pooltest.NewFake(), nil, "")
	if err != nil || p.Budget().String() != pool.DefaultMinPooled {
		t.Errorf("default budget: %v, %v", p.Budget(), err)
	}
	if _, err := pool.NewPool(pooltest.NewFake(), nil, "lots"); err == nil {
		t.Error("bad budget: no error")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  pool.Config
		want string // type of the backend, or "" for an error
	}{
		{name: "default is none", cfg: pool.Config{}, want: "*pool.None"},
		{name: "haproxy", cfg: pool.Config{Backend: "haproxy", HAProxy: pool.HAProxyConfig{Address: "tcp://127.0.0.1:1", Backend: "b"}}, want: "*pool.HAProxy"},
		{name: "etcd", cfg: pool.Config{Backend: "etcd", Etcd: pool.EtcdConfig{Endpoints: []string{"http://127.0.0.1:1"}}}, want: "*pool.Etcd"},
		{name: "invalid", cfg: pool.Config{Backend: "etcd"}},
		{name: "missing password file", cfg: pool.Config{Backend: "etcd", Etcd: pool.EtcdConfig{
			Endpoints: []string{"http://127.0.0.1:1"}, Username: "root", PasswordFile: "/nonexistent"}}},
		{name: "missing CA file", cfg: pool.Config{Backend: "etcd", Etcd: pool.EtcdConfig{
			Endpoints: []string{"https://127.0.0.1:1"}, TLS: pool.TLSConfig{CAFile: "/nonexistent"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := pool.New(tt.cfg)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("New: no error, got %T", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got := typeName(b); got != tt.want {
				t.Errorf("New = %s, want %s", got, tt.want)
			}
		})
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestPoolDepoolUnreadableTarget(t *testing.T) {
	p, f := fakePool(t, "1", "h1", "h2", "h3")
	f.FailOn("state", "h1", pool.ErrUnreachable)
	_, err := p.Depool(context.Background(), "h1")
	if !errors.Is(err, pool.ErrUnreachable) || errors.Is(err, pool.ErrBudget) {
		t.Errorf("Depool of a host whose state cannot be read: %v, want its ErrUnreachable", err)
	}
	if st, _ := f.Get("h1"); st.Pooled != pool.PooledYes {
		t.Errorf("h1 changed: %s", st)
	}
}

// heldDepool holds every Depool until release is closed, telling started
// when one begins.
type heldDepool struct {
	*pooltest.Fake
	started chan string
	release chan struct{}
}

func (h heldDepool) Depool(ctx context.Context, host pool.Host) (pool.Prior, error) {
	h.started <- host.Name
	<-h.release
	return h.Fake.Depool(ctx, host)
}

func TestPoolDepoolUncheckedReservesWithoutTheBudget(t *testing.T) {
	f := pooltest.NewFake("h1", "h2", "h3", "h4")
	b := heldDepool{Fake: f, started: make(chan string, 1), release: make(chan struct{})}
	p, err := pool.NewPool(b, testHosts("h1", "h2", "h3", "h4"), "3")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var first []pool.Prior
	done := make(chan error, 1)
	go func() {
		var err error
		first, err = p.DepoolUnchecked(ctx, "h1")
		done <- err
	}()
	<-b.started
	// h1 is still pooled on the backend, but its depool is under way.
	err = p.CheckBudget(ctx, "h2")
	if !errors.Is(err, pool.ErrBudget) || !strings.Contains(err.Error(), "already out: h1 (pooled=no)") {
		t.Errorf("CheckBudget(h2) while h1's depool is under way: %v, want ErrBudget naming h1", err)
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatalf("DepoolUnchecked(h1): %v", err)
	}
	if err := p.CheckBudget(ctx, "h2"); !errors.Is(err, pool.ErrBudget) {
		t.Errorf("CheckBudget(h2) with h1 out: %v, want ErrBudget", err)
	}
	// No budget check: h2 goes out although the budget needs 3 of 4.
	priors, err := p.DepoolUnchecked(ctx, "h2")
	if err != nil || len(priors) != 1 || !priors[0].Changed {
		t.Fatalf("DepoolUnchecked(h2) beyond the budget: %+v, %v", priors, err)
	}
	if err := p.Repool(ctx, append(first, priors...)...); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckBudget(ctx, "h2"); err != nil {
		t.Errorf("CheckBudget(h2) with every host back and no depool under way: %v", err)
	}
	if _, err := p.DepoolUnchecked(ctx, "h9"); !errors.Is(err, pool.ErrUnknownHost) {
		t.Errorf("DepoolUnchecked(h9): %v", err)
	}
}

func TestPoolState(t *testing.T) {
	p, f := fakePool(t, "0", "h1", "h2")
	f.Set("h2", pool.State{Pooled: pool.PooledNo, Weight: 3})
	if st, err := p.State(context.Background(), "h2"); err != nil || st.Pooled != pool.PooledNo || st.Weight != 3 {
		t.Errorf("State(h2) = %s, %v", st, err)
	}
	if _, err := p.State(context.Background(), "h9"); !errors.Is(err, pool.ErrUnknownHost) {
		t.Errorf("State(h9): %v", err)
	}
	if calls := f.Calls(); len(calls) != 1 {
		t.Errorf("calls %v, want only state h2", calls)
	}
}
