package pool_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/pool/pooltest"
)

// broken is a Fake that breaks one rule of the Backend contract.
type broken struct {
	*pooltest.Fake
	mode string
}

func (b broken) Depool(ctx context.Context, h pool.Host) (pool.Prior, error) {
	if b.mode == "depools-anyone" {
		st, _ := b.Get(h.Name)
		b.Set(h.Name, pool.State{Pooled: pool.PooledNo, Weight: st.Weight})
		return pool.Prior{Host: h.Name, Changed: true, Before: pool.State{Pooled: pool.PooledYes, Weight: st.Weight}}, nil
	}
	return b.Fake.Depool(ctx, h)
}

func (b broken) Repool(ctx context.Context, h pool.Host, p pool.Prior) error {
	switch b.mode {
	case "forgets-weight":
		if st, _ := b.Get(h.Name); p.Changed && st.Pooled == pool.PooledNo {
			b.Set(h.Name, pool.State{Pooled: pool.PooledYes, Weight: st.Weight})
		}
		return nil
	case "refuses-drain":
		// Knows only the MAINT a finished depool leaves.
		if st, _ := b.Get(h.Name); p.Changed && st.LB == "DRAIN" {
			return fmt.Errorf("repool %s: %w", h.Name, pool.ErrChanged)
		}
	case "overwrites-others":
		if p.Changed {
			b.Set(h.Name, p.Before)
		}
		return nil
	}
	return b.Fake.Repool(ctx, h, p)
}

func (b broken) State(ctx context.Context, h pool.Host) (pool.State, error) {
	st, err := b.Fake.State(ctx, h)
	if b.mode == "always-pooled" && err == nil {
		st.Pooled = pool.PooledYes
	}
	return st, err
}

// TestConformanceCatchesBrokenBackends runs the suite against backends that
// each break one rule, in a child test process, and expects the suite to
// fail on that rule: the suite can fail.
func TestConformanceCatchesBrokenBackends(t *testing.T) {
	if mode := os.Getenv("POOLTEST_BROKEN"); mode != "" {
		pooltest.RunConformance(t, func(t *testing.T) pooltest.Env {
			e := fakeEnv(t, true)
			e.Backend = broken{e.Backend.(*pooltest.Fake), mode}
			return e
		})
		return
	}
	tests := []struct {
		mode     string
		wantFail string // a subtest that must fail
	}{
		{"depools-anyone", "depool_leaves_a_host_someone_else_depooled"},
		{"forgets-weight", "repool_restores_the_weight"},
		{"overwrites-others", "repool_refuses_a_host_someone_else_changed"},
		{"always-pooled", "depool_then_repool_restores"},
		{"refuses-drain", "repool_restores_a_host_an_interrupted_depool_left"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceCatchesBrokenBackends$", "-test.v")
			cmd.Env = append(os.Environ(), "POOLTEST_BROKEN="+tt.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend that %s:\n%s", tt.mode, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestConformanceCatchesBrokenBackends/"+tt.wantFail) {
				t.Errorf("subtest %s did not fail:\n%s", tt.wantFail, out)
			}
		})
	}
}
