package etcdstate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/deployctl/deployctl/pkg/state"
)

// RequestAbort asks the run holding env's lock, on whatever deploy host,
// to stop: it writes <prefix><env>/abort (not fenced: the requester does
// not hold the lock). Zero fields of by are filled in from this process.
func (s *Store) RequestAbort(env string, by state.Owner) error {
	if err := checkName("environment", env); err != nil {
		return fmt.Errorf("request abort: %w", err)
	}
	data, err := json.Marshal(filled(by))
	if err != nil {
		return fmt.Errorf("request abort %s: %w", env, err)
	}
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	if _, err := s.cli.Put(ctx, s.key(env, abortKey), string(data)); err != nil {
		return s.etcdErr(ctx, "request abort "+env, err)
	}
	return nil
}

// AbortRequested reports whether an abort of env is pending, and who
// asked. A value that cannot be decoded still counts, with a zero Owner;
// when etcd does not answer, nothing is pending (WatchAbort asks again).
func (s *Store) AbortRequested(env string) (*state.Owner, bool) {
	return s.abortRequested(context.Background(), env)
}

func (s *Store) abortRequested(ctx context.Context, env string) (*state.Owner, bool) {
	if checkName("environment", env) != nil {
		return nil, false
	}
	ctx, cancel := s.rctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.key(env, abortKey))
	if err != nil || len(resp.Kvs) == 0 {
		return nil, false
	}
	var by state.Owner
	if json.Unmarshal(resp.Kvs[0].Value, &by) != nil {
		return &state.Owner{}, true // the key is there: the request stands
	}
	return &by, true
}

// ClearAbort withdraws a pending abort request of env, if any.
func (s *Store) ClearAbort(env string) error {
	if err := checkName("environment", env); err != nil {
		return fmt.Errorf("clear abort: %w", err)
	}
	ctx, cancel := s.rctx(context.Background())
	defer cancel()
	if _, err := s.cli.Delete(ctx, s.key(env, abortKey)); err != nil {
		return s.etcdErr(ctx, "clear abort "+env, err)
	}
	return nil
}

// WatchAbort looks for an abort request of env now and then every `every`
// (zero: state.DefaultAbortPoll, kept within state.MinAbortPoll and
// state.MaxAbortPoll), each look bounded by RequestTimeout, until ctx is
// done. It delivers the requester once, then closes the channel; when ctx
// ends first, the channel is closed with nothing sent.
func (s *Store) WatchAbort(ctx context.Context, env string, every time.Duration) <-chan state.Owner {
	if every == 0 {
		every = state.DefaultAbortPoll
	}
	every = min(max(every, state.MinAbortPoll), state.MaxAbortPoll)
	ch := make(chan state.Owner, 1)
	go func() {
		defer close(ch)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if by, ok := s.abortRequested(ctx, env); ok {
				ch <- *by // buffered: never blocks
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch
}
