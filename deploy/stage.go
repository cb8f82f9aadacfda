package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Stage puts every rev in place on every host without activating anything:
// `deployctl stage`, for operators who pre-stage big releases.
func (e *Engine) Stage(ctx context.Context, revs ...string) error {
	return e.stage(ctx, revs...)
}

// stage puts every rev in place on every host in parallel (bounded by
// ssh.parallel) before any host is touched; a host that already has a rev
// intact receives nothing. Any failure stops the rollout here.
func (e *Engine) stage(ctx context.Context, revs ...string) error {
	start := time.Now()
	e.emit(Event{Type: EventPhase, Phase: "stage", Status: StatusStart, Rev: revs[0]})
	fail := func(err error) error {
		e.emit(Event{Type: EventPhase, Phase: "stage", Status: StatusFail, Elapsed: time.Since(start), Error: err.Error()})
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
	e.emit(Event{Type: EventPhase, Phase: "stage", Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d hosts, %d bytes sent", len(runners), sent)})
	return nil
}

// prune removes old releases on every host, keeping keep_releases and never
// current or last good. Failures are reported, not fatal: the rollout is done.
func (e *Engine) prune(ctx context.Context, protect ...string) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.parallel())
	for _, h := range e.Env.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := e.Hosts.Runner(ctx, h.Name)
			if err == nil {
				err = e.Releases.Prune(ctx, r, e.Env.KeepReleases, protect...)
			}
			if err != nil {
				e.emit(Event{Type: EventInfo, Phase: "finalize", Host: h.Name, Status: StatusFail, Error: "prune: " + err.Error()})
			}
		}()
	}
	wg.Wait()
}

// shipConfigs puts every host's rendered configuration in place, in
// parallel, before any host is touched.
func (e *Engine) shipConfigs(ctx context.Context) error {
	if e.Configs == nil || len(e.opts.Configs) == 0 {
		return nil
	}
	start := time.Now()
	e.emit(Event{Type: EventPhase, Phase: "stage-config", Status: StatusStart})
	var (
		mu   sync.Mutex
		errs []error
		sent int64
		wg   sync.WaitGroup
		sem  = make(chan struct{}, e.parallel())
	)
	for _, h := range e.Env.Hosts {
		set := e.opts.Configs[h.Name]
		if set == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := e.Hosts.Runner(ctx, h.Name)
			var n int64
			if err == nil {
				n, err = e.Configs.Ship(ctx, r, set)
			}
			mu.Lock()
			defer mu.Unlock()
			sent += n
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: config %s: %w", h.Name, set.Version, err))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		e.emit(Event{Type: EventPhase, Phase: "stage-config", Status: StatusFail, Elapsed: time.Since(start), Error: err.Error()})
		return fmt.Errorf("stage config: nothing changed: %w", err)
	}
	e.emit(Event{Type: EventPhase, Phase: "stage-config", Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d bytes sent", sent)})
	return nil
}
