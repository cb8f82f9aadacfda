package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// WatchAbort's poll interval: zero means DefaultAbortPoll; others are kept
// within [MinAbortPoll, MaxAbortPoll].
const (
	DefaultAbortPoll = time.Second
	MinAbortPoll     = 10 * time.Millisecond
	MaxAbortPoll     = 10 * time.Second
)

// RequestAbort asks the rollout running on env to stop, by writing
// <env>/abort. Zero fields of by are filled in from this process.
func (s *Store) RequestAbort(env string, by Owner) error {
	dir, err := s.envDir(env)
	if err != nil {
		return fmt.Errorf("request abort: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, abortName), by.filled()); err != nil {
		return fmt.Errorf("request abort %s: %w", env, err)
	}
	return nil
}

// AbortRequested reports whether an abort of env is pending, and who asked.
// A request whose file cannot be decoded still counts, with a zero Owner.
func (s *Store) AbortRequested(env string) (*Owner, bool) {
	dir, err := s.envPath(env)
	if err != nil {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(dir, abortName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	var by Owner
	if err != nil || json.Unmarshal(data, &by) != nil {
		return &Owner{}, true // the file is there: the request stands
	}
	return &by, true
}

// ClearAbort withdraws a pending abort request of env, if any.
func (s *Store) ClearAbort(env string) error {
	dir, err := s.envPath(env)
	if err != nil {
		return fmt.Errorf("clear abort: %w", err)
	}
	if err := removeFile(filepath.Join(dir, abortName)); err != nil {
		return fmt.Errorf("clear abort %s: %w", env, err)
	}
	return nil
}

// WatchAbort looks for an abort request of env now and then every `every`
// (see DefaultAbortPoll) until ctx is done. It delivers the requester once
// on the returned channel, then closes it; when ctx ends first, the channel
// is closed with nothing sent. Receive with "by, ok := <-ch".
func (s *Store) WatchAbort(ctx context.Context, env string, every time.Duration) <-chan Owner {
	every = abortPoll(every)
	ch := make(chan Owner, 1)
	go func() {
		defer close(ch)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if by, ok := s.AbortRequested(env); ok {
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

// abortPoll applies WatchAbort's default and bounds to an interval.
func abortPoll(every time.Duration) time.Duration {
	switch {
	case every == 0:
		return DefaultAbortPoll
	case every < MinAbortPoll:
		return MinAbortPoll
	case every > MaxAbortPoll:
		return MaxAbortPoll
	}
	return every
}
