package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Timing of the port wait.
const (
	portPoll        = 50 * time.Millisecond  // between attempts: a deploy waits on it
	portDialTimeout = 2 * time.Second        // one TCP connect
	portListenPoll  = 500 * time.Millisecond // between looks at the host's sockets
)

// portProbe waits for the service port.
type portProbe struct{ d Spec }

func (p portProbe) run(ctx context.Context, e env) (outcome, error) {
	port := p.d.Port
	if port == 0 {
		port = e.t.Port
	}
	if port <= 0 {
		return outcome{}, fmt.Errorf("no port to wait for: set port, or the service port")
	}
	ctx, cancel := context.WithTimeout(ctx, p.d.PortTimeout)
	defer cancel()
	var ev string
	var err error
	if p.d.From == FromHost {
		ev, err = waitListen(ctx, e.t.Runner, port)
	} else {
		ev, err = WaitPort(ctx, net.JoinHostPort(e.t.address(), strconv.Itoa(port)))
	}
	return outcome{evidence: ev}, err
}

// WaitPort waits until addr (host:port) accepts a TCP connection, trying
// every 200ms, and returns what it saw. It waits until ctx ends, and at
// most DefaultPortTimeout when ctx has no deadline. Running out of time is
// an error wrapping ErrFailed and ErrTimeout.
func WaitPort(ctx context.Context, addr string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPortTimeout)
		defer cancel()
	}
	start := time.Now()
	var d net.Dialer
	var last error
	for n := 1; ; n++ {
		dctx, cancel := context.WithTimeout(ctx, portDialTimeout)
		conn, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			conn.Close()
			return fmt.Sprintf("%s accepted a TCP connection after %s (%d attempts)", addr, since(start), n), nil
		}
		last = err
		if waitErr := sleep(ctx, portPoll); waitErr != nil {
			return "", portTimeout(waitErr, fmt.Sprintf("%s did not accept a TCP connection within %s (%d attempts; last: %v)", addr, since(start), n, last))
		}
	}
}

// waitListen waits until a socket listens on port on the host, as its
// /proc/net/tcp and tcp6 say: this needs nothing on the host but cat, and
// sees services bound to loopback only.
func waitListen(ctx context.Context, r Runner, port int) (string, error) {
	if r == nil {
		return "", ErrNoRunner
	}
	start := time.Now()
	var last error
	for n := 1; ; n++ {
		out, err := r.Run(ctx, nil, "sh", "-c", scriptProcNetTCP)
		if err == nil {
			if listening(out, port) {
				return fmt.Sprintf("a socket listens on port %d on the host after %s (%d looks)", port, since(start), n), nil
			}
			last = fmt.Errorf("no socket listens on port %d", port)
		} else {
			last = err
		}
		if waitErr := sleep(ctx, portListenPoll); waitErr != nil {
			return "", portTimeout(waitErr, fmt.Sprintf("port %d did not listen on the host within %s (%d looks; last: %v)", port, since(start), n, last))
		}
	}
}

// portTimeout turns the end of a port wait into its error: a deadline is a
// failed check, a cancellation is not.
func portTimeout(ctxErr error, saw string) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w: %s", ErrFailed, ErrTimeout, saw)
	}
	return fmt.Errorf("%w: %s", ctxErr, saw)
}

// scriptProcNetTCP prints the host's TCP sockets; tcp6 is absent when IPv6
// is off.
const scriptProcNetTCP = `cat /proc/net/tcp; cat /proc/net/tcp6 2>/dev/null; true`

// listening reports whether /proc/net/tcp{,6} text shows a socket in state
// LISTEN (0A) on port.
func listening(procNet []byte, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(bytes.NewReader(procNet))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st ...
		if len(f) > 3 && f[3] == "0A" && strings.HasSuffix(f[1], want) {
			return true
		}
	}
	return false
}

// sleep waits d or until ctx ends, and returns ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
