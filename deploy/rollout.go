package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/pkg/gitsrc"
)

var errProgressDeadline = errors.New("progress_deadline passed")

// Rollout runs the phases after lock and resolve: preflight, stage,
// promote (with rollback on failure) and the prune of finalize. ctx is the
// work context: cancelling it (abort, SIGINT, SIGTERM) stops new work at the
// next step boundary and rolls back. rbctx bounds the rollback itself: a
// second interrupt cancels it, and the rollout returns ErrInterrupted.
//
// Recording state and history is the Deployer's; Rollout alone records
// nothing (tests, benchmarks).
func (e *Engine) Rollout(ctx, rbctx context.Context, o Options) (*Result, error) {
	return e.newRun(o, nil).rollout(ctx, rbctx)
}

// rollout is Rollout for one run.
func (e *run) rollout(ctx, rbctx context.Context) (res *Result, err error) {
	o := e.opts
	start := time.Now()
	res = &Result{Ref: o.Ref, Rev: o.Rev, LastGood: o.LastGood}
	defer func() { res.Duration = time.Since(start) }()
	ctx, cancel := context.WithTimeoutCause(ctx, e.Env.Rollout.ProgressDeadline, errProgressDeadline)
	defer cancel()

	points, err := e.preflight(ctx, true)
	if err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, err
	}
	e.mu.Lock()
	e.points = points
	e.mu.Unlock()
	e.rec.restorePoints(maps.Clone(points))
	if res.LastGood == "" {
		res.LastGood = adoptLastGood(points)
		if res.LastGood != "" {
			e.rec.adopted(res.LastGood)
			e.emit(Event{Type: EventInfo, Phase: PhaseLastGood, Rev: res.LastGood, Message: "no last good recorded: every host runs " + gitsrc.Short(res.LastGood) + ", taken as last good"})
		} else if bare := bareHosts(points); len(bare) > 0 && !o.Initial {
			err := fmt.Errorf("%w: %v run nothing yet (%s); the first rollout of an environment needs --initial (a host that fails and ran nothing is then depooled, stopped and named)", ErrNoLastGood, bare, describeCurrents(points))
			res.Outcome, res.Reason = OutcomeFailed, err.Error()
			return res, err
		}
	}
	// Every host's restore point is live on it already: rollback needs no
	// transfer, so only the new rev is staged.
	if err := e.stage(ctx, o.Rev); err != nil {
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

	e.emit(Event{Type: EventPhase, Phase: PhasePromote, Status: StatusStart, Rev: o.Rev})
	err = e.recovered(func() error { return e.promote(ctx, o, res) })
	if err == nil {
		return e.finishPromote(rbctx, o, res)
	}
	err = e.recovered(func() error {
		var rerr error
		res, rerr = e.rollbackAll(ctx, rbctx, res, err)
		return rerr
	})
	f := e.facts(res.FailedHost, o.Rev)
	f.Result = string(res.Outcome)
	if herr := e.runHooks(rbctx, "on_failure", e.Env.Hooks.OnFailure, f); herr != nil {
		e.emit(Event{Type: EventInfo, Phase: PhaseRollback, Status: StatusFail, Error: herr.Error()})
	}
	if res.Panic = e.panicOf(); res.Panic != "" && !errors.Is(err, ErrPanic) {
		err = fmt.Errorf("%w: %w", ErrPanic, err)
	}
	return res, err
}

// finishPromote ends a promote that ran every batch: hooks, prune, and the
// outcome, which is done only if every host finished on the new rev.
func (e *run) finishPromote(rbctx context.Context, o Options, res *Result) (*Result, error) {
	if herr := e.runHooks(rbctx, "after_rollout", e.Env.Hooks.AfterRollout, e.facts("", o.Rev)); herr != nil {
		e.emit(Event{Type: EventInfo, Phase: PhaseFinalize, Status: StatusFail, Error: herr.Error(), Message: "after_rollout hook failed; the rollout itself is done"})
	}
	res.Changed = e.touchedHosts()
	res.LeftDepooled = e.held()
	res.Ended = e.ended(res.Changed)
	if len(res.Tolerated) == 0 && len(res.LeftDepooled) == 0 {
		e.prune(rbctx, o.Rev, res.LastGood)
		res.Outcome = OutcomeDone
		return res, nil
	}
	if len(res.LeftDepooled) > 0 || len(res.NotReturned) > 0 {
		res.Outcome = OutcomeRollbackFailed
		return res, fmt.Errorf("%w: %d hosts failed within failure_limit; not back on their restore point: %v; left depooled: %v", ErrRollbackFailed, len(res.Tolerated), res.NotReturned, res.LeftDepooled)
	}
	res.Outcome = OutcomeRolledBack
	return res, fmt.Errorf("%w: %d hosts failed within failure_limit and are back on what they ran before: %v", ErrRolledBack, len(res.Tolerated), res.Tolerated)
}

// promote runs the groups in order, batch by batch, with the canary wait
// and canary checks after the first group.
func (e *run) promote(ctx context.Context, o Options, res *Result) error {
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
				be := &batchError{first: failed[0]}
				for _, he := range failed {
					be.failed = append(be.failed, he.Host)
				}
				return be
			}
			// Within failure_limit: return just these hosts and go on.
			for _, he := range failed {
				e.emit(Event{Type: EventInfo, Host: he.Host, Message: fmt.Sprintf("failure %d of failure_limit %d: returning %s to what it ran before and going on", failures, e.Env.Rollout.FailureLimit, he.Host), Error: he.Error()})
				res.Tolerated = append(res.Tolerated, he.Host)
				if err := e.restoreHost(ctx, he.Host, true); err != nil {
					res.NotReturned = append(res.NotReturned, he.Host)
					if errors.Is(err, errRefused) {
						res.Refused = append(res.Refused, he.Host)
					}
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
func (e *run) runBatch(ctx context.Context, hosts []string, rev string, res *Result) []*hostError {
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
			err := e.recovered(func() error { return e.runHost(ctx, h, e.forward(rev)) })
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
func (e *run) canary(ctx context.Context, hosts []string) error {
	if w := e.Env.Rollout.CanaryWait; w > 0 {
		e.emit(Event{Type: EventPhase, Phase: PhaseCanary, Status: StatusStart, Message: "waiting canary_wait " + w.String()})
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
	e.emit(Event{Type: EventPhase, Phase: PhaseCanary, Status: StatusOK})
	return nil
}

func adoptLastGood(points map[string]RestorePoint) string {
	rev := ""
	for _, p := range points {
		if p.Rev == "" || (rev != "" && p.Rev != rev) {
			return ""
		}
		rev = p.Rev
	}
	return rev
}

// bareHosts lists the hosts that run nothing yet, sorted.
func bareHosts(points map[string]RestorePoint) []string {
	var out []string
	for h, p := range points {
		if p.Rev == "" {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

func describeCurrents(points map[string]RestorePoint) string {
	hosts := make([]string, 0, len(points))
	for h := range points {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	out := ""
	for i, h := range hosts {
		if i > 0 {
			out += ", "
		}
		c := points[h].Rev
		if c == "" {
			c = "none"
		}
		out += h + "=" + gitsrc.Short(c)
	}
	return out
}
