package pooltest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

// callTimeout bounds each backend call of the suite; the backends' own
// timeouts are far shorter.
const callTimeout = 30 * time.Second

// Env is one fresh pool for one conformance test. newEnv registers its own
// cleanup with t.Cleanup.
type Env struct {
	Backend pool.Backend
	// Hosts are at least three hosts, each pooled, up, and with a weight
	// above 0 that no other host has (so a restored weight is told apart).
	Hosts []pool.Host
	// Unknown is a host the backend has no record of (no key, no server);
	// leave it zero when the backend knows every host (none).
	Unknown pool.Host
	// Set changes a host's pooled state and weight behind the backend's
	// back, as another operator would (PooledYes or PooledNo); nil when no
	// one else can (none).
	Set func(ctx context.Context, h pool.Host, pooled pool.Pooled, weight int) error
	// SetWeight changes only a host's weight behind the backend's back,
	// leaving it in or out of the pool as it is; nil when no one else can.
	SetWeight func(ctx context.Context, h pool.Host, weight int) error
	// Interrupt leaves a pooled host as a Depool cut short after its first
	// write leaves it (HAProxy: drained, not yet in maint; etcd: pooled=no
	// written, not yet verified or drained) and returns the Prior that
	// Depool had recorded by then (Changed, Before the pooled state). nil
	// when a Depool has no such middle (none).
	Interrupt func(ctx context.Context, h pool.Host) (pool.Prior, error)
}

