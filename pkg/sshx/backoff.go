package sshx

import (
	"context"
	"math/rand/v2"
	"time"
)

// Re-dial backoff: the first re-dial after a drop waits about
// redialBackoffBase, doubling with each failed re-dial in a row, up to
// redialBackoffMax.
const (
	redialBackoffBase = 250 * time.Millisecond
	redialBackoffMax  = 5 * time.Second
)

// backoffDelay is the wait before a re-dial after failures failed ones in
// a row, with jitter in [half, full] so that hosts dropped together by one
// network blip do not re-dial in lockstep.
func backoffDelay(failures int) time.Duration {
	d := redialBackoffBase
	for i := 0; i < failures && d < redialBackoffMax; i++ {
		d *= 2
	}
	d = min(d, redialBackoffMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
