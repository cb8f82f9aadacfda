package deploy

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/pool"
)

const other = "3333333333333333333333333333333333333333"

// failOn makes the depooled checks fail for rev only on the named hosts.
func failOn(f *fakeFleet, rev string, bad ...string) {
	f.onStep = func(host, action string) {
		if action != "depool" {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.failCheck[rev] = slices.Contains(bad, host)
	}
}

// The failure paths of a rollout: each case says what every host must end
// on, and whether it is pooled. No case may stop a pooled host (checked
// for every test by testEngine).
func TestFailurePaths(t *testing.T) {
	type end struct {
		running string
		pooled  pool.Pooled
	}
	for _, tc := range []struct {
		name    string
		n       int
		env     func(*inventory.Env)
		setup   func(*fakeFleet)
		opts    Options
		wantErr error
		want    map[string]end
		left    []string // LeftDepooled
		notBack []string // NotReturned
		step    string   // FailedStep, when the case names one
		refused []string // Refused; with nothing left depooled, the result is Settled
	}{
		{
			name:  "initial, host 2 of 3 fails: h2 and h1 depooled, stopped, named; h3 untouched",
			n:     3,
			setup: func(f *fakeFleet) { setAll(f, ""); failOn(f, next, "h2") },
			opts:  Options{Rev: next, Initial: true}, wantErr: ErrRollbackFailed,
			want: map[string]end{"h1": {"", pool.PooledNo}, "h2": {"", pool.PooledNo}, "h3": {"", pool.PooledYes}},
			left: []string{"h1", "h2"}, notBack: []string{"h2", "h1"},
		},
		{
			name:  "mixed fleet: each host returns to what it ran",
			n:     3,
			setup: func(f *fakeFleet) { f.current["h2"], f.running["h2"] = other, other; failOn(f, next, "h3") },
			opts:  Options{Rev: next}, wantErr: ErrRolledBack,
			want: map[string]end{"h1": {good, pool.PooledYes}, "h2": {other, pool.PooledYes}, "h3": {good, pool.PooledYes}},
		},
		{
			name: "batch of 2, both fail: both return",
			n:    5,
			env: func(env *inventory.Env) {
				env.Rollout.BatchSize = inventory.BatchSize{{N: 2}}
			},
			setup: func(f *fakeFleet) { failOn(f, next, "h2", "h3") },
			opts:  Options{Rev: next, LastGood: good}, wantErr: ErrRolledBack,
			want: map[string]end{"h1": {good, pool.PooledYes}, "h2": {good, pool.PooledYes}, "h3": {good, pool.PooledYes}, "h4": {good, pool.PooledYes}},
		},
		{
			name: "schema guard, batch of 2, both fail: both stay depooled on the new code",
			n:    5,
			env: func(env *inventory.Env) {
				env.Rollout.BatchSize = inventory.BatchSize{{N: 2}}
			},
			setup: func(f *fakeFleet) { failOn(f, next, "h2", "h3") },
			opts:  Options{Rev: next, LastGood: good, Guard: refuse}, wantErr: ErrRollbackFailed,
			want: map[string]end{"h1": {next, pool.PooledYes}, "h2": {next, pool.PooledNo}, "h3": {next, pool.PooledNo}, "h4": {good, pool.PooledYes}},
			left: []string{"h2", "h3"}, notBack: []string{"h2", "h3", "h1"}, refused: []string{"h2", "h3", "h1"},
		},
		{
			name: "schema guard with failure_limit: the tolerated host is not returned to old code",
			n:    4,
			env:  func(env *inventory.Env) { env.Rollout.FailureLimit = 1 },
			setup: func(f *fakeFleet) {
				failOn(f, next, "h2")
			},
			opts: Options{Rev: next, LastGood: good, Guard: refuse}, wantErr: ErrRollbackFailed,
			want: map[string]end{"h1": {next, pool.PooledYes}, "h2": {next, pool.PooledNo}, "h3": {next, pool.PooledYes}, "h4": {next, pool.PooledYes}},
			left: []string{"h2"}, notBack: []string{"h2"}, refused: []string{"h2"},
		},
		{
			name:  "schema guard, h2 fails before its switch: h2 starts its old code again, h1 stays on the new, the fleet is whole",
			n:     3,
			setup: func(f *fakeFleet) { f.failAct["h2"] = next },
			opts:  Options{Rev: next, LastGood: good, Guard: refuse}, wantErr: ErrRollbackFailed,
			want:    map[string]end{"h1": {next, pool.PooledYes}, "h2": {good, pool.PooledYes}, "h3": {good, pool.PooledYes}},
			notBack: []string{"h1"}, refused: []string{"h1"},
		},
		{
			name:  "a manual depool stays out through the rollback",
			n:     3,
			setup: func(f *fakeFleet) { f.pooled["h2"] = pool.PooledNo; failOn(f, next, "h3") },
			opts:  Options{Rev: next, LastGood: good}, wantErr: ErrRolledBack,
			want: map[string]end{"h1": {good, pool.PooledYes}, "h2": {good, pool.PooledNo}, "h3": {good, pool.PooledYes}},
		},
		{
			name: "a host that cannot go back is named and left depooled",
			n:    3,
			setup: func(f *fakeFleet) {
				f.failAct["h1"] = good
				failOn(f, next, "h3")
			},
			opts: Options{Rev: next, LastGood: good}, wantErr: ErrRollbackFailed,
			want: map[string]end{"h1": {"", pool.PooledNo}, "h2": {good, pool.PooledYes}, "h3": {good, pool.PooledYes}},
			left: []string{"h1"}, notBack: []string{"h1"},
		},
		{
			name: "a panic in a check: rolled back, exit as a failure",
			n:    3,
			setup: func(f *fakeFleet) {
				f.onStep = func(host, action string) {
					if host == "h2" && action == "start" {
						f.mu.Lock()
						f.panicCheck["h2"] = true
						f.mu.Unlock()
					}
				}
			},
			opts: Options{Rev: next, LastGood: good}, wantErr: ErrPanic,
			want: map[string]end{"h1": {good, pool.PooledYes}, "h2": {good, pool.PooledNo}, "h3": {good, pool.PooledYes}},
			// h2's checks panic on every run: it cannot come back.
			left: []string{"h2"}, notBack: []string{"h2"},
		},
		{
			name: "a panic in a check of a batch host: named at its step, the batch rolled back",
			n:    4,
			env:  func(env *inventory.Env) { env.Rollout.BatchSize = inventory.BatchSize{{N: 2}} },
			setup: func(f *fakeFleet) {
				f.onStep = func(host, action string) {
					if host == "h3" && action == "start" {
						f.mu.Lock()
						f.panicCheck["h3"] = true
						f.mu.Unlock()
					}
				}
			},
			opts: Options{Rev: next, LastGood: good}, wantErr: ErrPanic,
			want: map[string]end{"h1": {good, pool.PooledYes}, "h2": {good, pool.PooledYes}, "h3": {good, pool.PooledNo}, "h4": {good, pool.PooledYes}},
			left: []string{"h3"}, notBack: []string{"h3"}, step: "checks:depooled",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(hosts(tc.n), good)
			if tc.setup != nil {
				tc.setup(f)
			}
			e, _ := testEngine(testEnv(t, tc.n, tc.env), f)
			res, err := e.Rollout(context.Background(), context.Background(), tc.opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			for h, w := range tc.want {
				if f.running[h] != w.running || f.pooled[h] != w.pooled {
					t.Errorf("%s: running %q pooled %s, want %q %s", h, gitsrc.Short(f.running[h]), f.pooled[h], gitsrc.Short(w.running), w.pooled)
				}
			}
			if !slices.Equal(res.Refused, tc.refused) {
				t.Errorf("refused %v, want %v", res.Refused, tc.refused)
			}
			if settled := len(tc.left) == 0 && len(tc.notBack) == len(tc.refused); errors.Is(tc.wantErr, ErrRollbackFailed) && res.Settled() != settled {
				t.Errorf("settled %v, want %v", res.Settled(), settled)
			}
			if tc.step != "" && res.FailedStep != tc.step {
				t.Errorf("failed step %q, want %q", res.FailedStep, tc.step)
			}
			if !reflect.DeepEqual(res.LeftDepooled, tc.left) {
				t.Errorf("left depooled %v, want %v", res.LeftDepooled, tc.left)
			}
			if !reflect.DeepEqual(res.NotReturned, tc.notBack) {
				t.Errorf("not returned %v, want %v", res.NotReturned, tc.notBack)
			}
			// What the result says each host ended on is what it runs.
			for h, rev := range res.Ended {
				if f.running[h] != rev {
					t.Errorf("result says %s ended on %q, it runs %q", h, gitsrc.Short(rev), gitsrc.Short(f.running[h]))
				}
			}
			// Everything out of the pool because of this rollout is reported.
			for h, p := range f.pooled {
				if p != pool.PooledYes && tc.want[h].pooled == pool.PooledNo && !slices.Contains(res.LeftDepooled, h) && !slices.Contains(res.LeftAlone, h) && h != "h2" {
					t.Errorf("%s is out of the pool but not reported", h)
				}
			}
		})
	}
}

func setAll(f *fakeFleet, rev string) {
	for h := range f.current {
		f.current[h], f.running[h] = rev, rev
	}
}

// A repool that fails for a host never stopped is reported: the host is
// out of the pool, so the rollout did not roll back cleanly.
func TestFailedRepoolOfUntouchedHostIsReported(t *testing.T) {
	f := newFleet(hosts(3), good)
	ctx, cancel := context.WithCancelCause(context.Background())
	f.onStep = func(host, action string) {
		if host == "h2" && action == "depool" {
			f.mu.Lock()
			f.failRepool["h2"] = true
			f.mu.Unlock()
			cancel(errors.New("aborted by ops"))
		}
	}
	e, _ := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(ctx, context.Background(), Options{Rev: next, LastGood: good})
	if !errors.Is(err, ErrRollbackFailed) {
		t.Fatalf("err = %v, want ErrRollbackFailed", err)
	}
	if !slices.Equal(res.LeftDepooled, []string{"h2"}) || f.pooled["h2"] != pool.PooledNo || f.running["h2"] != good {
		t.Errorf("left depooled %v; h2 pooled %s running %s", res.LeftDepooled, f.pooled["h2"], gitsrc.Short(f.running["h2"]))
	}
}

// Cancellation during a depool lets the depool finish (it is a step), then
// stops at the boundary: the host is repooled as it was, never stopped.
func TestCancelDuringDepoolFinishesTheStep(t *testing.T) {
	f := newFleet(hosts(3), good)
	ctx, cancel := context.WithCancelCause(context.Background())
	f.onStep = func(host, action string) {
		if host == "h2" && action == "depool" {
			cancel(errors.New("SIGTERM"))
		}
	}
	e, events := testEngine(testEnv(t, 3, nil), f)
	res, err := e.Rollout(ctx, context.Background(), Options{Rev: next, LastGood: good})
	if !errors.Is(err, ErrRolledBack) || !strings.Contains(res.Reason, "SIGTERM") {
		t.Fatalf("err = %v, reason %q", err, res.Reason)
	}
	if got := f.actions("h2"); !slices.Equal(got, []string{"depool", "repool"}) {
		t.Errorf("h2 actions %v, want depool, repool", got)
	}
	var depoolOK bool
	for _, ev := range *events {
		depoolOK = depoolOK || ev.Host == "h2" && ev.Step == "depool" && ev.Status == StatusOK
	}
	if !depoolOK {
		t.Error("h2's depool step did not finish")
	}
}

// Abort after a crash: each host returns to its own restore point; a
// manual depool stays out; the guard is asked for every rev involved.
func TestRestoreUsesRestorePointsAndGuard(t *testing.T) {
	f := newFleet(hosts(3), next)
	f.pooled["h3"] = pool.PooledNo // an operator's depool
	e, _ := testEngine(testEnv(t, 3, nil), f)
	held := map[string]pool.Prior{"h1": {Host: "h1", Changed: true, Before: pool.State{Pooled: pool.PooledYes, Weight: 10}}}
	f.pooled["h1"] = pool.PooledNo
	var asked []string
	guard := func(_ context.Context, rev string) error {
		asked = append(asked, rev)
		return nil
	}
	res, err := e.Restore(context.Background(), RestoreOptions{Held: held, LastGood: good, Guard: guard,
		Points: map[string]RestorePoint{"h1": {Rev: good}, "h2": {Rev: other}, "h3": {Rev: good}}}, hosts(3))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"h1": good, "h2": other, "h3": good}
	for h, rev := range want {
		if f.running[h] != rev {
			t.Errorf("%s runs %s, want %s", h, gitsrc.Short(f.running[h]), gitsrc.Short(rev))
		}
	}
	if f.pooled["h1"] != pool.PooledYes || f.pooled["h2"] != pool.PooledYes || f.pooled["h3"] != pool.PooledNo {
		t.Errorf("pooled %v", f.pooled)
	}
	if !slices.Equal(res.LeftAlone, []string{"h3"}) {
		t.Errorf("left alone %v", res.LeftAlone)
	}
	if len(asked) != 3 {
		t.Errorf("guard asked for %v, want every host's rev", asked)
	}
	// A refusing guard: nothing returns to old code.
	f2 := newFleet(hosts(2), next)
	e2, _ := testEngine(testEnv(t, 2, nil), f2)
	_, err = e2.Restore(context.Background(), RestoreOptions{LastGood: good, Guard: refuse}, hosts(2))
	if !errors.Is(err, ErrRollbackFailed) || f2.running["h1"] != next {
		t.Errorf("err %v, h1 runs %s", err, gitsrc.Short(f2.running["h1"]))
	}
}

