package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

// rollbackAll returns the failed hosts, then every other changed host in
// reverse order, to their restore points (what each ran before the
// rollout), through the same pipeline. Hosts depooled but never stopped go
// back into the pool as they were. A host that cannot return stays
// depooled if it is out, and is named; a host that ran nothing is depooled,
// stopped and named. The schema guard (Options.Guard) may refuse a return:
// that host is then left as it is.
func (e *run) rollbackAll(ctx, rbctx context.Context, res *Result, cause error) (*Result, error) {
	failed := failedHosts(cause)
	var he *hostError
	if errors.As(cause, &he) {
		res.FailedHost, res.FailedStep = he.Host, he.Step.String()
		res.Reason = he.Err.Error()
	} else {
		res.Reason = cause.Error()
	}
	if ctx.Err() != nil && !strings.Contains(res.Reason, context.Cause(ctx).Error()) {
		res.Reason = fmt.Sprintf("%s (%v)", res.Reason, context.Cause(ctx))
	}
	changed := e.touchedHosts()
	res.Changed = changed
	// The failed hosts first, then the rest, most recent first.
	var order []string
	for _, h := range failed {
		if slices.Contains(changed, h) {
			order = append(order, h)
		}
	}
	for i := len(changed) - 1; i >= 0; i-- {
		if !slices.Contains(order, changed[i]) {
			order = append(order, changed[i])
		}
	}
	e.emit(Event{Type: EventPhase, Phase: PhaseRollback, Status: StatusStart, Message: fmt.Sprintf("%s failed at %s: returning %v to what each ran before", res.FailedHost, res.FailedStep, order)})
	untouchedFailed := e.repoolUntouched(rbctx, changed)

	var refused error // the guard's first refusal, for the message
	for i, h := range order {
		if err := rbctx.Err(); err != nil {
			res.NotReturned = append(res.NotReturned, order[i:]...)
			break
		}
		if err := e.restoreHost(rbctx, h, slices.Contains(failed, h)); err != nil {
			res.NotReturned = append(res.NotReturned, h)
			if errors.Is(err, errRefused) {
				res.Refused = append(res.Refused, h)
				if refused == nil {
					refused = err
				}
			}
		}
	}
	res.LeftDepooled = e.held()
	res.Ended = e.ended(changed)
	switch {
	case rbctx.Err() != nil && len(res.NotReturned) > 0:
		res.Outcome = OutcomeInterrupted
		e.emit(Event{Type: EventPhase, Phase: PhaseRollback, Status: StatusFail, Message: fmt.Sprintf("interrupted; not returned: %v; left depooled: %v", res.NotReturned, res.LeftDepooled)})
		return res, fmt.Errorf("%w: rollback stopped; not back on what they ran before: %v; left depooled: %v; run 'deployctl abort' to finish", ErrInterrupted, res.NotReturned, res.LeftDepooled)
	case len(res.NotReturned) > 0 || len(res.LeftDepooled) > 0 || len(untouchedFailed) > 0:
		res.Outcome = OutcomeRollbackFailed
		msg := fmt.Sprintf("not back on what they ran before: %v; left depooled: %v", res.NotReturned, res.LeftDepooled)
		if refused != nil {
			msg += "; " + refused.Error()
		}
		e.emit(Event{Type: EventPhase, Phase: PhaseRollback, Status: StatusFail, Message: msg})
		return res, fmt.Errorf("%w: %s failed at %s: %s; %s", ErrRollbackFailed, res.FailedHost, res.FailedStep, res.Reason, msg)
	}
	res.Outcome = OutcomeRolledBack
	e.emit(Event{Type: EventPhase, Phase: PhaseRollback, Status: StatusOK})
	return res, fmt.Errorf("%w: %s failed at %s: %s; every changed host (%d) is back on what it ran before", ErrRolledBack, res.FailedHost, res.FailedStep, res.Reason, len(order))
}

// batchError is the failure of several hosts of one batch.
type batchError struct {
	first  *hostError
	failed []string
}

func (b *batchError) Error() string { return b.first.Error() }
func (b *batchError) Unwrap() error { return b.first }

// failedHosts lists the hosts whose own step failed.
func failedHosts(err error) []string {
	var be *batchError
	if errors.As(err, &be) {
		return be.failed
	}
	var he *hostError
	if errors.As(err, &he) {
		return []string{he.Host}
	}
	return nil
}

// guard asks Options.Guard whether host may return to its restore point.
// A host that never started the new code (it failed, or a crash stopped
// it, before its start step) is not going back to anything: it only
// starts again the code it ran, as the hosts not reached yet still run.
func (e *run) guard(ctx context.Context, host string) error {
	rp := e.point(host)
	if e.opts.Guard == nil || rp.Rev == "" || rp.Rev == e.opts.Rev || e.startedRev(host) == rp.Rev {
		return nil
	}
	return e.opts.Guard(ctx, rp.Rev)
}

