package pool

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		cond  func(n int) (bool, error)
		want  error
		calls int // at least
	}{
		{name: "done at once", cond: func(int) (bool, error) { return true, nil }, calls: 1},
		{name: "done on third look", cond: func(n int) (bool, error) { return n == 3, nil }, calls: 3},
		{name: "error stops", cond: func(int) (bool, error) { return false, boom }, want: boom, calls: 1},
		{name: "never", cond: func(int) (bool, error) { return false, nil }, want: errTimedOut, calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := waitFor(context.Background(), 350*time.Millisecond, func(context.Context) (bool, error) {
				n++
				return tt.cond(n)
			})
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("waitFor = %v, want %v", err, tt.want)
			}
			if n < tt.calls {
				t.Errorf("cond called %d times, want at least %d", n, tt.calls)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitFor(ctx, time.Minute, func(context.Context) (bool, error) { return false, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}