// RunConformance runs the pool.Backend contract against fresh Envs from
// newEnv, one per subtest.
func RunConformance(t *testing.T, newEnv func(t *testing.T) Env) {
	tests := []struct {
		name  string
		needs string // "set", "unknown", "interrupt", "interrupt+weight" or ""
		run   func(t *testing.T, e Env)
	}{
		{"state reads pooled hosts", "", testState},
		{"depool then repool restores", "", testDepoolRepool},
		{"repool is idempotent", "", testRepoolTwice},
		{"second depool leaves host alone", "", testDepoolTwice},
		{"depool leaves a host someone else depooled", "set", testNotPooled},
		{"repool restores the weight", "set", testRestoresWeight},
		{"repool refuses a host someone else changed", "set", testRepoolChanged},
		{"repool restores a host an interrupted depool left", "interrupt", testRepoolInterrupted},
		{"repool restores the weight after an interrupted depool", "interrupt+weight", testInterruptedWeight},
		{"repool with the prior recorded before depool restores", "interrupt", testRepoolProvisional},
		{"repool with the prior recorded before depool of a host never depooled", "", testRepoolProvisionalUntouched},
		{"unknown host", "unknown", testUnknown},
		{"budget refuses and names hosts out", "", testBudget},
		{"budget counts hosts someone else depooled", "set", testBudgetCountsOthers},
		{"budget checked before a depool that does not check it", "", testBudgetThenUnchecked},
		{"status lists every host", "", testStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if len(e.Hosts) < 3 {
				t.Fatalf("env has %d hosts, the suite needs 3", len(e.Hosts))
			}
			switch {
			case tt.needs == "set" && e.Set == nil:
				t.Skip("no one else can change this backend's hosts")
			case tt.needs == "unknown" && e.Unknown.Name == "":
				t.Skip("this backend knows every host")
			case strings.HasPrefix(tt.needs, "interrupt") && e.Interrupt == nil:
				t.Skip("this backend's depool cannot be cut short part way")
			case tt.needs == "interrupt+weight" && e.SetWeight == nil:
				t.Skip("no one else can change this backend's weights")
			}
			tt.run(t, e)
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

func state(t *testing.T, e Env, h pool.Host) pool.State {
	t.Helper()
	st, err := e.Backend.State(ctxFor(t), h)
	if err != nil {
		t.Fatalf("State(%s): %v", h.Name, err)
	}
	return st
}

func depool(t *testing.T, e Env, h pool.Host) pool.Prior {
	t.Helper()
	p, err := e.Backend.Depool(ctxFor(t), h)
	if err != nil {
		t.Fatalf("Depool(%s): %v", h.Name, err)
	}
	return p
}

func repool(t *testing.T, e Env, h pool.Host, p pool.Prior) {
	t.Helper()
	if err := e.Backend.Repool(ctxFor(t), h, p); err != nil {
		t.Fatalf("Repool(%s): %v", h.Name, err)
	}
}

func set(t *testing.T, e Env, h pool.Host, p pool.Pooled, w int) {
	t.Helper()
	if err := e.Set(ctxFor(t), h, p, w); err != nil {
		t.Fatalf("set %s pooled=%s weight=%d: %v", h.Name, p, w, err)
	}
}

// same compares what every backend must keep: pooled and weight.
func same(a, b pool.State) bool { return a.Pooled == b.Pooled && a.Weight == b.Weight }

func testState(t *testing.T, e Env) {
	weights := map[int]string{}
	for _, h := range e.Hosts {
		st := state(t, e, h)
		if st.Pooled != pool.PooledYes || !st.Serving() {
			t.Errorf("%s: %s, want pooled and serving", h.Name, st)
		}
		if prev, dup := weights[st.Weight]; dup && st.Weight != 0 {
			t.Errorf("%s and %s both have weight %d; the env must give distinct weights", prev, h.Name, st.Weight)
		}
		weights[st.Weight] = h.Name
		if again := state(t, e, h); !same(st, again) {
			t.Errorf("%s: State changed between two reads: %s, then %s", h.Name, st, again)
		}
	}
}

func testDepoolRepool(t *testing.T, e Env) {
	h, others := e.Hosts[0], e.Hosts[1:]
	before := state(t, e, h)
	othersBefore := make([]pool.State, len(others))
	for i, o := range others {
		othersBefore[i] = state(t, e, o)
	}
	p := depool(t, e, h)
	if !p.Changed || p.LeftAlone() || !same(p.Before, before) || p.Host != h.Name {
		t.Errorf("Depool prior = %+v, want Changed, host %s, Before %s", p, h.Name, before)
	}
	out := state(t, e, h)
	if out.Pooled == pool.PooledYes || out.Serving() {
		t.Errorf("after Depool: %s, want not pooled", out)
	}
	for i, o := range others {
		if st := state(t, e, o); !same(st, othersBefore[i]) {
			t.Errorf("Depool(%s) changed %s: %s, was %s", h.Name, o.Name, st, othersBefore[i])
		}
	}
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) || !after.Serving() {
		t.Errorf("after Repool: %s, want %s and serving", after, before)
	}
}

func testRepoolTwice(t *testing.T, e Env) {
	h := e.Hosts[1]
	before := state(t, e, h)
	p := depool(t, e, h)
	repool(t, e, h, p)
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) {
		t.Errorf("after two Repools: %s, want %s", after, before)
	}
}

func testDepoolTwice(t *testing.T, e Env) {
	h := e.Hosts[2]
	before := state(t, e, h)
	p := depool(t, e, h)
	p2, err := e.Backend.Depool(ctxFor(t), h)
	if !errors.Is(err, pool.ErrNotPooled) || !p2.LeftAlone() {
		t.Fatalf("second Depool = %+v, %v; want LeftAlone and ErrNotPooled", p2, err)
	}
	if !strings.Contains(err.Error(), h.Name) {
		t.Errorf("error %q does not name the host %s", err, h.Name)
	}
	repool(t, e, h, p2) // a no-op
	if st := state(t, e, h); st.Pooled == pool.PooledYes {
		t.Errorf("Repool with a LeftAlone prior repooled the host: %s", st)
	}
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) {
		t.Errorf("after Repool: %s, want %s", after, before)
	}
}

