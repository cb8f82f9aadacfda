package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

// poolEnv is an environment of hosts h1..hN with var dc=dc1 behind the
// pool backend named backend with min_pooled minPooled.
func poolEnv(n int, backend, minPooled string) *inventory.Env {
	env := &inventory.Env{Name: "test", Config: inventory.Config{
		App:  "app",
		Pool: pool.Config{Backend: backend, MinPooled: minPooled},
		Vars: map[string]string{"dc": "dc1"},
	}}
	var names []string
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("h%d", i)
		env.Hosts = append(env.Hosts, inventory.Host{Name: h, Address: "127.0.0.1"})
		names = append(names, h)
	}
	env.Groups = inventory.Groups{{Name: "all", Hosts: names}}
	return env
}

func testPoolHosts(t *testing.T, env *inventory.Env, b pool.Backend) *PoolHosts {
	t.Helper()
	p, err := newPoolHosts(env, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPoolHostsBudget(t *testing.T) {
	f := pooltest.NewFake("h1", "h2", "h3")
	p := testPoolHosts(t, poolEnv(3, pool.BackendEtcd, "2"), f)
	ctx := context.Background()
	if err := p.Budget(ctx, []string{"h1"}); err != nil {
		t.Errorf("Budget(h1) with every host in: %v", err)
	}
	f.Set("h2", pool.State{Pooled: pool.PooledNo, Weight: 10})
	if err := p.Budget(ctx, []string{"h1"}); !errors.Is(err, pool.ErrBudget) || !strings.Contains(err.Error(), "already out: h2") {
		t.Errorf("Budget(h1) with h2 out: %v, want ErrBudget naming h2", err)
	}
}

func TestPoolHostsNoneSkipsTheBudget(t *testing.T) {
	f := pooltest.NewFake("h1", "h2", "h3")
	p := testPoolHosts(t, poolEnv(3, pool.BackendNone, "100%"), f)
	if err := p.Budget(context.Background(), []string{"h1", "h2", "h3"}); err != nil {
		t.Errorf("Budget of every host with backend none: %v", err)
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("backend none: the budget read the pool: %v", calls)
	}
}

// budgetMidDepool runs check from inside each Depool, before it writes:
// while that depool is under way.
type budgetMidDepool struct {
	*pooltest.Fake
	check func() error
	err   error
}

func (b *budgetMidDepool) Depool(ctx context.Context, h pool.Host) (pool.Prior, error) {
	b.err = b.check()
	return b.Fake.Depool(ctx, h)
}

func TestPoolHostsBudgetCountsDepoolsUnderWay(t *testing.T) {
	ctx := context.Background()
	b := &budgetMidDepool{Fake: pooltest.NewFake("h1", "h2", "h3")}
	p := testPoolHosts(t, poolEnv(3, pool.BackendEtcd, "2"), b)
	b.check = func() error { return p.Budget(ctx, []string{"h2"}) }
	prior, err := p.Depool(ctx, "h1")
	if err != nil || !prior.Changed || prior.Host != "h1" {
		t.Fatalf("Depool(h1) = %+v, %v", prior, err)
	}
	if !errors.Is(b.err, pool.ErrBudget) || !strings.Contains(b.err.Error(), "already out: h1") {
		t.Errorf("Budget(h2) while h1's depool is under way: %v, want ErrBudget naming h1", b.err)
	}
	if err := p.Repool(ctx, "h1", prior); err != nil {
		t.Fatal(err)
	}
	if err := p.Budget(ctx, []string{"h2"}); err != nil {
		t.Errorf("Budget(h2) after h1 came back: %v", err)
	}
}

func TestPoolHostsDepoolDoesNotCheckTheBudget(t *testing.T) {
	f := pooltest.NewFake("h1", "h2", "h3")
	p := testPoolHosts(t, poolEnv(3, pool.BackendEtcd, "3"), f)
	ctx := context.Background()
	prior, err := p.Depool(ctx, "h1")
	if err != nil || !prior.Changed {
		t.Fatalf("Depool(h1) with min_pooled 3 of 3: %+v, %v; the engine checks the budget with Budget, not Depool", prior, err)
	}
	if st, err := p.State(ctx, "h1"); err != nil || st.Pooled != pool.PooledNo {
		t.Errorf("State(h1) after Depool: %s, %v", st, err)
	}
	if err := p.Repool(ctx, "h1", prior); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Get("h1"); st.Pooled != pool.PooledYes {
		t.Errorf("h1 not repooled: %s", st)
	}
	if _, err := p.Depool(ctx, "h9"); !errors.Is(err, pool.ErrUnknownHost) {
		t.Errorf("Depool(h9): %v, want ErrUnknownHost", err)
	}
}

// countingStates records the most State calls in flight at once and the
// vars each host was read with.
type countingStates struct {
	*pooltest.Fake
	mu        sync.Mutex
	now, most int
	vars      map[string]string
}

func (c *countingStates) State(ctx context.Context, h pool.Host) (pool.State, error) {
	c.mu.Lock()
	c.now++
	c.most = max(c.most, c.now)
	c.vars[h.Name] = h.Vars["dc"] + " " + h.Vars["host"]
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return c.Fake.State(ctx, h)
}

func TestPoolHostsStatusIsBoundedAndInOrder(t *testing.T) {
	const n = 20
	env := poolEnv(n, pool.BackendEtcd, "1")
	var names []string
	for _, h := range env.Hosts {
		names = append(names, h.Name)
	}
	b := &countingStates{Fake: pooltest.NewFake(names...), vars: map[string]string{}}
	p := testPoolHosts(t, env, b)
	rows := p.Status(context.Background())
	if len(rows) != n {
		t.Fatalf("Status has %d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		if r.Host.Name != names[i] || r.Err != nil || r.State.Pooled != pool.PooledYes {
			t.Errorf("row %d = %+v, want %s pooled", i, r, names[i])
		}
		if got := b.vars[names[i]]; got != "dc1 "+names[i] {
			t.Errorf("%s read with vars dc, host = %q, want the inventory's", names[i], got)
		}
	}
	if b.most >= n {
		t.Errorf("Status read all %d hosts at once, want a bounded fan-out", b.most)
	}
}
