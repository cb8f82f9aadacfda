package deploy

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Preflight bounds and limits.
const (
	preflightTimeout = 30 * time.Second
	minFreeKiB       = 64 << 10 // 64 MiB free on the deploy dir's filesystem
)

// preflight checks every host in parallel before anything changes: SSH
// reachable with a verified host key, the deploy dir writable with room,
// the pool backend answering for the host, the depool budget allowing the
// first batch (when checkBudget). It returns the rev each host runs now ("" for none).
func (e *Engine) preflight(ctx context.Context, checkBudget bool) (map[string]string, error) {
	e.emit(Event{Type: EventPhase, Phase: "preflight", Status: StatusStart})
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	var (
		mu       sync.Mutex
		errs     []string
		currents = map[string]string{}
		wg       sync.WaitGroup
		sem      = make(chan struct{}, e.parallel())
	)
	for _, h := range e.Env.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cur, err := e.preflightHost(ctx, h.Name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", h.Name, err))
				return
			}
			currents[h.Name] = cur
		}()
	}
	wg.Wait()
	if len(errs) == 0 && checkBudget {
		if b := e.Env.Batches(); len(b) > 0 {
			if err := e.Pool.Budget(ctx, b[0].Hosts); err != nil {
				errs = append(errs, "first batch: "+err.Error())
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		e.emit(Event{Type: EventPhase, Phase: "preflight", Status: StatusFail, Elapsed: time.Since(start), Error: strings.Join(errs, "; ")})
		return nil, fmt.Errorf("preflight: nothing changed:\n  %s", strings.Join(errs, "\n  "))
	}
	e.emit(Event{Type: EventPhase, Phase: "preflight", Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d hosts ready", len(currents))})
	return currents, nil
}

func (e *Engine) preflightHost(ctx context.Context, host string) (string, error) {
	r, err := e.Hosts.Runner(ctx, host)
	if err != nil {
		return "", err
	}
	dir := e.Env.AppDir()
	// A constant script with the directory as $1: nothing is pasted into it.
	out, err := r.Run(ctx, nil, "sh", "-c", `mkdir -p -- "$1/revs" && test -w "$1/revs" && df -Pk -- "$1" | awk 'NR==2 {print $4}'`, "sh", dir)
	if err != nil {
		return "", fmt.Errorf("deploy dir %s: %w", dir, err)
	}
	free, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return "", fmt.Errorf("deploy dir %s: reading free space: %q", dir, out)
	}
	if free < minFreeKiB {
		return "", fmt.Errorf("deploy dir %s: only %d MiB free (need %d MiB)", dir, free>>10, minFreeKiB>>10)
	}
	if _, err := e.Pool.State(ctx, host); err != nil {
		return "", fmt.Errorf("pool: %w", err)
	}
	cur, err := e.Releases.Current(ctx, r)
	if err != nil {
		return "", fmt.Errorf("current release: %w", err)
	}
	return cur, nil
}

func (e *Engine) parallel() int {
	if p := e.Env.SSH.Parallel; p > 0 {
		return p
	}
	return 10
}
