package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
)

// statusParallel bounds how many hosts Status reads at once.
const statusParallel = 8

// Pool is the hosts of one environment behind one Backend, with the depool
// budget. Its Depool is the only door out of traffic deployctl uses: it
// checks the budget first, for a whole batch at once, and counts the hosts
// whose depool is under way in this process as already out, so concurrent
// calls cannot together go below the budget.
type Pool struct {
	backend Backend
	hosts   []Host
	budget  Budget

	mu      sync.Mutex
	leaving map[string]bool // depools under way in this process
}

// NewPool returns the pool of hosts behind b with the budget minPooled
// ("" means DefaultMinPooled).
func NewPool(b Backend, hosts []Host, minPooled string) (*Pool, error) {
	if minPooled == "" {
		minPooled = DefaultMinPooled
	}
	bud, err := ParseBudget(minPooled)
	if err != nil {
		return nil, err
	}
	return &Pool{backend: b, hosts: hosts, budget: bud, leaving: map[string]bool{}}, nil
}

// Backend returns the pool's backend.
func (p *Pool) Backend() Backend { return p.backend }

// Budget returns the pool's depool budget.
func (p *Pool) Budget() Budget { return p.budget }

// Host returns the pool's host by name.
func (p *Pool) Host(name string) (Host, bool) {
	i := slices.IndexFunc(p.hosts, func(h Host) bool { return h.Name == name })
	if i < 0 {
		return Host{}, false
	}
	return p.hosts[i], true
}

// Status reads every host's state, in inventory order. A host whose state
// cannot be read has Err set; the other rows are still filled.
func (p *Pool) Status(ctx context.Context) []HostState {
	rows := make([]HostState, len(p.hosts))
	var g errgroup.Group
	g.SetLimit(statusParallel)
	for i, h := range p.hosts {
		g.Go(func() error {
			st, err := p.backend.State(ctx, h)
			rows[i] = HostState{Host: h, State: st, Err: err}
			return nil
		})
	}
	g.Wait()
	return rows
}

// CheckBudget reports whether the named hosts may leave the pool now,
// together: see the package function CheckBudget.
func (p *Pool) CheckBudget(ctx context.Context, names ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkLocked(ctx, names)
}

func (p *Pool) checkLocked(ctx context.Context, names []string) error {
	for _, n := range names {
		if _, ok := p.Host(n); !ok {
			return fmt.Errorf("depool %s: %w: not in the inventory", n, ErrUnknownHost)
		}
	}
	rows := p.Status(ctx)
	for i, r := range rows {
		if slices.Contains(names, r.Host.Name) && r.Err != nil {
			// The host to depool cannot be read: that error, not the budget.
			return r.Err
		}
		if p.leaving[r.Host.Name] && r.Err == nil {
			rows[i].State.Pooled = PooledNo // on its way out
		}
	}
	return CheckBudget(rows, names, p.budget)
}

// Depool takes the hosts out of traffic as one batch: it checks the budget
// for all of them together (ErrBudget: nothing is written), then depools
// them in parallel. It returns one Prior per host, in order, and the
// per-host errors joined (each names its host). A host someone else
// depooled has a Prior with LeftAlone true and an error wrapping
// ErrNotPooled; the caller reports it and may go on without it.
func (p *Pool) Depool(ctx context.Context, names ...string) ([]Prior, error) {
	p.mu.Lock()
	if err := p.checkLocked(ctx, names); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	for _, n := range names {
		p.leaving[n] = true
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		for _, n := range names {
			delete(p.leaving, n)
		}
		p.mu.Unlock()
	}()

	priors := make([]Prior, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		h, _ := p.Host(n) // checked above
		wg.Add(1)
		go func() {
			defer wg.Done()
			priors[i], errs[i] = p.backend.Depool(ctx, h)
		}()
	}
	wg.Wait()
	return priors, errors.Join(errs...)
}

// Repool puts the hosts of priors back as they were, in parallel, and
// returns the per-host errors joined. Priors with Changed false are skipped.
func (p *Pool) Repool(ctx context.Context, priors ...Prior) error {
	errs := make([]error, len(priors))
	var wg sync.WaitGroup
	for i, pr := range priors {
		h, ok := p.Host(pr.Host)
		if !ok {
			errs[i] = fmt.Errorf("repool %s: %w: not in the inventory", pr.Host, ErrUnknownHost)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.backend.Repool(ctx, h, pr)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
