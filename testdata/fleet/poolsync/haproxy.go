package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds what is read back from one runtime API command.
const maxAnswer = 1 << 20

// runtimeAPI sends one command per connection to HAProxy's runtime API (the
// "stats socket"), in its non-interactive mode: HAProxy answers and closes.
type runtimeAPI struct {
	network, address string
	timeout          time.Duration
}

// parseAPIAddress splits tcp://HOST:PORT or unix:///PATH.
func parseAPIAddress(s string) (network, address string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return "", "", fmt.Errorf("%q: %w", s, err)
		}
		return "tcp", u.Host, nil
	case "unix":
		if u.Path == "" {
			return "", "", fmt.Errorf("%q: no socket path", s)
		}
		return "unix", u.Path, nil
	}
	return "", "", fmt.Errorf("%q: want tcp://HOST:PORT or unix:///PATH", s)
}

func newRuntimeAPI(addr string, timeout time.Duration) (*runtimeAPI, error) {
	network, address, err := parseAPIAddress(addr)
	if err != nil {
		return nil, err
	}
	return &runtimeAPI{network: network, address: address, timeout: timeout}, nil
}

// Command sends cmd and returns HAProxy's answer, trimmed.
func (r *runtimeAPI) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n;") {
		return "", fmt.Errorf("haproxy command %q: must be one command on one line", cmd)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, r.network, r.address)
	if err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	b, err := io.ReadAll(io.LimitReader(conn, maxAnswer))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	return strings.TrimSpace(string(b)), nil
}