// Abort after a crash with a refusing guard (a raised schema): h1, on the
// new code, stays there and the result says so; h2, depooled and stopped
// by the crash before its switch, never left its restore point, so it
// starts again and is repooled; h3 is untouched.
func TestRestoreRefusedReportsWhatRuns(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.current["h1"], f.running["h1"] = next, next
	f.pooled["h2"], f.running["h2"] = pool.PooledNo, ""
	e, _ := testEngine(testEnv(t, 3, nil), f)
	held := map[string]pool.Prior{"h2": {Host: "h2", Changed: true, Before: pool.State{Pooled: pool.PooledYes, Weight: 10}}}
	var asked []string
	guard := func(ctx context.Context, rev string) error {
		asked = append(asked, rev)
		return refuse(ctx, rev)
	}
	res, err := e.Restore(context.Background(), RestoreOptions{Held: held, LastGood: good, Guard: guard,
		Points: map[string]RestorePoint{"h1": {Rev: good}, "h2": {Rev: good}, "h3": {Rev: good}}}, hosts(3))
	if !errors.Is(err, ErrRollbackFailed) {
		t.Fatalf("err = %v, want %v", err, ErrRollbackFailed)
	}
	if f.running["h1"] != next || f.pooled["h1"] != pool.PooledYes {
		t.Errorf("h1 runs %q pooled %s, want kept on the new code, pooled", gitsrc.Short(f.running["h1"]), f.pooled["h1"])
	}
	if f.running["h2"] != good || f.pooled["h2"] != pool.PooledYes {
		t.Errorf("h2 runs %q pooled %s, want its old code back, pooled", gitsrc.Short(f.running["h2"]), f.pooled["h2"])
	}
	if res.Ended["h1"] != next || res.Ended["h2"] != good {
		t.Errorf("result says h1 ended on %q, h2 on %q; want %s, %s", gitsrc.Short(res.Ended["h1"]), gitsrc.Short(res.Ended["h2"]), gitsrc.Short(next), gitsrc.Short(good))
	}
	if !slices.Equal(res.NotReturned, []string{"h1"}) || len(res.LeftDepooled) != 0 {
		t.Errorf("not returned %v, left depooled %v; want [h1], []", res.NotReturned, res.LeftDepooled)
	}
	if !slices.Equal(asked, []string{good}) {
		t.Errorf("guard asked for %v, want only h1's return", asked)
	}
	if !slices.Equal(res.Refused, []string{"h1"}) || !res.Settled() {
		t.Errorf("refused %v, settled %v; want [h1], settled (every host serving)", res.Refused, res.Settled())
	}
}

