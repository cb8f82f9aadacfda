package etcdstate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/deployctl/deployctl/pkg/state"
)

// Migrate copies env's state and history from a deploy host's local store
// into etcd. It holds both locks meanwhile (each one try: a run on either
// side makes it fail with state.ErrLocked), refuses with ErrNotEmpty when
// etcd already has a non-empty state for env, and writes the history
// first, oldest first, then the state: run again after a failure, it
// skips the records already there. Abort requests and logs stay local.
func (s *Store) Migrate(ctx context.Context, from *state.Store, env string) (err error) {
	fail := func(err error) error { return fmt.Errorf("migrate %s from %s: %w", env, from.Dir(), err) }
	owner := state.Owner{Command: "migrate " + env + " to etcd"}
	local, err := from.Lock(ctx, env, owner, state.NoWait)
	if err != nil {
		return fail(err)
	}
	defer func() { err = errors.Join(err, local.Release()) }()
	l, err := s.Lock(ctx, env, owner, state.NoWait)
	if err != nil {
		return fail(err)
	}
	defer func() { err = errors.Join(err, l.Release()) }()

	cur, err := s.Load(env)
	if err != nil {
		return fail(err)
	}
	if !empty(cur) {
		return fail(fmt.Errorf("%w for %s (last good %q); nothing copied", ErrNotEmpty, env, cur.LastGood.Rev))
	}
	st, err := from.Load(env)
	if err != nil {
		return fail(err)
	}
	recs, err := from.History(env, 0)
	if err != nil {
		return fail(err)
	}
	if empty(st) && len(recs) == 0 {
		return fail(fmt.Errorf("no local state or history for %s: nothing to copy", env))
	}
	// Records are appended when their run ends, so finishing time is the
	// append order, whichever way the local store lists them.
	slices.SortStableFunc(recs, func(a, b state.Record) int { return a.Finished.Compare(b.Finished) })
	for _, rec := range recs {
		if err := s.Append(env, rec); err != nil {
			return fail(err)
		}
	}
	if err := s.Save(env, st); err != nil {
		return fail(err)
	}
	return nil
}

// empty reports whether st records nothing.
func empty(st state.State) bool {
	return st.LastGood.IsZero() && st.Previous.IsZero() && st.Current == nil &&
		len(st.Hosts) == 0 && len(st.Held) == 0 && st.Schema == 0
}
