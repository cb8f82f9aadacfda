package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
)

// runtimeAPI sends one command per connection to HAProxy's runtime API (the
// "stats socket") with pkg/pool's client, and trims the answer: a command
// that succeeds answers "".
type runtimeAPI struct {
	rt *pool.Runtime
}

// newRuntimeAPI returns a client for addr, tcp://HOST:PORT or
// unix:///PATH; each command is bounded by timeout.
func newRuntimeAPI(addr string, timeout time.Duration) (*runtimeAPI, error) {
	rt, err := pool.NewRuntime(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &runtimeAPI{rt: rt}, nil
}

// Command sends cmd and returns HAProxy's answer, trimmed.
func (r *runtimeAPI) Command(ctx context.Context, cmd string) (string, error) {
	out, err := r.rt.Command(ctx, cmd)
	if err != nil {
		return "", fmt.Errorf("%q: %w", cmd, err)
	}
	return strings.TrimSpace(out), nil
}