func TestPreflightBoundGrowsWithTheFleet(t *testing.T) {
	for _, tc := range []struct {
		n, parallel int
		want        time.Duration
	}{
		{3, 10, preflightHostTimeout},
		{10, 10, preflightHostTimeout},
		{11, 10, 2 * preflightHostTimeout},
		{1000, 10, 100 * preflightHostTimeout},
		{5, 0, preflightHostTimeout},
	} {
		if got := preflightBound(tc.n, tc.parallel); got != tc.want {
			t.Errorf("preflightBound(%d, %d) = %s, want %s", tc.n, tc.parallel, got, tc.want)
		}
	}
}

// Abort after a crash that came after h2's switch but before its start:
// the record says only h1 started the new code, so h2 goes back to its old
// code whatever the schema guard, while h1 is kept on the new code.
func TestRestoreAfterASwitchThatNeverStarted(t *testing.T) {
	f := newFleet(hosts(3), good)
	f.current["h1"], f.running["h1"] = next, next
	f.current["h2"], f.running["h2"], f.pooled["h2"] = next, "", pool.PooledNo
	e, _ := testEngine(testEnv(t, 3, nil), f)
	held := map[string]pool.Prior{"h2": {Host: "h2", Changed: true, Before: pool.State{Pooled: pool.PooledYes, Weight: 10}}}
	res, err := e.Restore(context.Background(), RestoreOptions{LastGood: good, Guard: refuse, Held: held, Recorded: true, RanNew: []string{"h1"},
		Points: map[string]RestorePoint{"h1": {Rev: good}, "h2": {Rev: good}, "h3": {Rev: good}}}, hosts(3))
	if !errors.Is(err, ErrRollbackFailed) || !slices.Equal(res.Refused, []string{"h1"}) || !res.Settled() {
		t.Fatalf("err %v, refused %v, settled %v; want h1 refused, the fleet settled", err, res.Refused, res.Settled())
	}
	if f.running["h2"] != good || f.pooled["h2"] != pool.PooledYes || f.running["h1"] != next {
		t.Errorf("h1 runs %s, h2 runs %q pooled %s; want h1 kept on the new code, h2 back on its old code and pooled",
			gitsrc.Short(f.running["h1"]), gitsrc.Short(f.running["h2"]), f.pooled["h2"])
	}
}
