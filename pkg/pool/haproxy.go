package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// HAProxy is the haproxy backend: it changes the server's state through the
// load balancer's runtime API. Depool is drain, wait until the server's
// sessions reach 0 (or drain_timeout passes), then maint. Repool restores
// the weight, sets ready, and waits until the server reports UP.
//
// The runtime API has no compare-and-swap: between our read and our set,
// another operator's change can slip in. The environment lock keeps
// deployctl processes apart; Repool still refuses a server it finds in any
// state but the MAINT a depool leaves, or the DRAIN an interrupted depool
// leaves (ErrChanged).
type HAProxy struct {
	rt            *Runtime
	backend       string
	server        string // per-host template
	drainTimeout  time.Duration
	verifyTimeout time.Duration
	log           *slog.Logger
}

var _ Backend = (*HAProxy)(nil)

// NewHAProxy returns the haproxy backend for cfg (defaults applied). It does
// not connect.
func NewHAProxy(cfg Config) (*HAProxy, error) {
	cfg = cfg.WithDefaults()
	rt, err := NewRuntime(cfg.HAProxy.Address, cfg.HAProxy.Timeout)
	if err != nil {
		return nil, err
	}
	if err := checkName(cfg.HAProxy.Backend); err != nil {
		return nil, fmt.Errorf("haproxy backend: %w", err)
	}
	return &HAProxy{
		rt:            rt,
		backend:       cfg.HAProxy.Backend,
		server:        cfg.HAProxy.Server,
		drainTimeout:  cfg.DrainTimeout,
		verifyTimeout: cfg.VerifyTimeout,
		log:           slog.Default(),
	}, nil
}

// serverName fills the server template for h and checks the result.
func (b *HAProxy) serverName(h Host) (string, error) {
	s, err := h.expand(b.server)
	if err != nil {
		return "", fmt.Errorf("haproxy server name: %w", err)
	}
	if err := checkName(s); err != nil {
		return "", fmt.Errorf("haproxy server name: %w", err)
	}
	return s, nil
}

// State reads the host's server from the runtime API.
func (b *HAProxy) State(ctx context.Context, h Host) (State, error) {
	srv, err := b.serverName(h)
	if err != nil {
		return State{}, fmt.Errorf("state %s: %w", h.Name, err)
	}
	st, err := b.rt.Server(ctx, b.backend, srv)
	if err != nil {
		return State{}, fmt.Errorf("state %s (haproxy %s/%s): %w", h.Name, b.backend, srv, err)
	}
	return st.State(), nil
}

// Depool drains the host's server, waits for its sessions to end (up to
// drain_timeout; then it goes on and logs how many are left), puts it in
// maint and checks that HAProxy shows MAINT. Cut short after the drain
// (ctx cancelled, the process killed), it leaves the server in DRAIN; the
// Prior, Changed from before the first command, lets Repool put it back.
func (b *HAProxy) Depool(ctx context.Context, h Host) (Prior, error) {
	p := Prior{Host: h.Name}
	srv, err := b.serverName(h)
	if err != nil {
		return p, fmt.Errorf("depool %s: %w", h.Name, err)
	}
	name := b.backend + "/" + srv
	fail := func(err error) (Prior, error) {
		return p, fmt.Errorf("depool %s (haproxy %s): %w", h.Name, name, err)
	}
	st, err := b.rt.Server(ctx, b.backend, srv)
	if err != nil {
		return fail(err)
	}
	p.Before = st.State()
	if p.Before.Pooled != PooledYes {
		return p, notPooled(h, "haproxy "+name, p.Before)
	}
	p.Changed = true
	if err := b.rt.set(ctx, "set server "+name+" state drain"); err != nil {
		return fail(err)
	}
	var left int
	err = waitFor(ctx, b.drainTimeout, func(ctx context.Context) (bool, error) {
		st, err := b.rt.Server(ctx, b.backend, srv)
		left = st.Sessions
		return err == nil && st.Sessions == 0, err
	})
	switch {
	case errors.Is(err, errTimedOut):
		b.log.Warn("drain timeout passed, going to maint", "host", h.Name, "server", name, "sessions", left, "drain_timeout", b.drainTimeout)
	case err != nil:
		return fail(fmt.Errorf("drain: %w", err))
	}
	if err := b.rt.set(ctx, "set server "+name+" state maint"); err != nil {
		return fail(err)
	}
	err = waitFor(ctx, b.verifyTimeout, func(ctx context.Context) (bool, error) {
		st, err := b.rt.Server(ctx, b.backend, srv)
		return err == nil && st.Maint(), err
	})
	if err != nil {
		return fail(verifyErr(err, "MAINT", b.verifyTimeout))
	}
	return p, nil
}

// Repool restores the weight Depool found, sets the server ready and waits
// until HAProxy reports it UP. It accepts the server in MAINT, as Depool
// leaves it, and in DRAIN, as a Depool cut short between drain and maint
// (cancelled, or the process died) leaves it: otherwise such a host could
// never be put back. Only the forced flags our depool sets are accepted;
// see ServerStatus.LeftByDepool.
func (b *HAProxy) Repool(ctx context.Context, h Host, p Prior) error {
	if !p.Changed {
		return nil
	}
	srv, err := b.serverName(h)
	if err != nil {
		return fmt.Errorf("repool %s: %w", h.Name, err)
	}
	name := b.backend + "/" + srv
	fail := func(err error) error {
		return fmt.Errorf("repool %s (haproxy %s): %w", h.Name, name, err)
	}
	st, err := b.rt.Server(ctx, b.backend, srv)
	if err != nil {
		return fail(err)
	}
	switch {
	case st.LeftByDepool():
		// As Depool left it, or part way (DRAIN), perhaps with another
		// weight set meanwhile: restore Before's weight, as the contract
		// says, whichever of the two states we find.
		if st.Weight != p.Before.Weight {
			if err := b.rt.set(ctx, "set server "+name+" weight "+strconv.Itoa(p.Before.Weight)); err != nil {
				return fail(err)
			}
		}
		if err := b.rt.set(ctx, "set server "+name+" state ready"); err != nil {
			return fail(err)
		}
	case st.Admin == 0 && st.Weight == p.Before.Weight:
		// Already back (a repeated Repool): only verify.
	default:
		return fail(fmt.Errorf("%w: haproxy shows %s weight %d (admin state %#x), expected MAINT or DRAIN from our depool; left as it is",
			ErrChanged, st.Status, st.Weight, st.Admin))
	}
	var last string
	err = waitFor(ctx, b.verifyTimeout, func(ctx context.Context) (bool, error) {
		st, err := b.rt.Server(ctx, b.backend, srv)
		last = st.Status
		// Back means no maint or drain flag left as well as an UP status,
		// as the etcd backend's verify checks it.
		return err == nil && st.FullyUp() && !st.Maint() && !st.Drain(), err
	})
	if err != nil {
		return fail(verifyErr(err, "UP (last "+last+")", b.verifyTimeout))
	}
	return nil
}

// Close releases nothing: each command has its own connection.
func (b *HAProxy) Close() error { return nil }

// verifyErr words a failed verification wait.
func verifyErr(err error, want string, timeout time.Duration) error {
	if errors.Is(err, errTimedOut) {
		return fmt.Errorf("%w: not %s after %s", ErrVerify, want, timeout)
	}
	return fmt.Errorf("verify: %w", err)
}
