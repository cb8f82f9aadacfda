package sshx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// clientVersion is the SSH identification string deployctl sends.
const clientVersion = "SSH-2.0-deployctl"

// dialer opens connections for one Config and ssh_config file.
type dialer struct {
	cfg  Config // defaults applied
	sc   *sshConfig
	keys hostKeys
}

func newDialer(cfg Config) (*dialer, error) {
	cfg = cfg.withDefaults()
	sc, err := loadSSHConfig(cfg.ConfigFile)
	if err != nil {
		return nil, err
	}
	return &dialer{cfg: cfg, sc: sc, keys: newHostKeys(cfg)}, nil
}

// dial connects to ep, through its ProxyJump hops when it has any. The
// first hop's own ProxyJump is honoured too, as OpenSSH does, up to
// maxJumpDepth. count, when not nil, counts the bytes of ep's transport.
func (d *dialer) dial(ctx context.Context, ep endpoint, depth int, count *counters) (*conn, error) {
	if depth > maxJumpDepth {
		return nil, fmt.Errorf("proxy jump chain deeper than %d hops (a loop in ssh config?)", maxJumpDepth)
	}
	var via *conn
	for i, spec := range ep.jumps {
		hop, err := resolveJump(d.cfg, d.sc, spec)
		if err != nil {
			return nil, err
		}
		var next *conn
		if i == 0 {
			next, err = d.dial(ctx, hop, depth+1, nil)
		} else {
			next, err = d.connect(ctx, hop, via, nil)
		}
		if err != nil {
			if via != nil {
				via.close()
			}
			return nil, fmt.Errorf("jump host %s: %w", hop.name, err)
		}
		via = next
	}
	c, err := d.connect(ctx, ep, via, count)
	if err != nil && via != nil {
		via.close()
	}
	return c, err
}

// connect opens the transport to ep (a TCP connection, or a channel through
// via) and runs the SSH handshake, all within Config.ConnectTimeout.
func (d *dialer) connect(ctx context.Context, ep endpoint, via *conn, count *counters) (*conn, error) {
	timeout := d.cfg.ConnectTimeout
	dctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrConnectTimeout)
	defer cancel()

	var raw net.Conn
	var err error
	if via == nil {
		var nd net.Dialer
		raw, err = nd.DialContext(dctx, "tcp", ep.hostPort())
	} else {
		raw, err = via.client.DialContext(dctx, "tcp", ep.hostPort())
	}
	if err != nil {
		return nil, dialError(ctx, dctx, ep, timeout, err)
	}
	if count != nil {
		raw = countingConn{Conn: raw, c: count}
	}

	a, err := newAuth(ep, timeout)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	defer a.close()

	// A channel through a jump host has no deadlines, so the handshake is
	// bounded by closing the transport under it.
	var expired atomic.Bool
	stop := context.AfterFunc(dctx, func() {
		expired.Store(true)
		raw.Close()
	})
	cc := &ssh.ClientConfig{
		User:              ep.user,
		Auth:              a.methods(),
		HostKeyCallback:   d.keys.callback(ep),
		HostKeyAlgorithms: d.keys.algorithms(ep.hostPort()),
		ClientVersion:     clientVersion,
		Timeout:           timeout,
	}
	sc, chans, reqs, err := ssh.NewClientConn(raw, ep.hostPort(), cc)
	if !stop() || err != nil {
		if err == nil {
			sc.Close()
			err = errors.New("handshake interrupted")
		}
		var hk *HostKeyError
		switch {
		case errors.As(err, &hk):
			return nil, hk
		case expired.Load():
			return nil, dialError(ctx, dctx, ep, timeout, err)
		case a.asked.Load():
			return nil, fmt.Errorf("%s: authentication refused (%s): %w", ep, a.describe(), err)
		}
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	if count != nil {
		count.dials.Add(1)
	}
	return newConn(ep.name, ssh.NewClient(sc, chans, reqs), via, d.cfg.Keepalive), nil
}

// dialError names why connecting to ep ended early: the caller's context,
// or the connect timeout (ErrConnectTimeout), or err itself.
func dialError(ctx, dctx context.Context, ep endpoint, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", ep, context.Cause(ctx))
	}
	if dctx.Err() != nil {
		return fmt.Errorf("%s: %w (no answer within %s)", ep, context.Cause(dctx), timeout)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: %w: %v", ep, ErrConnectTimeout, err)
	}
	return fmt.Errorf("%s: %w", ep, err)
}