// keepOut makes sure a failed host the guard keeps on the new code is out
// of the pool.
func (e *run) keepOut(ctx context.Context, host string) {
	if _, held := e.takePrior(host); held {
		return
	}
	p, err := e.Pool.Depool(ctx, host)
	if err == nil || p.Changed {
		e.setPrior(host, p)
	}
}

// repoolUntouched puts back hosts this rollout depooled but never stopped
// (a batch cancelled between depool and stop). It returns the hosts it
// could not put back; they stay held, so they are reported left depooled.
func (e *run) repoolUntouched(ctx context.Context, touched []string) []string {
	var hosts []string
	for _, h := range e.held() {
		if !slices.Contains(touched, h) {
			hosts = append(hosts, h)
		}
	}
	var failed []string
	for _, h := range hosts {
		err := e.step(context.WithoutCancel(ctx), h, "", StepRepool, func(ctx context.Context) (string, error) {
			p, _ := e.takePrior(h)
			if err := e.Pool.Repool(ctx, h, p); err != nil {
				return "", err
			}
			e.clearPrior(h)
			return "never stopped: repooled as it was (" + p.Before.String() + ")", nil
		})
		if err != nil {
			failed = append(failed, h)
		}
	}
	return failed
}

// restoreHost returns one host to its restore point through the pipeline,
// unless the guard refuses: the host is then left as it is (a failed host,
// whose own step failed, kept out of the pool) and the error wraps
// errRefused.
func (e *run) restoreHost(ctx context.Context, host string, failed bool) error {
	start := time.Now()
	rp := e.point(host)
	e.emit(Event{Type: EventHost, Phase: PhaseRollback, Host: host, Status: StatusStart, Rev: rp.Rev})
	err := e.guard(ctx, host)
	if err != nil {
		if failed {
			e.keepOut(ctx, host)
		}
		err = fmt.Errorf("%w: %w", errRefused, err)
	} else {
		err = e.recovered(func() error { return e.restore(ctx, host, rp.Rev) })
	}
	ev := Event{Type: EventHost, Phase: PhaseRollback, Host: host, Status: StatusOK, Rev: rp.Rev, Elapsed: time.Since(start)}
	if err != nil {
		ev.Status, ev.Error = StatusFail, err.Error()
		if e.isHeld(host) {
			ev.Message = "left depooled: needs a person"
		}
	}
	e.emit(ev)
	return err
}

// errRefused marks a return the guard refused: the host is left as it is.
var errRefused = errors.New("left as it is")

func (e *run) isHeld(host string) bool {
	p, ok := e.takePrior(host)
	return ok && p.Changed
}

// restore returns host to rev. With no rev (the host ran nothing before an
// --initial rollout) the host is taken out of the pool — depooled, verified
// and drained, if it is not out already — then stopped, and named: a host
// is never stopped while pooled.
func (e *run) restore(ctx context.Context, host, rev string) error {
	if rev != "" {
		if _, held := e.takePrior(host); !held {
			if err := e.Pool.Budget(ctx, []string{host}); err != nil {
				return &hostError{Host: host, Step: StepDepool, Err: err}
			}
		}
		return e.runHost(ctx, host, e.back(rev))
	}
	if _, held := e.takePrior(host); !held {
		if _, err := e.depoolStep(ctx, host, ""); err != nil {
			return fmt.Errorf("%s ran nothing before and could not be depooled, so it keeps serving the new rev: %w", host, err)
		}
	}
	r, err := e.Hosts.Runner(ctx, host)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if err := e.step(ctx, host, "", StepStop, func(ctx context.Context) (string, error) {
		return e.service(ctx, r, host, "", "stop", e.Env.Service.StopTimeout)
	}); err != nil {
		return err
	}
	e.setLive(host, "")
	if !e.isHeld(host) {
		// Someone else had it out: it stays out, stopped.
		return fmt.Errorf("%w: %s ran nothing before: stopped, and left out of the pool as it was", ErrNoLastGood, host)
	}
	return fmt.Errorf("%w: %s ran nothing before: depooled and stopped", ErrNoLastGood, host)
}