func testNotPooled(t *testing.T, e Env) {
	h := e.Hosts[0]
	set(t, e, h, pool.PooledNo, 42)
	p, err := e.Backend.Depool(ctxFor(t), h)
	if !errors.Is(err, pool.ErrNotPooled) {
		t.Fatalf("Depool of a host someone else depooled: %v, want ErrNotPooled", err)
	}
	if !p.LeftAlone() || p.Before.Pooled != pool.PooledNo || p.Before.Weight != 42 {
		t.Errorf("prior = %+v, want LeftAlone with pooled=no weight=42", p)
	}
	repool(t, e, h, p)
	if st := state(t, e, h); st.Pooled != pool.PooledNo || st.Weight != 42 {
		t.Errorf("after Depool and Repool: %s, want it left at pooled=no weight=42", st)
	}
}

func testRestoresWeight(t *testing.T, e Env) {
	h := e.Hosts[1]
	before := state(t, e, h)
	p := depool(t, e, h)
	set(t, e, h, pool.PooledNo, before.Weight+50)
	repool(t, e, h, p)
	if after := state(t, e, h); !same(after, before) {
		t.Errorf("after Repool: %s, want exactly %s", after, before)
	}
}

func testRepoolChanged(t *testing.T, e Env) {
	h := e.Hosts[2]
	before := state(t, e, h)
	p := depool(t, e, h)
	set(t, e, h, pool.PooledYes, before.Weight+7)
	err := e.Backend.Repool(ctxFor(t), h, p)
	if !errors.Is(err, pool.ErrChanged) {
		t.Fatalf("Repool after someone else repooled with another weight: %v, want ErrChanged", err)
	}
	if st := state(t, e, h); st.Pooled != pool.PooledYes || st.Weight != before.Weight+7 {
		t.Errorf("Repool wrote over someone else's change: %s", st)
	}
}

func testUnknown(t *testing.T, e Env) {
	h := e.Unknown
	ctx := ctxFor(t)
	_, err := e.Backend.State(ctx, h)
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, pool.ErrUnknownHost) {
			t.Errorf("%s of an unknown host: %v, want ErrUnknownHost", op, err)
		} else if !strings.Contains(err.Error(), h.Name) {
			t.Errorf("%s error %q does not name the host %s", op, err, h.Name)
		}
	}
	check("State", err)
	p, err := e.Backend.Depool(ctx, h)
	check("Depool", err)
	if p.Changed {
		t.Errorf("Depool of an unknown host says it changed it: %+v", p)
	}
	p.Changed = true
	p.Before = pool.State{Pooled: pool.PooledYes, Weight: 1}
	p.Value = `{"pooled":"yes","weight":1}`
	check("Repool", e.Backend.Repool(ctx, h, p))
	if _, err := e.Backend.State(ctx, h); !errors.Is(err, pool.ErrUnknownHost) {
		t.Errorf("after the calls the unknown host exists: %v", err)
	}
}

