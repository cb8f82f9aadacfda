package pooltest

import (
	"context"
	"fmt"
	"sync"

	"github.com/deployctl/deployctl/pkg/pool"
)

// Fake is an in-memory pool.Backend that keeps the Backend contract, so a
// test of the orchestrator sees what a real backend would do. It records
// every call and can be told to fail one.
//
// A host with a load balancer view (State.LB set) is shown as HAProxy would
// show it: "MAINT" after Depool, "DRAIN" after Interrupt (a depool cut
// short), and its view from before after Repool.
type Fake struct {
	mu     sync.Mutex
	states map[string]pool.State
	fail   map[string]error // "depool h1" -> error
	calls  []string
}

var _ pool.Backend = (*Fake)(nil)

// NewFake returns a Fake whose pool is hosts, each pooled with weight 10 and
// up. Any other host is unknown (pool.ErrUnknownHost).
func NewFake(hosts ...string) *Fake {
	f := &Fake{states: map[string]pool.State{}, fail: map[string]error{}}
	for _, h := range hosts {
		f.states[h] = pool.State{Pooled: pool.PooledYes, Weight: 10}
	}
	return f
}

// Set sets a host's state as an outside operator would; it adds the host if
// it is new.
func (f *Fake) Set(host string, st pool.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[host] = st
}

// Get returns a host's state without recording a call.
func (f *Fake) Get(host string) (pool.State, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.states[host]
	return st, ok
}

// FailOn makes the next call of op ("state", "depool" or "repool") for host
// return err, without changing anything.
func (f *Fake) FailOn(op, host string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op+" "+host] = err
}

// Calls returns the calls so far, as "depool h1", "repool h1", "state h2".
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// begin records a call and returns the host's state, or the error to fail
// with. The caller holds f.mu.
func (f *Fake) begin(op string, h pool.Host) (pool.State, error) {
	key := op + " " + h.Name
	f.calls = append(f.calls, key)
	if err, ok := f.fail[key]; ok {
		delete(f.fail, key)
		return pool.State{}, fmt.Errorf("%s (fake): %w", key, err)
	}
	st, ok := f.states[h.Name]
	if !ok {
		return pool.State{}, fmt.Errorf("%s (fake): %w", key, pool.ErrUnknownHost)
	}
	return st, nil
}

// State returns the host's state.
func (f *Fake) State(ctx context.Context, h pool.Host) (pool.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.begin("state", h)
}

// Depool sets a pooled host's pooled to no.
func (f *Fake) Depool(ctx context.Context, h pool.Host) (pool.Prior, error) {
	return f.depool(h, "MAINT", false)
}

// Interrupt leaves a pooled host as a Depool cut short between drain and
// maint does: out of the pool, "DRAIN" on the load balancer (still up, as
// HAProxy shows a draining server) when the host has an LB view. It returns
// the Prior Depool had recorded by then. It is recorded as a "depool" call.
func (f *Fake) Interrupt(ctx context.Context, h pool.Host) (pool.Prior, error) {
	return f.depool(h, "DRAIN", true)
}

// depool takes a pooled host out, showing lb (and up) as its LB status if
// it has one.
func (f *Fake) depool(h pool.Host, lb string, up bool) (pool.Prior, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := pool.Prior{Host: h.Name}
	st, err := f.begin("depool", h)
	if err != nil {
		return p, err
	}
	p.Before = st
	if st.Pooled != pool.PooledYes {
		return p, fmt.Errorf("depool %s (fake): %w: found %s, left as it is", h.Name, pool.ErrNotPooled, st)
	}
	st.Pooled = pool.PooledNo
	if st.LB != "" {
		st.LB, st.Up = lb, up
		if !up {
			st.Sessions = 0
		}
	}
	f.states[h.Name] = st
	p.Changed = true
	return p, nil
}

// Repool restores p.Before if the host is still depooled (fully or, after
// Interrupt, part way).
func (f *Fake) Repool(ctx context.Context, h pool.Host, p pool.Prior) error {
	if !p.Changed {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := f.begin("repool", h)
	if err != nil {
		return err
	}
	switch {
	case st.Pooled == pool.PooledNo:
		// Out as Depool left it, finished (MAINT) or cut short (DRAIN),
		// whatever the weight became.
		st.Pooled, st.Weight = p.Before.Pooled, p.Before.Weight
		if st.LB == "MAINT" || st.LB == "DRAIN" {
			st.LB, st.Up = p.Before.LB, p.Before.Up
		}
		f.states[h.Name] = st
	case st.Pooled == p.Before.Pooled && st.Weight == p.Before.Weight:
	default:
		return fmt.Errorf("repool %s (fake): %w: found %s", h.Name, pool.ErrChanged, st)
	}
	return nil
}

// Close does nothing.
func (f *Fake) Close() error { return nil }
