package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// rollbackAll returns the failed host, then every other changed host in
// reverse order, to last good, through the same pipeline. A host whose
// return fails stays depooled and is named.
func (e *Engine) rollbackAll(ctx, rbctx context.Context, res *Result, cause error) (*Result, error) {
	var he *hostError
	if errors.As(cause, &he) {
		res.FailedHost, res.FailedStep = he.Host, he.Step.String()
		res.Reason = he.Err.Error()
	} else {
		res.Reason = cause.Error()
	}
	if ctx.Err() != nil {
		res.Reason = fmt.Sprintf("%s (%v)", res.Reason, context.Cause(ctx))
	}
	changed := e.touchedHosts()
	res.Changed = changed
	// The failed host first, then the rest, most recent first.
	order := []string{}
	if res.FailedHost != "" && slices.Contains(changed, res.FailedHost) {
		order = append(order, res.FailedHost)
	}
	for i := len(changed) - 1; i >= 0; i-- {
		if !slices.Contains(order, changed[i]) {
			order = append(order, changed[i])
		}
	}
	// Hosts depooled but never stopped go back into the pool as they were.
	e.repoolUntouched(rbctx, changed)
	if why := e.opts.NoRollback; why != "" && len(order) > 0 {
		// The schema guard: the old code cannot run on the new schema. The
		// failed host stays out; the others keep serving the new rev.
		res.LeftDepooled = []string{order[0]}
		res.Outcome = OutcomeRollbackFailed
		if _, held := e.takePrior(order[0]); !held {
			if p, err := e.Pool.Depool(rbctx, order[0]); err == nil {
				e.setPrior(order[0], p)
			}
		}
		e.emit(Event{Type: EventPhase, Phase: "rollback", Status: StatusFail, Message: why})
		return res, fmt.Errorf("%w: %s failed at %s (%s); %s; %s is left depooled", ErrRollbackFailed, res.FailedHost, res.FailedStep, res.Reason, why, order[0])
	}

	e.emit(Event{Type: EventPhase, Phase: "rollback", Status: StatusStart, Rev: res.LastGood, Message: fmt.Sprintf("%s failed at %s: returning %v to %s", res.FailedHost, res.FailedStep, order, short(res.LastGood))})
	for _, h := range order {
		if err := rbctx.Err(); err != nil {
			res.Outcome = OutcomeInterrupted
			res.LeftDepooled = append(res.LeftDepooled, remaining(order, h)...)
			return res, fmt.Errorf("%w: rollback stopped before %s; still to return: %v", ErrInterrupted, h, remaining(order, h))
		}
		if err := e.restoreHost(rbctx, h, res.LastGood); err != nil {
			res.LeftDepooled = append(res.LeftDepooled, h)
			e.emit(Event{Type: EventHost, Phase: "rollback", Host: h, Status: StatusFail, Error: err.Error(), Message: "left depooled: needs a person"})
		}
	}
	if rbctx.Err() != nil && len(res.LeftDepooled) > 0 {
		res.Outcome = OutcomeInterrupted
		return res, fmt.Errorf("%w: rollback interrupted; not back on last good: %v", ErrInterrupted, res.LeftDepooled)
	}
	if len(res.LeftDepooled) > 0 {
		res.Outcome = OutcomeRollbackFailed
		e.emit(Event{Type: EventPhase, Phase: "rollback", Status: StatusFail, Message: fmt.Sprintf("left depooled: %v", res.LeftDepooled)})
		return res, fmt.Errorf("%w: %s failed at %s (%s); these hosts could not return to %s and are left depooled: %v", ErrRollbackFailed, res.FailedHost, res.FailedStep, res.Reason, short(res.LastGood), res.LeftDepooled)
	}
	res.Outcome = OutcomeRolledBack
	e.emit(Event{Type: EventPhase, Phase: "rollback", Status: StatusOK, Rev: res.LastGood})
	return res, fmt.Errorf("%w: %s failed at %s: %s; every changed host (%d) is back on %s", ErrRolledBack, res.FailedHost, res.FailedStep, res.Reason, len(order), short(res.LastGood))
}

func remaining(order []string, from string) []string {
	i := slices.Index(order, from)
	if i < 0 {
		return nil
	}
	return slices.Clone(order[i:])
}

