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
// budget. Every budget check counts the hosts whose depool is under way in
// this process as already out, so concurrent depools cannot together go
// below the budget: Depool checks and reserves a whole batch at once;
// DepoolUnchecked, for a caller that checked with CheckBudget already (or
// must take a host out whatever the budget), only reserves.
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

// Budget returns the pool's depool budget.
func (p *Pool) Budget() Budget { return p.budget }

// Close closes the pool's backend.
func (p *Pool) Close() error { return p.backend.Close() }

// lookup returns the pool's host by name, or an error for op wrapping
// ErrUnknownHost.
func (p *Pool) lookup(op, name string) (Host, error) {
	i := slices.IndexFunc(p.hosts, func(h Host) bool { return h.Name == name })
	if i < 0 {
		return Host{}, fmt.Errorf("%s %s: %w: not in the inventory", op, name, ErrUnknownHost)
	}
	return p.hosts[i], nil
}

// known checks that every name is one of the pool's hosts.
func (p *Pool) known(op string, names []string) error {
	for _, n := range names {
		if _, err := p.lookup(op, n); err != nil {
			return err
		}
	}
	return nil
}

// State reads one host's state.
func (p *Pool) State(ctx context.Context, name string) (State, error) {
	h, err := p.lookup("state", name)
	if err != nil {
		return State{}, err
	}
	return p.backend.State(ctx, h)
}

// Status reads every host's state, in inventory order, statusParallel at
// a time. A host whose state cannot be read has Err set; the other rows are
// still filled.
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
// together: see the package function CheckBudget. Hosts whose depool is
// under way in this process count as out. A named host whose state cannot
// be read is that error, not the budget's.
func (p *Pool) CheckBudget(ctx context.Context, names ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.known("depool", names); err != nil {
		return err
	}
	return p.checkLocked(ctx, names)
}

func (p *Pool) checkLocked(ctx context.Context, names []string) error {
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
	return p.depool(ctx, true, names)
}

// DepoolUnchecked is Depool without the budget check, for a caller that
// checked it already with CheckBudget (for a whole batch, before the
// batch's depools) or that must take a host out whatever the budget. While
// it runs, its hosts count as out for every budget check of the pool.
func (p *Pool) DepoolUnchecked(ctx context.Context, names ...string) ([]Prior, error) {
	return p.depool(ctx, false, names)
}

func (p *Pool) depool(ctx context.Context, check bool, names []string) ([]Prior, error) {
	p.mu.Lock()
	err := p.known("depool", names)
	if err == nil && check {
		err = p.checkLocked(ctx, names)
	}
	if err != nil {
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
		h, _ := p.lookup("depool", n) // known above
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
// returns the per-host errors joined. A Prior with Changed false changes
// nothing (the Backend contract).
func (p *Pool) Repool(ctx context.Context, priors ...Prior) error {
	errs := make([]error, len(priors))
	var wg sync.WaitGroup
	for i, pr := range priors {
		h, err := p.lookup("repool", pr.Host)
		if err != nil {
			errs[i] = err
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