// RestoreOptions say what Restore returns the hosts to.
type RestoreOptions struct {
	LastGood        string            // the rev for hosts without a restore point
	LastGoodConfigs map[string]string // each host's config version for them
	// Points are the crashed rollout's restore points (each host's own),
	// preferred over LastGood.
	Points map[string]RestorePoint
	// Guard is the schema guard, as for Rollout.
	Guard func(ctx context.Context, rev string) error
	// Held are the hosts the crashed run left out of the pool, with what
	// Repool needs: Restore repools them instead of leaving them out as
	// someone else's.
	Held map[string]pool.Prior
	// Recorded says the crashed run's record is known; RanNew are then the
	// hosts on which it started (or tried to start) its new code. Any
	// other host only goes back to the code it ran, whatever the schema
	// guard. Without a record every host counts as having run it.
	Recorded bool
	RanNew   []string
}

// Restore returns every host of hosts that is not on its restore point
// (or last good) to it, and every host a crashed rollout left depooled
// (RestoreOptions.Held): the work of `deployctl abort` when no process holds the
// rollout any more. Hosts someone else depooled stay out.
func (e *Engine) Restore(ctx context.Context, o RestoreOptions, hosts []string) (*Result, error) {
	return e.restoreRun(ctx, o, hosts, nil)
}

// restoreRun is Restore recorded by rec.
func (e *Engine) restoreRun(ctx context.Context, o RestoreOptions, hosts []string, rec recorder) (res *Result, err error) {
	start := time.Now()
	res = &Result{Rev: o.LastGood, LastGood: o.LastGood}
	defer func() { res.Duration = time.Since(start) }()
	r := e.newRun(Options{LastGood: o.LastGood, LastGoodConfigs: o.LastGoodConfigs, Guard: o.Guard}, rec)
	r.points = map[string]RestorePoint{}
	for _, h := range hosts {
		rp, ok := o.Points[h]
		if !ok || rp.Rev == "" && o.LastGood != "" {
			rp = RestorePoint{Rev: o.LastGood, Config: o.LastGoodConfigs[h]}
		}
		r.points[h] = rp
	}
	for h, p := range o.Held {
		r.priors[h] = p
	}
	r.ranNew, r.recorded = o.RanNew, o.Recorded
	err = r.recovered(func() error { return r.restoreAll(ctx, res, hosts) })
	if res.Panic = r.panicOf(); res.Panic != "" && !errors.Is(err, ErrPanic) {
		err = fmt.Errorf("%w: %w", ErrPanic, err)
	}
	return res, err
}

func (e *run) restoreAll(ctx context.Context, res *Result, hosts []string) error {
	currents, err := e.preflight(ctx, false)
	if err != nil {
		res.Outcome, res.Reason = OutcomeFailed, err.Error()
		return err
	}
	for _, h := range hosts {
		e.setLive(h, currents[h].Rev)
		started := currents[h].Rev // it may have started what current points at
		if e.recorded && !slices.Contains(e.ranNew, h) {
			started = e.point(h).Rev // the crashed run never started new code here
		}
		e.setStarted(h, started)
	}
	var revs []string
	for _, h := range hosts {
		if rev := e.point(h).Rev; rev != "" && rev != currents[h].Rev && !slices.Contains(revs, rev) {
			revs = append(revs, rev)
		}
	}
	if len(revs) > 0 {
		if err := e.stage(ctx, revs...); err != nil {
			res.Outcome, res.Reason = OutcomeFailed, err.Error()
			return err
		}
	}
	// Hosts the crashed rollout left depooled go first: repooling them
	// gives the depool budget back for the others.
	hosts = slices.Clone(hosts)
	slices.SortStableFunc(hosts, func(a, b string) int {
		ha, hb := e.isHeld(a), e.isHeld(b)
		switch {
		case ha && !hb:
			return -1
		case hb && !ha:
			return 1
		}
		return 0
	})
	for _, h := range hosts {
		rp := e.point(h)
		if currents[h].Rev == rp.Rev && !e.isHeld(h) {
			continue // on its restore point and in the pool as it was
		}
		if rp.Rev == "" && currents[h].Rev == "" {
			continue // ran nothing and runs nothing
		}
		res.Changed = append(res.Changed, h)
		if err := e.restoreHost(ctx, h, false); err != nil {
			res.NotReturned = append(res.NotReturned, h)
			if errors.Is(err, errRefused) {
				res.Refused = append(res.Refused, h)
				res.Reason = err.Error()
			}
		}
	}
	res.LeftDepooled = e.held()
	res.Ended = e.ended(res.Changed)
	for _, h := range res.Changed {
		if e.leftAlone(h) {
			res.LeftAlone = append(res.LeftAlone, h)
		}
	}
	if len(res.NotReturned) > 0 || len(res.LeftDepooled) > 0 {
		res.Outcome = OutcomeRollbackFailed
		return fmt.Errorf("%w: not back on what they ran before: %v; left depooled: %v", ErrRollbackFailed, res.NotReturned, res.LeftDepooled)
	}
	res.Outcome = OutcomeDone
	return nil
}
