package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// stage puts every rev in place on every host in parallel (bounded by
// ssh.parallel) before any host is touched; a host that already has a rev
// intact receives nothing. Any failure stops the rollout here.
func (e *Engine) stage(ctx context.Context, revs ...string) error {
	start := time.Now()
	e.emit(Event{Type: EventPhase, Phase: "stage", Status: StatusStart, Rev: revs[0]})
	var (
		mu   sync.Mutex
		errs []string
		sent int64
		wg   sync.WaitGroup
		sem  = make(chan struct{}, e.parallel())
	)
	for _, h := range e.Env.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := e.stageHost(ctx, h.Name, revs)
			mu.Lock()
			defer mu.Unlock()
			sent += n
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", h.Name, err))
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		e.emit(Event{Type: EventPhase, Phase: "stage", Status: StatusFail, Elapsed: time.Since(start), Error: strings.Join(errs, "; ")})
		return fmt.Errorf("stage: nothing changed:\n  %s", strings.Join(errs, "\n  "))
	}
	e.emit(Event{Type: EventPhase, Phase: "stage", Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d hosts, %d bytes sent", len(e.Env.Hosts), sent)})
	return nil
}

func (e *Engine) stageHost(ctx context.Context, host string, revs []string) (int64, error) {
	r, err := e.Hosts.Runner(ctx, host)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, rev := range revs {
		n, err := e.Releases.Stage(ctx, r, rev)
		total += n
		if err != nil {
			return total, fmt.Errorf("stage %s: %w", short(rev), err)
		}
	}
	return total, nil
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
