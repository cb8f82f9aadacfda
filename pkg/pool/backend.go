package pool

import (
	"context"
	"errors"
	"fmt"
)

// Backend takes one host out of traffic and puts it back. Its contract,
// checked for every backend by pooltest.RunConformance:
//
//   - State only reads. An unknown host wraps ErrUnknownHost (ErrMissingKey,
//     ErrUnknownServer); a backend that does not answer in time,
//     ErrUnreachable; an etcd value that is not conftool's, ErrBadValue.
//   - Depool takes a pooled host out, waits for its sessions to drain where
//     the backend can see them (up to drain_timeout), and verifies the change
//     (up to verify_timeout). It returns a Prior recording the state it
//     found. A host that is not pooled (someone else depooled it, or it is
//     inactive) is left alone: nothing is written, the error wraps
//     ErrNotPooled, and the Prior has Changed false (Prior.LeftAlone), so the
//     caller reports the host and a Repool with that Prior does nothing. On
//     any other error, Prior.Changed says whether the host may have been
//     changed; the caller repools it with that Prior.
//   - Repool with a Prior whose Changed is false does nothing. Otherwise, if
//     the host is still as Depool left it, or part way when Depool was
//     interrupted (HAProxy: DRAIN, not yet MAINT; etcd: pooled=no written,
//     not yet verified or drained), Repool restores exactly Prior.Before
//     (pooled and weight, whatever the weight became meanwhile) and
//     verifies it (up to verify_timeout). If the host is already back as
//     Before, it only verifies (Repool is idempotent). In any other state
//     someone else changed the host: nothing is written and the error wraps
//     ErrChanged.
//   - Errors name the host and its etcd key or HAProxy server. Every network
//     call is bounded by the configured timeouts; an unreachable backend
//     fails within them and writes nothing.
type Backend interface {
	State(ctx context.Context, h Host) (State, error)
	Depool(ctx context.Context, h Host) (Prior, error)
	Repool(ctx context.Context, h Host, p Prior) error
	Close() error
}

// New returns the backend cfg chooses. It validates cfg first and does not
// connect: an unreachable etcd or HAProxy shows on the first call.
func New(cfg Config) (Backend, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		all := make([]error, len(errs))
		for i, e := range errs {
			all[i] = e
		}
		return nil, fmt.Errorf("pool config: %w", errors.Join(all...))
	}
	switch cfg.WithDefaults().Backend {
	case BackendEtcd:
		return NewEtcd(cfg)
	case BackendHAProxy:
		return NewHAProxy(cfg)
	}
	return NewNone(), nil
}
