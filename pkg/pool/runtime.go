package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// maxResponse bounds what one runtime API answer may hold; a "show stat" of a
// large HAProxy is well under it.
const maxResponse = 16 << 20

// Runtime is a client of HAProxy's runtime API (the "stats socket"), over
// TCP or a unix socket. It sends one command per connection and reads the
// answer until HAProxy closes it, every step under one deadline.
type Runtime struct {
	network, addr string
	timeout       time.Duration
}

// NewRuntime returns a client for address (tcp://host:port or
// unix:///path/haproxy.sock); each command is bounded by timeout (zero means
// DefaultHAProxyTimeout). It does not connect.
func NewRuntime(address string, timeout time.Duration) (*Runtime, error) {
	r, err := parseAddress(address)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultHAProxyTimeout
	}
	r.timeout = timeout
	return r, nil
}

func parseAddress(address string) (*Runtime, error) {
	u, err := url.Parse(address)
	if err != nil {
		return nil, fmt.Errorf("haproxy runtime address %q: %w", address, err)
	}
	switch {
	case u.Scheme == "tcp" && u.Host != "" && u.Port() != "":
		return &Runtime{network: "tcp", addr: u.Host}, nil
	case u.Scheme == "unix" && u.Path != "":
		return &Runtime{network: "unix", addr: u.Path}, nil
	}
	return nil, fmt.Errorf("haproxy runtime address %q: want tcp://host:port or unix:///path", address)
}

// String returns the address in the form NewRuntime reads.
func (r *Runtime) String() string {
	if r.network == "unix" {
		return "unix://" + r.addr
	}
	return "tcp://" + r.addr
}

// Command sends one command (without the newline) and returns HAProxy's
// answer. A connection that fails or an answer that does not end within the
// timeout is an ErrUnreachable.
func (r *Runtime) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n;") {
		return "", fmt.Errorf("haproxy command %q: newlines and ';' are not allowed", cmd)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, r.network, r.addr)
	if err != nil {
		return "", r.unreachable(ctx, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("haproxy %s: %w", r, err)
	}
	// Cancelling ctx must end a read that is waiting on a silent peer.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", r.unreachable(ctx, err)
	}
	b, err := io.ReadAll(io.LimitReader(conn, maxResponse))
	if err != nil {
		return "", r.unreachable(ctx, err)
	}
	return string(b), nil
}

func (r *Runtime) unreachable(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("haproxy %s: %w", r, ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: haproxy %s did not answer within %s", ErrUnreachable, r, r.timeout)
	}
	return fmt.Errorf("%w: haproxy %s: %v", ErrUnreachable, r, err)
}

// set sends a command that answers nothing on success, such as
// "set server b/s state drain"; any answer is an error.
func (r *Runtime) set(ctx context.Context, cmd string) error {
	if err := checkFence(ctx); err != nil {
		return err
	}
	out, err := r.Command(ctx, cmd)
	if err != nil {
		return err
	}
	return answerErr(cmd, out)
}

// answerErr turns HAProxy's text answer to a command into an error; an
// empty answer means success.
func answerErr(cmd, out string) error {
	msg := strings.TrimSpace(out)
	switch {
	case msg == "":
		return nil
	case strings.HasPrefix(msg, "No such server"), strings.HasPrefix(msg, "No such backend"),
		strings.HasPrefix(msg, "No such proxy"), strings.HasPrefix(msg, "Can't find backend"):
		return fmt.Errorf("%w: %q: haproxy says %q", ErrUnknownServer, cmd, msg)
	}
	return fmt.Errorf("haproxy %q: %s", cmd, msg)
}

// nameRE is HAProxy's alphabet for proxy and server names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

// checkName refuses a backend or server name HAProxy could not have, which
// also keeps anything but the intended command off the runtime API.
func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%q is not an haproxy name (letters, digits, '.', '_', ':', '-')", name)
	}
	return nil
}
