package deploy

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/pool"
)

const (
	good = "1111111111111111111111111111111111111111"
	next = "2222222222222222222222222222222222222222"
)

func hosts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "h" + string(rune('1'+i))
	}
	return out
}

func TestRolloutGood(t *testing.T) {
	f := newFleet(hosts(3), good)
	e, events := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(context.Background(), context.Background(), Options{Ref: "v2", Rev: next, LastGood: good})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeDone || !reflect.DeepEqual(res.Done, hosts(3)) {
		t.Fatalf("result %+v", res)
	}
	// Only the new rev is staged: every host's restore point is live on it.
	if !reflect.DeepEqual(f.staged, []string{next}) {
		t.Errorf("staged %v", f.staged)
	}
	for _, h := range hosts(3) {
		want := []string{"depool", "stop", "activate " + next, "start", "repool"}
		if got := f.actions(h); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: actions %v, want %v", h, got, want)
		}
		if f.running[h] != next || f.pooled[h] != pool.PooledYes {
			t.Errorf("%s: running %s pooled %s", h, f.running[h], f.pooled[h])
		}
	}
	// One host at a time: h1 finishes before h2 starts.
	var order []string
	for _, ev := range *events {
		if ev.Type == EventHost && ev.Status == StatusStart {
			order = append(order, ev.Host)
		}
	}
	if !reflect.DeepEqual(order, hosts(3)) {
		t.Errorf("host order %v", order)
	}
}

func TestRolloutFailureRollsBackInReverse(t *testing.T) {
	f := newFleet(hosts(4), good)
	f.failCheck[next] = true
	e, _ := testEngine(testEnv(t, 4, func(env *inventory.Env) {
		// h1 canary passes because only h3 is bad: make checks fail only on h3
	}), f)
	// Fail only when h3 runs next.
	f.onStep = func(host, action string) {
		if host != "h3" {
			f.mu.Lock()
			delete(f.failCheck, next)
			f.mu.Unlock()
		} else if action == "depool" {
			f.mu.Lock()
			f.failCheck[next] = true
			f.mu.Unlock()
		}
	}
	res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("err = %v, want ErrRolledBack", err)
	}
	if res.FailedHost != "h3" || res.FailedStep != "checks:depooled" || !strings.Contains(res.Reason, "503") {
		t.Errorf("failed %s at %s: %s", res.FailedHost, res.FailedStep, res.Reason)
	}
	for _, h := range hosts(4) {
		if f.current[h] != good || f.running[h] != good || f.pooled[h] != pool.PooledYes {
			t.Errorf("%s: current %s running %s pooled %s", h, f.current[h], f.running[h], f.pooled[h])
		}
	}
	// The failed host first (still depooled: no second depool), then h2, h1.
	var rb []string
	for _, l := range f.log {
		if strings.HasSuffix(l, "activate "+good) {
			rb = append(rb, strings.Fields(l)[0])
		}
	}
	if want := []string{"h3", "h2", "h1"}; !reflect.DeepEqual(rb, want) {
		t.Errorf("rollback order %v, want %v", rb, want)
	}
	if got := f.actions("h3"); !reflect.DeepEqual(got, []string{"depool", "stop", "activate " + next, "start", "stop", "activate " + good, "start", "repool"}) {
		t.Errorf("h3 actions %v", got)
	}
	if len(f.actions("h4")) != 0 {
		t.Errorf("h4 was touched: %v", f.actions("h4"))
	}
}

func TestRollbackFailureLeavesHostDepooled(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.failAct["h1"] = good // h1 cannot go back
	f.onStep = func(host, action string) {
		if host == "h2" && action == "depool" {
			f.mu.Lock()
			f.failCheck[next] = true
			f.mu.Unlock()
		}
	}
	e, _ := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if !errors.Is(err, ErrRollbackFailed) {
		t.Fatalf("err = %v, want ErrRollbackFailed", err)
	}
	if !reflect.DeepEqual(res.LeftDepooled, []string{"h1"}) || f.pooled["h1"] != pool.PooledNo {
		t.Errorf("left depooled %v, h1 pooled %s", res.LeftDepooled, f.pooled["h1"])
	}
	if !strings.Contains(err.Error(), "h1") {
		t.Errorf("error does not name h1: %v", err)
	}
	if f.current["h2"] != good || f.pooled["h2"] != pool.PooledYes {
		t.Errorf("h2 not restored")
	}
}

