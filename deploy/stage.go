package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Stage puts every rev in place on every host without activating anything:
// `deployctl stage`, for operators who pre-stage big releases.
func (e *Engine) Stage(ctx context.Context, revs ...string) error {
	return e.newRun(Options{}, nil).stage(ctx, revs...)
}

// stage puts every rev in place on every host in parallel (bounded by
// ssh.parallel) before any host is touched; a host that already has a rev
// intact receives nothing. Any failure stops the rollout here.
func (e *run) stage(ctx context.Context, revs ...string) error {
	start := time.Now()
	e.emit(Event{Type: EventPhase, Phase: PhaseStage, Status: StatusStart, Rev: revs[0]})
	fail := func(err error) error {
		e.emit(Event{Type: EventPhase, Phase: PhaseStage, Status: StatusFail, Elapsed: time.Since(start), Error: err.Error()})
		return fmt.Errorf("stage: nothing changed: %w", err)
	}
	runners := make([]Runner, 0, len(e.Env.Hosts))
	for _, h := range e.Env.Hosts {
		r, err := e.Hosts.Runner(ctx, h.Name)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", h.Name, err))
		}
		runners = append(runners, r)
	}
	var sent int64
	for _, rev := range revs {
		n, err := e.Releases.Stage(ctx, runners, rev)
		sent += n
		if err != nil {
			return fail(err)
		}
	}
	e.emit(Event{Type: EventPhase, Phase: PhaseStage, Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d hosts, %d bytes sent", len(runners), sent)})
	return nil
}

// prune removes old releases and old config versions on every host,
// keeping keep_releases of each and never current or last good (nor the
// host's restore point). Failures are reported, not fatal: the rollout is
// done.
func (e *run) prune(ctx context.Context, protect ...string) {
	failed := e.eachHost(ctx, func(ctx context.Context, host string) error {
		r, err := e.Hosts.Runner(ctx, host)
		if err == nil {
			err = e.Releases.Prune(ctx, r, e.Env.KeepReleases, protect...)
		}
		if err == nil && e.Configs != nil {
			err = e.Configs.Prune(ctx, r, e.Env.KeepReleases, e.keepConfigs(host)...)
		}
		return err
	})
	for _, f := range failed {
		e.emit(Event{Type: EventInfo, Phase: PhaseFinalize, Status: StatusFail, Error: "prune: " + f})
	}
}

// shipConfigs puts every host's rendered configuration in place, in
// parallel, before any host is touched.
func (e *run) shipConfigs(ctx context.Context) error {
	if e.Configs == nil || len(e.opts.Configs) == 0 {
		return nil
	}
	start := time.Now()
	e.emit(Event{Type: EventPhase, Phase: PhaseStageConfig, Status: StatusStart})
	var sent atomic.Int64
	failed := e.eachHost(ctx, func(ctx context.Context, host string) error {
		set := e.opts.Configs[host]
		if set == nil {
			return nil
		}
		r, err := e.Hosts.Runner(ctx, host)
		var n int64
		if err == nil {
			n, err = e.Configs.Ship(ctx, r, set)
		}
		sent.Add(n)
		if err != nil {
			return fmt.Errorf("config %s: %w", set.Version, err)
		}
		return nil
	})
	if len(failed) > 0 {
		msg := strings.Join(failed, "; ")
		e.emit(Event{Type: EventPhase, Phase: PhaseStageConfig, Status: StatusFail, Elapsed: time.Since(start), Error: msg})
		return fmt.Errorf("stage config: nothing changed: %s", msg)
	}
	e.emit(Event{Type: EventPhase, Phase: PhaseStageConfig, Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d bytes sent", sent.Load())})
	return nil
}

// keepConfigs are host's config versions a prune must keep: this
// rollout's, its restore point's and last good's.
func (e *run) keepConfigs(host string) []string {
	var keep []string
	if set := e.opts.Configs[host]; set != nil {
		keep = append(keep, set.Version)
	}
	for _, v := range []string{e.point(host).Config, e.opts.LastGoodConfigs[host]} {
		if v != "" {
			keep = append(keep, v)
		}
	}
	return keep
}
