package deploy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/sshx"
)

// Preflight bounds and limits.
const (
	// preflightHostTimeout bounds one host's preflight; the whole phase is
	// bounded by that times the waves of ssh.parallel hosts it takes, so a
	// large fleet can pass.
	preflightHostTimeout = 30 * time.Second
	minFreeKiB           = 64 << 10 // 64 MiB free on the deploy dir's filesystem
)

// preflightBound is how long preflight may take for n hosts checked
// parallel at a time.
func preflightBound(n, parallel int) time.Duration {
	if parallel <= 0 {
		parallel = sshx.DefaultParallel
	}
	waves := max(1, (n+parallel-1)/parallel)
	return time.Duration(waves) * preflightHostTimeout
}

// preflight checks every host in parallel before anything changes: SSH
// reachable with a verified host key, the deploy dir writable with room,
// the pool backend answering for the host, the depool budget allowing the
// first batch (when checkBudget). It returns what each host runs now: its
// restore point.
func (e *run) preflight(ctx context.Context, checkBudget bool) (map[string]RestorePoint, error) {
	e.emit(Event{Type: EventPhase, Phase: PhasePreflight, Status: StatusStart})
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, preflightBound(len(e.Env.Hosts), e.Env.SSH.Parallel))
	defer cancel()
	var mu sync.Mutex
	currents := map[string]RestorePoint{}
	errs := e.eachHost(ctx, func(ctx context.Context, host string) error {
		ctx, cancel := context.WithTimeout(ctx, preflightHostTimeout)
		defer cancel()
		cur, err := e.preflightHost(ctx, host)
		if err == nil {
			mu.Lock()
			currents[host] = cur
			mu.Unlock()
		}
		return err
	})
	if len(errs) == 0 && checkBudget {
		if b := e.Env.Batches(); len(b) > 0 {
			if err := e.Pool.Budget(ctx, b[0].Hosts); err != nil {
				errs = append(errs, "first batch: "+err.Error())
			}
		}
	}
	if len(errs) > 0 {
		e.emit(Event{Type: EventPhase, Phase: PhasePreflight, Status: StatusFail, Elapsed: time.Since(start), Error: strings.Join(errs, "; ")})
		return nil, fmt.Errorf("preflight: nothing changed:\n  %s", strings.Join(errs, "\n  "))
	}
	e.emit(Event{Type: EventPhase, Phase: PhasePreflight, Status: StatusOK, Elapsed: time.Since(start), Message: fmt.Sprintf("%d hosts ready", len(currents))})
	return currents, nil
}

func (e *run) preflightHost(ctx context.Context, host string) (RestorePoint, error) {
	var rp RestorePoint
	r, err := e.Hosts.Runner(ctx, host)
	if err != nil {
		return rp, err
	}
	dir := e.Env.AppDir()
	// A constant script with the directory as $1: nothing is pasted into it.
	out, err := r.Run(ctx, nil, "sh", "-c", `mkdir -p -- "$1/revs" && test -w "$1/revs" && df -Pk -- "$1" | awk 'NR==2 {print $4}'`, "sh", dir)
	if err != nil {
		return rp, fmt.Errorf("deploy dir %s: %w", dir, err)
	}
	free, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return rp, fmt.Errorf("deploy dir %s: reading free space: %q", dir, out)
	}
	if free < minFreeKiB {
		return rp, fmt.Errorf("deploy dir %s: only %d MiB free (need %d MiB)", dir, free>>10, minFreeKiB>>10)
	}
	ps, err := e.Pool.State(ctx, host)
	if err != nil {
		return rp, fmt.Errorf("pool: %w", err)
	}
	e.setPoolBefore(host, ps)
	live, err := e.Releases.Live(ctx, r)
	if err != nil {
		return rp, fmt.Errorf("current release: %w", err)
	}
	rp.Rev = live.Rev
	if live.Origin.Adopted() {
		e.emit(Event{Type: EventInfo, Phase: PhasePreflight, Host: host, Rev: live.Rev,
			Message: fmt.Sprintf("adopting %s %s (%s): deployctl will not write into it; rollback returns to it", live.Origin.Describe(), live.Link, gitsrc.Short(live.Rev))})
	}
	if e.Configs != nil {
		if rp.Config, err = e.Configs.Current(ctx, r); err != nil {
			return rp, fmt.Errorf("current config: %w", err)
		}
	}
	return rp, nil
}

// eachHost runs fn for every host of the environment, ssh.parallel at a
// time, and returns the failures as "host: error", in inventory order.
func (e *run) eachHost(ctx context.Context, fn func(ctx context.Context, host string) error) []string {
	hosts := e.Env.Hosts
	var failed []string
	for i, err := range sshx.Each(ctx, e.Env.SSH.Parallel, len(hosts), func(ctx context.Context, i int) error {
		return fn(ctx, hosts[i].Name)
	}) {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", hosts[i].Name, err))
		}
	}
	return failed
}
