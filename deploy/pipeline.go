package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/deployctl/deployctl/checks"
	"github.com/deployctl/deployctl/pkg/pool"
)

// activateTimeout bounds the symlink switch on a host.
const activateTimeout = time.Minute

// pass is one trip of a host through the pipeline: forward to the
// rollout's rev, or back to the host's restore point. What differs between
// the two is here, as data, so the pipeline reads the same both ways.
type pass struct {
	rev   string
	hooks bool // run before_host and after_host
	soak  bool // run the pooled checks (min_healthy_time) after the repool
	// reload keeps the service running and reloads it (a config-only
	// rollout with a reload command) instead of stop and start.
	reload bool
	// baseline keeps the checks' baseline of the stop, for the canary
	// checks after the first group.
	baseline bool
	// config links the host's configuration once its code is switched; it
	// returns what it linked, for the step's detail.
	config func(ctx context.Context, r Runner, host string) (string, error)
}

// forward is the pass to the rollout's rev.
func (e *run) forward(rev string) pass {
	return pass{rev: rev, hooks: true, soak: true, reload: e.opts.Reload, baseline: true, config: e.linkNew}
}

// back is the pass to rev, a host's restore point (or last good). The
// pooled soak is skipped: getting every host back fast matters more.
func (e *run) back(rev string) pass {
	return pass{rev: rev, config: e.linkRestore}
}

// runHost takes one host through the per-host pipeline (DESIGN.md):
//
//	depool -> verify -> drain -> stop -> activate -> start -> port
//	       -> checks while depooled -> repool -> verify -> checks while pooled
//
// A host this run already holds depooled (it failed earlier) is not
// depooled again. A host someone else depooled is deployed but left out of
// the pool, and reported.
func (e *run) runHost(ctx context.Context, host string, p pass) error {
	rev := p.rev
	r, err := e.Hosts.Runner(ctx, host)
	if err != nil {
		return &hostError{Host: host, Step: StepDepool, Err: fmt.Errorf("connect: %w", err)}
	}
	facts := e.facts(host, rev)
	if p.hooks {
		if err := e.runHooks(ctx, "before_host", e.Env.Hooks.BeforeHost, facts); err != nil {
			return &hostError{Host: host, Step: StepDepool, Err: err}
		}
	}
	h := &onHost{name: host, r: r, p: p}
	var held bool
	h.prior, held = e.takePrior(host)
	for _, s := range hostSteps(p.soak, e.Checks.Has(checks.StagePooled), e.Env.Rollout.MinHealthyTime) {
		var err error
		switch {
		case s == StepDepool && held:
			continue // this run holds it out already (it failed earlier)
		case s == StepDepool:
			h.prior, err = e.depoolStep(ctx, host, rev)
		default:
			if s == StepStop {
				e.rec.changing(host)
			}
			err = e.step(ctx, host, rev, s, func(ctx context.Context) (string, error) { return e.do(ctx, h, s) })
		}
		if err != nil {
			return err
		}
	}
	if !p.hooks {
		return nil
	}
	if err := e.runHooks(ctx, "after_host", e.Env.Hooks.AfterHost, facts); err != nil {
		return &hostError{Host: host, Step: StepChecksPooled, Err: err}
	}
	return nil
}

// onHost is one host's trip through the pipeline: what the steps share.
type onHost struct {
	name     string
	r        Runner
	p        pass
	prior    pool.Prior       // what the depool found, for the repool
	baseline *checks.Baseline // what the checks recorded before the stop
}

