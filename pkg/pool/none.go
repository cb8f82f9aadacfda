package pool

import (
	"context"
	"sync"
)

// None is the backend for a service with no load balancer. There is nothing
// to change, so it keeps the pool state in this process's memory only: every
// host starts pooled (weight 0, no LB state), Depool marks it out and Repool
// marks it back. That keeps the Backend contract (and the depool budget,
// which also limits how many hosts are stopped at once) without pretending
// to control traffic.
type None struct {
	mu  sync.Mutex
	out map[string]bool
}

var _ Backend = (*None)(nil)

// NewNone returns the none backend with every host pooled.
func NewNone() *None { return &None{out: map[string]bool{}} }

func (b *None) state(name string) State {
	if b.out[name] {
		return State{Pooled: PooledNo}
	}
	return State{Pooled: PooledYes}
}

// State reports the host pooled unless this process depooled it.
func (b *None) State(ctx context.Context, h Host) (State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state(h.Name), nil
}

// Depool marks the host out.
func (b *None) Depool(ctx context.Context, h Host) (Prior, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := Prior{Host: h.Name, Before: b.state(h.Name)}
	if b.out[h.Name] {
		return p, notPooled(h, "none (this process)", p.Before)
	}
	b.out[h.Name] = true
	p.Changed = true
	return p, nil
}

// Repool marks the host back in.
func (b *None) Repool(ctx context.Context, h Host, p Prior) error {
	if !p.Changed {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.out, h.Name)
	return nil
}

// Close does nothing.
func (b *None) Close() error { return nil }
