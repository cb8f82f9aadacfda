package sshx

import (
	"context"
	"sync"
)

// Each calls fn(ctx, i) for every i in [0, n), at most parallel at a time
// (parallel <= 0 means DefaultParallel), and waits for all of them. It
// returns each call's error at its index; a call never started because
// ctx ended gets ctx's error. Each does not cancel the others when one
// fails: every host gets its answer, and the caller decides what a
// failure means.
func Each(ctx context.Context, parallel, n int, fn func(ctx context.Context, i int) error) []error {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for j := i; j < n; j++ {
				errs[j] = context.Cause(ctx)
			}
			wg.Wait()
			return errs
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		})
	}
	wg.Wait()
	return errs
}
