package sshx_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/sshx"
)

func TestEach(t *testing.T) {
	tests := []struct {
		name     string
		parallel int
		n        int
		wantMax  int
	}{
		{"bounded", 3, 10, 3},
		{"default bound", 0, 25, sshx.DefaultParallel},
		{"fewer items than bound", 8, 2, 2},
		{"no items", 4, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var running, peak atomic.Int64
			errs := sshx.Each(context.Background(), tt.parallel, tt.n, func(ctx context.Context, i int) error {
				now := running.Add(1)
				for {
					p := peak.Load()
					if now <= p || peak.CompareAndSwap(p, now) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				running.Add(-1)
				if i%2 == 1 {
					return fmt.Errorf("item %d", i)
				}
				return nil
			})
			if len(errs) != tt.n {
				t.Fatalf("%d errors for %d items", len(errs), tt.n)
			}
			for i, err := range errs {
				if (i%2 == 1) != (err != nil) {
					t.Fatalf("errs[%d] = %v", i, err)
				}
			}
			if int(peak.Load()) != tt.wantMax {
				t.Fatalf("peak concurrency %d, want %d", peak.Load(), tt.wantMax)
			}
		})
	}
}

func TestEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int64
	errs := sshx.Each(ctx, 1, 5, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 1 {
			cancel()
		}
		return nil
	})
	if started.Load() != 2 {
		t.Fatalf("%d calls started after cancel at the second", started.Load())
	}
	for i, err := range errs[2:] {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("errs[%d] = %v, want context.Canceled", i+2, err)
		}
	}
}