// do runs step s (not the depool, see depoolStep) on h.
func (e *run) do(ctx context.Context, h *onHost, s Step) (string, error) {
	host, rev, r, p := h.name, h.p.rev, h.r, h.p
	switch s {
	case StepStop:
		var err error
		if h.baseline, err = e.Checks.Prepare(ctx, host, r); err != nil {
			return "", fmt.Errorf("before stop: %w", err)
		}
		if p.baseline {
			e.setBaseline(host, h.baseline)
		}
		e.markTouched(host)
		if p.reload {
			return "reload: the service keeps running", nil
		}
		detail, err := e.service(ctx, r, host, rev, "stop", e.Env.Service.StopTimeout)
		if err == nil {
			e.setLive(host, "")
		}
		return detail, err
	case StepActivate:
		ctx, cancel := context.WithTimeout(ctx, activateTimeout)
		defer cancel()
		return e.activate(ctx, r, host, p)
	case StepStart:
		e.setStarted(host, rev)
		if rev != e.point(host).Rev {
			e.rec.startingNew(host)
		}
		if p.reload {
			return e.service(ctx, r, host, rev, "reload", e.Env.Service.StartTimeout)
		}
		detail, err := e.service(ctx, r, host, rev, "start", e.Env.Service.StartTimeout)
		if err == nil {
			e.setLive(host, rev)
		}
		return detail, err
	case StepPort:
		hh, _ := e.Env.Host(host)
		addr := net.JoinHostPort(hh.Address, strconv.Itoa(e.Env.Service.Port))
		ctx, cancel := context.WithTimeout(ctx, e.Env.Service.PortTimeout)
		defer cancel()
		detail, err := checks.WaitPort(ctx, addr)
		if err != nil {
			return "", fmt.Errorf("%s not bound: %w", addr, err)
		}
		return detail, nil
	case StepChecksDepooled:
		ctx, cancel := context.WithTimeout(ctx, e.Env.Rollout.HealthyDeadline)
		defer cancel()
		return e.runChecks(ctx, checks.StageDepooled, host, r, h.baseline)
	case StepRepool:
		if h.prior.LeftAlone() {
			return "left out of the pool: it was not pooled before", nil
		}
		if err := e.Pool.Repool(ctx, host, h.prior); err != nil {
			return "", err
		}
		e.clearPrior(host)
		return h.prior.Before.String(), nil
	case StepChecksPooled:
		return e.soak(ctx, host, r, h.baseline)
	}
	return "", fmt.Errorf("step %s is not run by the pipeline", s)
}

// depoolStep takes host out of the pool as a pipeline step and holds what
// it found, for the repool. A host someone else depooled is held as left
// alone (its repool does nothing); a failed depool that may have written
// is held too, so the rollback puts it back.
func (e *run) depoolStep(ctx context.Context, host, rev string) (pool.Prior, error) {
	var prior pool.Prior
	err := e.step(ctx, host, rev, StepDepool, func(ctx context.Context) (string, error) {
		e.holdDuringDepool(host)
		p, err := e.Pool.Depool(ctx, host)
		prior = p
		switch {
		case errors.Is(err, pool.ErrNotPooled):
			e.setPrior(host, p)
			return "left alone: " + err.Error(), nil
		case err != nil:
			if p.Changed {
				e.setPrior(host, p)
			} else {
				e.clearPrior(host)
			}
			return "", err
		}
		e.setPrior(host, p)
		return p.Before.String(), nil
	})
	return prior, err
}

func (e *run) facts(host, rev string) Facts {
	return Facts{Env: e.Env.Name, Ref: e.opts.Ref, Rev: rev, ConfigVersion: e.opts.ConfigVersion, Host: host}
}

// activate switches the host's code to the pass's rev, then links its
// configuration.
func (e *run) activate(ctx context.Context, r Runner, host string, p pass) (string, error) {
	if err := e.Releases.Activate(ctx, r, p.rev); err != nil {
		return "", err
	}
	e.rec.switched(host, p.rev)
	detail := e.Env.ReleaseDir(p.rev)
	if e.Configs == nil {
		return detail, nil
	}
	linked, err := p.config(ctx, r, host)
	if err != nil {
		return "", err
	}
	if linked != "" {
		detail += "; " + linked
	}
	return detail, nil
}

// linkNew links this rollout's configuration set of host.
func (e *run) linkNew(ctx context.Context, r Runner, host string) (string, error) {
	set := e.opts.Configs[host]
	if set == nil {
		return "", nil
	}
	if err := e.Configs.Link(ctx, r, set); err != nil {
		return "", fmt.Errorf("config %s: %w", set.Version, err)
	}
	return "config " + set.Version, nil
}

