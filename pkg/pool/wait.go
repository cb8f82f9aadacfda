package pool

import (
	"context"
	"errors"
	"time"
)

// pollInterval is how often a wait looks again (drain, verify).
const pollInterval = 20 * time.Millisecond

// errTimedOut ends a wait whose condition did not hold in time.
var errTimedOut = errors.New("timed out")

// waitFor calls cond every pollInterval until it reports done, returns an
// error, or timeout passes (errTimedOut). It always calls cond at least
// once. Each call of cond is bounded by its own network timeouts, so the
// whole wait ends within timeout plus one call.
func waitFor(ctx context.Context, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		done, err := cond(ctx)
		switch {
		case done:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errTimedOut
		case <-tick.C:
		}
	}
}