func TestCancelRollsBackAtStepBoundary(t *testing.T) {
	f := newFleet(hosts(3), good)
	ctx, cancel := context.WithCancelCause(context.Background())
	f.onStep = func(host, action string) {
		if host == "h2" && action == "stop" {
			cancel(errors.New("aborted by ops@deploy1"))
		}
	}
	e, _ := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(ctx, context.Background(), Options{Rev: next, LastGood: good})
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(res.Reason, "aborted by ops@deploy1") {
		t.Errorf("reason %q", res.Reason)
	}
	for _, h := range hosts(3) {
		if f.running[h] != good || f.pooled[h] != pool.PooledYes {
			t.Errorf("%s: running %s pooled %s", h, f.running[h], f.pooled[h])
		}
	}
	if len(f.actions("h3")) != 0 {
		t.Errorf("h3 touched after abort: %v", f.actions("h3"))
	}
}

func TestHostDepooledBySomeoneElseIsLeftOut(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.pooled["h2"] = pool.PooledNo
	e, _ := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.LeftAlone, []string{"h2"}) || f.pooled["h2"] != pool.PooledNo || f.running["h2"] != next {
		t.Errorf("left alone %v; h2 pooled %s running %s", res.LeftAlone, f.pooled["h2"], f.running["h2"])
	}
}

func TestFailureLimitToleratesOneHost(t *testing.T) {
	f := newFleet(hosts(4), good)
	f.onStep = func(host, action string) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if action == "depool" {
			f.failCheck[next] = host == "h2"
		}
	}
	e, _ := testEngine(testEnv(t, 4, func(env *inventory.Env) { env.Rollout.FailureLimit = 1 }), f)
	res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("err = %v", err)
	}
	if !reflect.DeepEqual(res.Tolerated, []string{"h2"}) || f.running["h2"] != good || f.running["h4"] != next {
		t.Errorf("tolerated %v, h2 %s, h4 %s", res.Tolerated, f.running["h2"], f.running["h4"])
	}
}

func TestPreflightFailureChangesNothing(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.unreach["h3"] = true
	e, _ := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if err == nil || res.Outcome != OutcomeFailed || !strings.Contains(err.Error(), "h3") {
		t.Fatalf("res %+v err %v", res, err)
	}
	if len(f.log) != 0 {
		t.Errorf("something changed: %v", f.log)
	}
}

func TestLastGood(t *testing.T) {
	t.Run("adopted when every host runs the same rev", func(t *testing.T) {
		f := newFleet(hosts(2), good)
		e, _ := testEngine(testEnv(t, 2, nil), f)
		res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next})
		if err != nil || res.LastGood != good {
			t.Fatalf("last good %q err %v", res.LastGood, err)
		}
	})
	t.Run("refused when a host runs nothing and not --initial", func(t *testing.T) {
		f := newFleet(hosts(2), good)
		f.current["h2"] = ""
		e, _ := testEngine(testEnv(t, 2, nil), f)
		_, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next})
		if !errors.Is(err, ErrNoLastGood) || len(f.log) != 0 {
			t.Fatalf("err %v, log %v", err, f.log)
		}
	})
	t.Run("initial: a failed host is stopped and left depooled", func(t *testing.T) {
		f := newFleet(hosts(2), "")
		f.failCheck[next] = true
		e, _ := testEngine(testEnv(t, 2, nil), f)
		res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, Initial: true})
		if !errors.Is(err, ErrRollbackFailed) || !slices.Equal(res.LeftDepooled, []string{"h1"}) {
			t.Fatalf("err %v, left %v", err, res.LeftDepooled)
		}
		if f.running["h1"] != "" || f.pooled["h1"] != pool.PooledNo {
			t.Errorf("h1 running %q pooled %s", f.running["h1"], f.pooled["h1"])
		}
	})
}