// linkRestore links the config version host had before the run (or last
// good's).
func (e *run) linkRestore(ctx context.Context, r Runner, host string) (string, error) {
	v := e.point(host).Config
	if v == "" {
		v = e.opts.LastGoodConfigs[host]
	}
	if v == "" {
		return "config: no version to restore", nil
	}
	if err := e.Configs.LinkVersion(ctx, r, v); err != nil {
		return "", fmt.Errorf("config %s: %w", v, err)
	}
	return "config " + v, nil
}

// soak runs the pooled checks until they have held for min_healthy_time:
// rounds back to back, the last one starting after min_healthy_time, so
// checks that look back (logs since the stop) see the whole window.
func (e *run) soak(ctx context.Context, host string, r Runner, b *checks.Baseline) (string, error) {
	start := time.Now()
	minHealthy := e.Env.Rollout.MinHealthyTime
	for i := 1; ; i++ {
		began := time.Since(start)
		ev, err := e.runChecks(ctx, checks.StagePooled, host, r, b)
		if err != nil {
			return ev, err
		}
		if began >= minHealthy {
			return fmt.Sprintf("held %s (%d rounds): %s", time.Since(start).Round(time.Millisecond), i, ev), nil
		}
		if left := minHealthy - time.Since(start); left > 0 {
			t := time.NewTimer(min(left, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return "", ctx.Err()
			case <-t.C:
			}
		}
	}
}

// runChecks runs one stage's checks and reports each result as an event.
func (e *run) runChecks(ctx context.Context, st checks.Stage, host string, r Runner, b *checks.Baseline) (string, error) {
	results := e.Checks.Run(ctx, st, host, r, b)
	var names []string
	for _, res := range results {
		ev := Event{Type: EventCheck, Host: host, Step: res.Name, Status: StatusOK, Elapsed: res.Duration, Evidence: res.Evidence, Message: string(res.Kind) + " " + st.String()}
		switch {
		case res.Verdict == checks.Skipped:
			ev.Status = StatusSkip
		case res.Err != nil:
			ev.Status, ev.Error = StatusFail, res.Err.Error()
		}
		e.emit(ev)
		names = append(names, res.Name+" "+string(ev.Status))
	}
	if err := checks.Failures(results); err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "no checks", nil
	}
	return strings.Join(names, ", "), nil
}

// service runs a service action's argv on the host within timeout.
func (e *run) service(ctx context.Context, r Runner, host, rev, action string, timeout time.Duration) (string, error) {
	argv, ok, err := e.Env.ServiceArgv(action, host, rev)
	if err != nil || !ok {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := r.Run(ctx, nil, argv...); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "", fmt.Errorf("%s did not finish within %s: %w", action, timeout, err)
		}
		return "", err
	}
	return strings.Join(argv, " "), nil
}

// step runs one pipeline step with start and end events. It refuses to
// start when ctx is already done: a step boundary is where abort, a signal
// or progress_deadline lands. A step that started runs to its end within
// its own bounds (stop_timeout, drain_timeout, verify_timeout, ...), so a
// host is never left half way through a depool, a stop or a repool; only
// the pooled soak, which changes nothing, is cut short.
func (e *run) step(ctx context.Context, host, rev string, s Step, fn func(context.Context) (string, error)) error {
	if err := ctx.Err(); err != nil {
		return &hostError{Host: host, Step: s, Err: context.Cause(ctx)}
	}
	start := time.Now()
	e.rec.at(host, s)
	e.emit(Event{Type: EventStep, Host: host, Step: s.String(), Status: StatusStart, Rev: rev})
	sctx := context.WithoutCancel(ctx)
	if s == StepChecksPooled {
		sctx = ctx
	}
	var detail string
	err := e.recovered(func() (err error) {
		detail, err = fn(sctx)
		return err
	})
	ev := Event{Type: EventStep, Host: host, Step: s.String(), Status: StatusOK, Rev: rev, Elapsed: time.Since(start), Message: detail}
	if err != nil {
		if sctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(sctx))
		}
		ev.Status, ev.Error = StatusFail, err.Error()
		e.emit(ev)
		return &hostError{Host: host, Step: s, Err: err}
	}
	e.emit(ev)
	return nil
}