// repoolUntouched puts back hosts this rollout depooled but never stopped
// (a batch cancelled between depool and stop).
func (e *Engine) repoolUntouched(ctx context.Context, touched []string) {
	e.mu.Lock()
	var hosts []string
	for h := range e.priors {
		if !slices.Contains(touched, h) {
			hosts = append(hosts, h)
		}
	}
	e.mu.Unlock()
	for _, h := range hosts {
		p, _ := e.takePrior(h)
		if err := e.Pool.Repool(ctx, h, p); err != nil {
			e.emit(Event{Type: EventStep, Phase: "rollback", Host: h, Step: StepRepool.String(), Status: StatusFail, Error: err.Error()})
			continue
		}
		e.clearPrior(h)
		e.emit(Event{Type: EventStep, Phase: "rollback", Host: h, Step: StepRepool.String(), Status: StatusOK, Message: "never stopped: repooled as it was"})
	}
}

// restoreHost returns one host to lastGood through the pipeline. With no
// last good (an --initial rollout) the host is stopped and left depooled.
func (e *Engine) restoreHost(ctx context.Context, host, lastGood string) error {
	start := time.Now()
	e.emit(Event{Type: EventHost, Phase: "rollback", Host: host, Status: StatusStart, Rev: lastGood})
	err := e.restore(ctx, host, lastGood)
	ev := Event{Type: EventHost, Phase: "rollback", Host: host, Status: StatusOK, Rev: lastGood, Elapsed: time.Since(start)}
	if err != nil {
		ev.Status, ev.Error = StatusFail, err.Error()
	}
	e.emit(ev)
	return err
}

func (e *Engine) restore(ctx context.Context, host, lastGood string) error {
	if lastGood == "" {
		r, err := e.Hosts.Runner(ctx, host)
		if err != nil {
			return err
		}
		if _, err := e.service(ctx, r, host, "", "stop", e.Env.Service.StopTimeout); err != nil {
			return fmt.Errorf("stop: %w", err)
		}
		return fmt.Errorf("%w: %s stopped and left depooled", ErrNoLastGood, host)
	}
	if _, held := e.takePrior(host); !held {
		if err := e.Pool.Budget(ctx, []string{host}); err != nil {
			return &hostError{Host: host, Step: StepDepool, Err: err}
		}
	}
	return e.runHost(ctx, host, lastGood, true)
}

// Restore returns every host of hosts that is not on lastGood to it, and
// every host a crashed rollout left depooled (see Hold): the work of
// `deployctl abort` when no process holds the rollout any more.
func (e *Engine) Restore(ctx context.Context, lastGood string, lastGoodConfigs map[string]string, hosts []string) (*Result, error) {
	start := time.Now()
	e.opts = Options{Rev: lastGood, LastGood: lastGood, LastGoodConfigs: lastGoodConfigs}
	res := &Result{Rev: lastGood, LastGood: lastGood}
	defer func() { res.Duration = time.Since(start) }()
	if lastGood == "" {
		return res, fmt.Errorf("%w: nothing to restore", ErrNoLastGood)
	}
	currents, err := e.preflight(ctx, false)
	if err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, err
	}
	if err := e.stage(ctx, lastGood); err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return res, err
	}
	// Hosts the crashed rollout left depooled go first: repooling them
	// gives the depool budget back for the others.
	hosts = slices.Clone(hosts)
	slices.SortStableFunc(hosts, func(a, b string) int {
		_, ha := e.takePrior(a)
		_, hb := e.takePrior(b)
		switch {
		case ha && !hb:
			return -1
		case hb && !ha:
			return 1
		}
		return 0
	})
	for _, h := range hosts {
		if _, held := e.takePrior(h); currents[h] == lastGood && !held {
			continue // on last good and in the pool as it was
		}
		res.Changed = append(res.Changed, h)
		if err := e.restoreHost(ctx, h, lastGood); err != nil {
			res.LeftDepooled = append(res.LeftDepooled, h)
		}
	}
	if len(res.LeftDepooled) > 0 {
		res.Outcome = OutcomeRollbackFailed
		return res, fmt.Errorf("%w: could not return to %s: %v", ErrRollbackFailed, short(lastGood), res.LeftDepooled)
	}
	res.Outcome = OutcomeDone
	return res, nil
}
