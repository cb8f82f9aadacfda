package testfleet

import (
	"context"
	"fmt"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

// haproxyTimeout bounds one runtime API command.
const haproxyTimeout = 5 * time.Second

// ServerStatus returns the status column of `show stat` (UP, DOWN, DRAIN,
// MAINT, "UP 1/2", ...) for every server of the fleet's backend, by name.
func (f *Fleet) ServerStatus(ctx context.Context) (map[string]string, error) {
	out, err := f.HAProxyCommand(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return parseServerStatus(out, f.Backend)
}

// HAProxyCommand sends one command to the runtime API over TCP, with
// pkg/pool's client, and returns the answer.
func (f *Fleet) HAProxyCommand(ctx context.Context, cmd string) (string, error) {
	rt, err := pool.NewRuntime("tcp://"+f.HAProxyAPI, haproxyTimeout)
	if err != nil {
		return "", err
	}
	out, err := rt.Command(ctx, cmd)
	if err != nil {
		return "", fmt.Errorf("%q: %w", cmd, err)
	}
	return out, nil
}

// parseServerStatus reads the status of backend's servers from `show stat`.
func parseServerStatus(stat, backend string) (map[string]string, error) {
	return pool.ParseStatuses(stat, backend)
}
