package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// ErrNothingDone is a manual pool change that found nothing to change
// (exit 1, so that a script does not take it for a change).
var ErrNothingDone = errors.New("nothing done")

// Depool takes host out of the pool by hand, under the environment's lock,
// with the depool budget enforced, and records what it found in the state
// (State.Held): Repool restores exactly that, from this process or a later
// one, and rollouts leave the host out until then. It returns what the
// host was before.
func (d *Deployer) Depool(ctx context.Context, host string) (pool.State, error) {
	return d.manual(ctx, host, "depool", func(ctx context.Context, p Pooler, st *state.State) (pool.State, bool, error) {
		if err := p.Budget(ctx, []string{host}); err != nil {
			return pool.State{}, false, err
		}
		prior, err := p.Depool(ctx, host)
		if prior.Changed {
			if st.Held == nil {
				st.Held = map[string]pool.Prior{}
			}
			st.Held[host] = prior
		}
		return prior.Before, prior.Changed, err
	})
}

// Repool puts back a host depooled by Depool, exactly as it was, and
// forgets the record. A host Depool did not take out, or one someone
// already pooled, is ErrNothingDone. It returns what the host is now.
func (d *Deployer) Repool(ctx context.Context, host string) (before, after pool.State, err error) {
	after, err = d.manual(ctx, host, "repool", func(ctx context.Context, p Pooler, st *state.State) (pool.State, bool, error) {
		prior, ok := st.Held[host]
		if !ok {
			return pool.State{}, false, fmt.Errorf("%w: %s was not depooled with 'deployctl pool depool', so there is nothing to restore; pool it with the tool that depooled it", ErrNothingDone, host)
		}
		var err error
		if before, err = p.State(ctx, host); err != nil {
			return pool.State{}, false, err
		}
		if before.Pooled == pool.PooledYes {
			// Someone pooled it already: say so, and forget our record.
			delete(st.Held, host)
			return pool.State{}, true, fmt.Errorf("%w: %s is already pooled (%s); nothing written", ErrNothingDone, host, before)
		}
		if err := p.Repool(ctx, host, prior); err != nil {
			return pool.State{}, false, err
		}
		delete(st.Held, host)
		now, err := p.State(ctx, host)
		if err != nil {
			return now, true, fmt.Errorf("repooled %s but could not read it back: %w", host, err)
		}
		return now, true, nil
	})
	return before, after, err
}

// manual runs one manual pool change of host under the lock; change says
// whether the state must be saved.
func (d *Deployer) manual(ctx context.Context, host, verb string, change func(context.Context, Pooler, *state.State) (pool.State, bool, error)) (pool.State, error) {
	env := d.Env.Name
	if _, ok := d.Env.Host(host); !ok {
		return pool.State{}, usageErrorf("unknown host %q in %s", host, env)
	}
	lock, err := d.Store.Lock(ctx, env, state.Owner{Command: "pool " + verb + " " + host}, state.NoWait)
	if err != nil {
		return pool.State{}, err
	}
	defer lock.Release()
	ctx = d.fenced(ctx)
	st, err := d.Store.Load(env)
	if err != nil {
		return pool.State{}, err
	}
	e, closeParts, err := d.Connect(d.UI.Event)
	if err != nil {
		return pool.State{}, err
	}
	defer closeParts()
	out, save, err := change(ctx, e.Pool, &st)
	if save {
		if serr := d.Store.Save(env, st); serr != nil {
			return out, errors.Join(err, fmt.Errorf("%w: %s %s but could not record it: %w", ErrRecord, verb, host, serr))
		}
	}
	return out, err
}