func TestBudgetRefusalRollsBack(t *testing.T) {
	f := newFleet(hosts(2), good)
	f.pooled["h1"] = pool.PooledNo // h1 out: depooling h2 would leave nobody
	e, _ := testEngine(testEnv(t, 2, nil), f)
	_, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if err == nil || !errors.Is(err, pool.ErrBudget) && !strings.Contains(err.Error(), "budget") {
		t.Fatalf("err = %v", err)
	}
	if f.pooled["h2"] != pool.PooledYes || f.running["h2"] != good {
		t.Errorf("h2 changed: pooled %s running %s", f.pooled["h2"], f.running["h2"])
	}
}

func TestRestoreReturnsDriftedHosts(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.current["h2"], f.running["h2"] = next, next
	f.pooled["h2"] = pool.PooledNo
	e, _ := testEngine(testEnv(t, 3, nil), f)
	// h2 was depooled by the crashed rollout: abort repools what it restores.
	held := map[string]pool.Prior{"h2": {Host: "h2", Changed: true, Before: pool.State{Pooled: pool.PooledYes, Weight: 10}}}
	res, err := e.Restore(context.Background(), RestoreOptions{Held: held, LastGood: good}, hosts(3))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Changed, []string{"h2"}) || f.running["h2"] != good || f.pooled["h2"] != pool.PooledYes {
		t.Errorf("changed %v; h2 running %s pooled %s", res.Changed, f.running["h2"], f.pooled["h2"])
	}
}

// The schema guard's refusal: the failed host is left depooled and named,
// and nothing returns to the old code.
func TestNoRollbackLeavesFailedHostDepooled(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.onStep = func(host, action string) {
		if host == "h2" && action == "depool" {
			f.mu.Lock()
			f.failCheck[next] = true
			f.mu.Unlock()
		}
	}
	e, _ := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good, Guard: refuse})
	if !errors.Is(err, ErrRollbackFailed) || !strings.Contains(err.Error(), "commit a change raising SCHEMA") {
		t.Fatalf("err = %v", err)
	}
	if !reflect.DeepEqual(res.LeftDepooled, []string{"h2"}) || f.pooled["h2"] != pool.PooledNo {
		t.Errorf("left depooled %v, h2 pooled %s", res.LeftDepooled, f.pooled["h2"])
	}
	if f.running["h1"] != next || f.current["h1"] != next {
		t.Errorf("h1 went back to old code: running %s", f.running["h1"])
	}
}

func TestHooksFailingBeforeRolloutChangesNothing(t *testing.T) {
	f := newFleet(hosts(2), good)
	e, _ := testEngine(testEnv(t, 2, func(env *inventory.Env) {
		env.Hooks.BeforeRollout = []inventory.Hook{{Name: "migrate", Argv: []string{"sh", "-c", "test \"$DEPLOYCTL_REV\" = 2222222222222222222222222222222222222222 && exit 7"}}}
	}), f)
	_, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good})
	if err == nil || !strings.Contains(err.Error(), "hook migrate") || len(f.log) != 0 {
		t.Fatalf("err %v, log %v", err, f.log)
	}
}

// Canary checks run once after the first group, with each canary host's
// baseline from before its stop (log checks need it).
func TestCanaryChecksGetTheHostsBaseline(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.canary = true
	e, _ := testEngine(testEnv(t, 3, nil), f)
	if _, err := e.Rollout(context.Background(), context.Background(), Options{Rev: next, LastGood: good}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.canarySaw, map[string]bool{"h1": true}) {
		t.Errorf("canary checks: %v, want h1 with its baseline", f.canarySaw)
	}
}

// refuse is a schema guard that refuses every return to an older rev.
func refuse(_ context.Context, rev string) error {
	return errors.New("rollback refused by the schema guard: commit a change raising SCHEMA")
}
