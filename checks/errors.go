package checks

import "errors"

// Errors a check's result can wrap; test them with errors.Is.
var (
	// ErrFailed: the check saw something wrong. The message says what.
	ErrFailed = errors.New("check failed")
	// ErrInconclusive: the check failed because its limits were spent on
	// measurements that could not decide (no data, too few requests,
	// errors asking for data). It always comes with ErrFailed.
	ErrInconclusive = errors.New("inconclusive")
	// ErrTimeout: the check ran out of its timeout before it could pass.
	// It always comes with ErrFailed.
	ErrTimeout = errors.New("timeout")
	// ErrSkipped: the check did not run because a port check of the same
	// stage failed first.
	ErrSkipped = errors.New("skipped")
	// ErrNoRunner: the check needs to run commands on the host and the
	// target has no Runner.
	ErrNoRunner = errors.New("no runner for the host")
)
