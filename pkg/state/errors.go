package state

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by the Store, wrapped with the environment or file they
// concern. Test with errors.Is.
var (
	// ErrLocked: another live process holds the environment's lock. The
	// error is a *LockedError that names the holder.
	ErrLocked = errors.New("environment locked")
	// ErrNoState: the environment has no last good rev recorded (no rollout
	// of it ever finished), so there is nothing to go back to.
	ErrNoState = errors.New("no last good recorded")
	// ErrBadName: an environment name or rollout ID is not made of
	// [A-Za-z0-9._-] (or is "." or "..").
	ErrBadName = errors.New("invalid name")
)

// LockedError is the error for a lock held by another live process. It
// wraps ErrLocked.
type LockedError struct {
	Env    string
	Holder *Owner // nil when the holder has not recorded itself yet (or its lock.json is unreadable)
}

func (e *LockedError) Error() string {
	who := "another process (owner not recorded)"
	if e.Holder != nil {
		who = e.Holder.String()
		if !e.Holder.Time.IsZero() {
			who += fmt.Sprintf(" (held for %s)", time.Since(e.Holder.Time).Round(time.Second))
		}
	}
	return fmt.Sprintf("%s: %s is held by %s", ErrLocked, e.Env, who)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }
