package deploy

import (
	"errors"
	"fmt"
)

// Outcomes of a run that did not simply finish. cmd maps them to exit
// codes (DESIGN.md): ErrRolledBack 3, ErrRollbackFailed and ErrPanic 4,
// ErrRecord 6, ErrInterrupted 130, ErrUsage 2; any other error is 1
// (nothing changed).
var (
	// ErrRolledBack: a step failed and every changed host is back on last good.
	ErrRolledBack = errors.New("rolled back")
	// ErrRollbackFailed: returning to last good failed on some hosts; they
	// are left depooled and named.
	ErrRollbackFailed = errors.New("rollback failed")
	// ErrInterrupted: a second interrupt stopped the rollback itself.
	ErrInterrupted = errors.New("interrupted")
	// ErrPanic: a bug in deployctl stopped the run; what could be rolled
	// back was, and the exit says a person must look (as ErrRollbackFailed).
	ErrPanic = errors.New("panic")
	// ErrNoLastGood: there is no last good rev to return to and the
	// rollout was not started with --initial.
	ErrNoLastGood = errors.New("no last good rev")
	// ErrSchema: the schema guard refused a rev (nothing changed) or a
	// host's return to an older one.
	ErrSchema = errors.New("schema guard")
	// ErrRecord: what happened could not be recorded (state, history,
	// clearing an abort request); the fleet is as the summary says. Exit 6.
	ErrRecord = errors.New("recording the rollout failed")
	// ErrLockLost: the environment's lock stopped being this process's
	// (a shared store's lease ran out): the run stopped changing anything
	// at once. Exit 4: the hosts it was changing need an abort, from any
	// deploy host.
	ErrLockLost = errors.New("lost the environment's lock")
	// ErrUnfinished: the environment's record holds a rollout that did not
	// finish (its process died, or a second interrupt stopped its
	// rollback): nothing may start before an abort ends it. Exit 5, as
	// for a lock held by a live rollout.
	ErrUnfinished = errors.New("an unfinished rollout holds the environment")
	// ErrUsage: the request cannot be run as asked (a flag that does not
	// fit the environment). Exit 2.
	ErrUsage = errors.New("usage")
)

// usageErrorf is an error that wraps ErrUsage without showing it: its text
// is the message alone.
func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

type usageError struct{ err error }

func (u *usageError) Error() string        { return u.err.Error() }
func (u *usageError) Unwrap() error        { return u.err }
func (u *usageError) Is(target error) bool { return target == ErrUsage }
