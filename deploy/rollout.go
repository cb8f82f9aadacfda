package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/pkg/pool"
)

var errProgressDeadline = errors.New("progress_deadline passed")

// Rollout runs the phases after lock and resolve: preflight, stage,
// promote (with rollback on failure) and the prune of finalize. ctx is the
// work context: cancelling it (abort, SIGINT, SIGTERM) stops new work at the
// next step boundary and rolls back. rbctx bounds the rollback itself: a
// second interrupt cancels it, and the rollout returns ErrInterrupted.
//
// Recording last good and history is the caller's (it owns the state
// store); Result says what to record.
func (e *Engine) Rollout(ctx, rbctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	res := &Result{Ref: o.Ref, Rev: o.Rev, LastGood: o.LastGood}
	defer func() { res.Duration = time.Since(start) }()
	e.mu.Lock()
	e.priors = map[string]pool.Prior{}
	e.touched = nil
	e.baselines = nil
	e.opts = o
	e.mu.Unlock()
	ctx, cancel := context.WithTimeoutCause(ctx, e.Env.Rollout.ProgressDeadline, errProgressDeadline)
	defer cancel()

	currents, err := e.preflight(ctx, true)
	if err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, err
	}
	if res.LastGood == "" {
		res.LastGood = adoptLastGood(currents)
		if res.LastGood != "" {
			e.emit(Event{Type: EventInfo, Phase: PhaseLastGood, Rev: res.LastGood, Message: "no last good recorded: every host runs " + short(res.LastGood) + ", taken as last good"})
		} else if !o.Initial {
			err := fmt.Errorf("%w: the hosts run different revs or none (%s); the first rollout of an environment needs --initial (a host that fails is then stopped and left depooled)", ErrNoLastGood, describeCurrents(currents))
			res.Outcome, res.Reason = OutcomeFailed, err.Error()
			return res, err
		}
	}
	revs := []string{o.Rev}
	if res.LastGood != "" && res.LastGood != o.Rev {
		revs = append(revs, res.LastGood) // rollback must not need a transfer
	}
	if err := e.stage(ctx, revs...); err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, err
	}
	if err := e.shipConfigs(ctx); err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, err
	}

	if err := e.runHooks(ctx, "before_rollout", e.Env.Hooks.BeforeRollout, e.facts("", o.Rev)); err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, fmt.Errorf("nothing changed: %w", err)
	}

	e.emit(Event{Type: EventPhase, Phase: "promote", Status: StatusStart, Rev: o.Rev})
	err = e.promote(ctx, o, res)
	if err == nil {
		if herr := e.runHooks(rbctx, "after_rollout", e.Env.Hooks.AfterRollout, e.facts("", o.Rev)); herr != nil {
			e.emit(Event{Type: EventInfo, Phase: "finalize", Status: StatusFail, Error: herr.Error(), Message: "after_rollout hook failed; the rollout itself is done"})
		}
		e.prune(rbctx, o.Rev, res.LastGood)
		res.Outcome = OutcomeDone
		if len(res.Tolerated) > 0 || len(res.LeftDepooled) > 0 {
			res.Outcome = OutcomeRolledBack
			if len(res.LeftDepooled) > 0 {
				res.Outcome = OutcomeRollbackFailed
				return res, fmt.Errorf("%w: left depooled: %v", ErrRollbackFailed, res.LeftDepooled)
			}
			return res, fmt.Errorf("%w: %d hosts failed within failure_limit and are back on %s: %v", ErrRolledBack, len(res.Tolerated), short(res.LastGood), res.Tolerated)
		}
		return res, nil
	}
	res, err = e.rollbackAll(ctx, rbctx, res, err)
	f := e.facts(res.FailedHost, o.Rev)
	f.Result = string(res.Outcome)
	if herr := e.runHooks(rbctx, "on_failure", e.Env.Hooks.OnFailure, f); herr != nil {
		e.emit(Event{Type: EventInfo, Phase: "rollback", Status: StatusFail, Error: herr.Error()})
	}
	return res, err
}

// promote runs the groups in order, batch by batch, with the canary wait
// and canary checks after the first group.
func (e *Engine) promote(ctx context.Context, o Options, res *Result) error {
	groups := e.Env.OrderedGroups()
	failures := 0
	for gi, g := range groups {
		for bi, hosts := range e.Env.Rollout.BatchSize.Batches(g.Hosts) {
			e.emit(Event{Type: EventBatch, Status: StatusStart, Message: fmt.Sprintf("group %s batch %d: %v", g.Name, bi+1, hosts)})
			if err := ctx.Err(); err != nil {
				return &hostError{Host: hosts[0], Step: StepDepool, Err: context.Cause(ctx)}
			}
			if err := e.Pool.Budget(ctx, hosts); err != nil {
				return &hostError{Host: hosts[0], Step: StepDepool, Err: err}
			}
			failed := e.runBatch(ctx, hosts, o.Rev, res)
			if len(failed) == 0 {
				continue
			}
			failures += len(failed)
			if ctx.Err() != nil || failures > e.Env.Rollout.FailureLimit {
				return failed[0]
			}
			// Within failure_limit: return just these hosts and go on.
			for _, he := range failed {
				e.emit(Event{Type: EventInfo, Host: he.Host, Message: fmt.Sprintf("failure %d of failure_limit %d: returning %s to last good and going on", failures, e.Env.Rollout.FailureLimit, he.Host), Error: he.Error()})
				res.Tolerated = append(res.Tolerated, he.Host)
				if err := e.restoreHost(ctx, he.Host, res.LastGood); err != nil {
					res.LeftDepooled = append(res.LeftDepooled, he.Host)
				}
			}
		}
		if gi == 0 && len(groups) > 1 {
			if err := e.canary(ctx, g.Hosts); err != nil {
				return err
			}
		}
	}
	return nil
}

// runBatch runs the pipeline on the hosts of one batch at the same time.
func (e *Engine) runBatch(ctx context.Context, hosts []string, rev string, res *Result) []*hostError {
	var (
		mu     sync.Mutex
		failed []*hostError
		wg     sync.WaitGroup
	)
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			e.emit(Event{Type: EventHost, Host: h, Status: StatusStart, Rev: rev})
			err := e.runHost(ctx, h, rev, false)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var he *hostError
				if !errors.As(err, &he) {
					he = &hostError{Host: h, Step: StepDepool, Err: err}
				}
				failed = append(failed, he)
				e.emit(Event{Type: EventHost, Host: h, Status: StatusFail, Rev: rev, Elapsed: time.Since(start), Step: he.Step.String(), Error: he.Err.Error()})
				return
			}
			res.Done = append(res.Done, h)
			if p, held := e.takePrior(h); held && p.LeftAlone() {
				res.LeftAlone = append(res.LeftAlone, h)
			}
			e.emit(Event{Type: EventHost, Host: h, Status: StatusOK, Rev: rev, Elapsed: time.Since(start)})
		}()
	}
	wg.Wait()
	res.Changed = e.touchedHosts()
	// Report in batch order, so the first failure named is stable.
	slices.SortFunc(failed, func(a, b *hostError) int { return slices.Index(hosts, a.Host) - slices.Index(hosts, b.Host) })
	return failed
}

// canary waits canary_wait after the first group, then runs the canary
// checks on its hosts.
func (e *Engine) canary(ctx context.Context, hosts []string) error {
	if w := e.Env.Rollout.CanaryWait; w > 0 {
		e.emit(Event{Type: EventPhase, Phase: "canary", Status: StatusStart, Message: "waiting canary_wait " + w.String()})
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return &hostError{Host: hosts[0], Step: StepChecksPooled, Err: context.Cause(ctx)}
		case <-t.C:
		}
	}
	if !e.Checks.Has(checks.StageCanary) {
		return nil
	}
	for _, h := range hosts {
		r, err := e.Hosts.Runner(ctx, h)
		if err != nil {
			return &hostError{Host: h, Step: StepChecksPooled, Err: err}
		}
		if _, err := e.runChecks(ctx, checks.StageCanary, h, r, e.baseline(h)); err != nil {
			return &hostError{Host: h, Step: StepChecksPooled, Err: fmt.Errorf("canary checks: %w", err)}
		}
	}
	e.emit(Event{Type: EventPhase, Phase: "canary", Status: StatusOK})
	return nil
}

func adoptLastGood(currents map[string]string) string {
	rev := ""
	for _, c := range currents {
		if c == "" || (rev != "" && c != rev) {
			return ""
		}
		rev = c
	}
	return rev
}

func describeCurrents(currents map[string]string) string {
	hosts := make([]string, 0, len(currents))
	for h := range currents {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	out := ""
	for i, h := range hosts {
		if i > 0 {
			out += ", "
		}
		c := currents[h]
		if c == "" {
			c = "none"
		}
		out += h + "=" + short(c)
	}
	return out
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