func newPool(t *testing.T, e Env, minPooled string) *pool.Pool {
	t.Helper()
	p, err := pool.NewPool(e.Backend, e.Hosts, minPooled)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testBudget(t *testing.T, e Env) {
	n := len(e.Hosts)
	pl := newPool(t, e, fmt.Sprint(n-1)) // one host may be out
	ctx := ctxFor(t)
	a, b, c := e.Hosts[0].Name, e.Hosts[1].Name, e.Hosts[2].Name

	if _, err := pl.Depool(ctx, b, c); !errors.Is(err, pool.ErrBudget) {
		t.Fatalf("batch Depool(%s, %s) with min_pooled %d of %d: %v, want ErrBudget", b, c, n-1, n, err)
	}
	for _, h := range e.Hosts {
		if st := state(t, e, h); st.Pooled != pool.PooledYes {
			t.Errorf("a refused batch depool changed %s: %s", h.Name, st)
		}
	}
	priors, err := pl.Depool(ctx, a)
	if err != nil {
		t.Fatalf("Depool(%s) within budget: %v", a, err)
	}
	_, err = pl.Depool(ctx, b)
	if !errors.Is(err, pool.ErrBudget) {
		t.Fatalf("Depool(%s) with %s out: %v, want ErrBudget", b, a, err)
	}
	if !strings.Contains(err.Error(), "already out: "+a) {
		t.Errorf("budget error %q does not name %s as already out", err, a)
	}
	if st := state(t, e, e.Hosts[1]); st.Pooled != pool.PooledYes {
		t.Errorf("a refused depool changed %s: %s", b, st)
	}
	if err := pl.Repool(ctx, priors...); err != nil {
		t.Fatal(err)
	}
	priors, err = pl.Depool(ctx, b)
	if err != nil {
		t.Fatalf("Depool(%s) after %s came back: %v", b, a, err)
	}
	if err := pl.Repool(ctx, priors...); err != nil {
		t.Fatal(err)
	}
}

func testBudgetCountsOthers(t *testing.T, e Env) {
	n := len(e.Hosts)
	pl := newPool(t, e, fmt.Sprint(n-1))
	other := e.Hosts[2]
	set(t, e, other, pool.PooledNo, 5)
	_, err := pl.Depool(ctxFor(t), e.Hosts[0].Name)
	if !errors.Is(err, pool.ErrBudget) || !strings.Contains(err.Error(), other.Name+" (pooled=no)") {
		t.Fatalf("Depool with %s depooled by someone else: %v, want ErrBudget naming %s (pooled=no)", other.Name, err, other.Name)
	}
	if st := state(t, e, e.Hosts[0]); st.Pooled != pool.PooledYes {
		t.Errorf("a refused depool changed %s: %s", e.Hosts[0].Name, st)
	}
}

// testBudgetThenUnchecked is a rollout's way: CheckBudget for the batch,
// then DepoolUnchecked; a host that must go out goes whatever the budget.
func testBudgetThenUnchecked(t *testing.T, e Env) {
	n := len(e.Hosts)
	pl := newPool(t, e, fmt.Sprint(n-1))
	ctx := ctxFor(t)
	a, b := e.Hosts[0].Name, e.Hosts[1].Name
	if err := pl.CheckBudget(ctx, a, b); !errors.Is(err, pool.ErrBudget) {
		t.Errorf("CheckBudget(%s, %s) with min_pooled %d of %d: %v, want ErrBudget", a, b, n-1, n, err)
	}
	if err := pl.CheckBudget(ctx, a); err != nil {
		t.Fatalf("CheckBudget(%s) within budget: %v", a, err)
	}
	priors, err := pl.DepoolUnchecked(ctx, a)
	if err != nil {
		t.Fatalf("DepoolUnchecked(%s): %v", a, err)
	}
	if err := pl.CheckBudget(ctx, b); !errors.Is(err, pool.ErrBudget) || !strings.Contains(err.Error(), "already out: "+a) {
		t.Errorf("CheckBudget(%s) with %s out: %v, want ErrBudget naming %s", b, a, err, a)
	}
	more, err := pl.DepoolUnchecked(ctx, b)
	if err != nil {
		t.Fatalf("DepoolUnchecked(%s) beyond the budget: %v", b, err)
	}
	if st := state(t, e, e.Hosts[1]); st.Pooled == pool.PooledYes {
		t.Errorf("DepoolUnchecked(%s) left it pooled: %s", b, st)
	}
	if err := pl.Repool(ctx, append(priors, more...)...); err != nil {
		t.Fatal(err)
	}
	if err := pl.CheckBudget(ctx, a); err != nil {
		t.Errorf("CheckBudget(%s) with every host back: %v", a, err)
	}
}

func testStatus(t *testing.T, e Env) {
	pl := newPool(t, e, "0")
	rows := pl.Status(ctxFor(t))
	if len(rows) != len(e.Hosts) {
		t.Fatalf("Status has %d rows, want %d", len(rows), len(e.Hosts))
	}
	for i, r := range rows {
		if r.Host.Name != e.Hosts[i].Name || r.Err != nil || r.State.Pooled != pool.PooledYes {
			t.Errorf("row %d = %+v, want %s pooled", i, r, e.Hosts[i].Name)
		}
	}
}
