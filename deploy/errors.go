package deploy

import "errors"

// Outcomes of a rollout that did not simply finish. cmd maps them to exit
// codes (DESIGN.md): ErrRolledBack 3, ErrRollbackFailed 4, ErrInterrupted
// 130; any other error is 1 (nothing changed).
var (
	// ErrRolledBack: a step failed and every changed host is back on last good.
	ErrRolledBack = errors.New("rolled back")
	// ErrRollbackFailed: returning to last good failed on some hosts; they
	// are left depooled and named.
	ErrRollbackFailed = errors.New("rollback failed")
	// ErrInterrupted: a second interrupt stopped the rollback itself.
	ErrInterrupted = errors.New("interrupted")
	// ErrNoLastGood: there is no last good rev to return to and the
	// rollout was not started with --initial.
	ErrNoLastGood = errors.New("no last good rev")
)
