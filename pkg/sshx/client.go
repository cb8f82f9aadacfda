package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	// killGrace is how long a cancelled command has to exit after SIGTERM
	// before it gets SIGKILL.
	killGrace = 2 * time.Second
	// closeGrace is how long a session may take to end after SIGKILL and
	// close before the connection itself is dropped (and re-dialled later).
	closeGrace = time.Second
	// exitRace is how long a session that ended without an exit status
	// waits to learn whether the whole connection went with it.
	exitRace = 200 * time.Millisecond
	// maxCommands bounds the commands running at once on one connection.
	// OpenSSH allows 10 sessions (MaxSessions); two stay free for the kill
	// sessions that stop cancelled commands.
	maxCommands = 8
	// refusedRetries bounds how often a refused session is asked for
	// again, after refusedBackoff times the refusals so far (at most
	// about a second in all).
	refusedRetries = 8
	refusedBackoff = 25 * time.Millisecond
)

// Client runs commands on one host over one SSH connection, which it
// opens at Dial, reuses for every command (one session each), and re-dials
// once, with backoff, when it finds it dropped. A Client is safe for
// concurrent use.
type Client struct {
	target   Target
	ep       endpoint
	d        *dialer
	sessions chan struct{} // semaphore of maxCommands
	shells   shellSet
	count    counters

	mu       sync.Mutex
	cur      *conn
	failures int // failed re-dials in a row, for the backoff
	closed   bool
}

// Dial resolves t (see Config for how the inventory, the ssh: section and
// ssh_config rank), connects with a verified host key, and returns a
// Client holding the connection.
func Dial(ctx context.Context, cfg Config, t Target) (*Client, error) {
	d, err := newDialer(cfg)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.Name, err)
	}
	return dialClient(ctx, d, t)
}

func dialClient(ctx context.Context, d *dialer, t Target) (*Client, error) {
	ep, err := resolveTarget(d.cfg, d.sc, t)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.Name, err)
	}
	c := &Client{
		target:   t,
		ep:       ep,
		d:        d,
		sessions: make(chan struct{}, maxCommands),
	}
	cn, err := d.dial(ctx, ep, 0, &c.count)
	if err != nil {
		return nil, fmt.Errorf("ssh %w", err)
	}
	c.cur = cn
	return c, nil
}

// Host returns the target's inventory name.
func (c *Client) Host() string { return c.target.Name }

// Target returns what the Client was dialled with.
func (c *Client) Target() Target { return c.target }

// Stats returns the Client's counters so far.
func (c *Client) Stats() Stats { return c.count.snapshot() }

// Close ends the connection. Commands still running fail.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.cur.close()
	return nil
}

// Run runs argv on the host (joined by Quote, run by the remote user's
// shell), feeding it stdin (may be nil), and returns its stdout, up to
// Config.MaxOutput bytes (ErrOutputTooLarge beyond, with the first
// MaxOutput bytes). A non-zero exit is an *ExitError with a tail of
// stderr. Cancelling ctx, or Config.CommandTimeout passing
// (ErrCommandTimeout), signals the remote process and closes the session.
//
// Without stdin, argv runs on one of the Client's command shells when one
// is free (see shell), which saves the session and login shell that sshd
// sets up for each command; otherwise in a session of its own, as Stream.
func (c *Client) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	return runCapped(c.d.cfg.MaxOutput, c.Host(), argv, func(w io.Writer) error {
		if stdin == nil {
			if ok, err := c.runOnShell(ctx, w, argv); ok {
				return err
			}
		}
		return c.Stream(ctx, stdin, w, argv...)
	})
}

// Stream is Run for large output: stdout goes to w as it arrives. Stdin is
// read until EOF or until the command ends; a read error from stdin stops
// the command (the remote side never sees a clean EOF) and is returned.
func (c *Client) Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error {
	line, err := remoteLine(argv)
	if err != nil {
		return c.fail(argv, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.d.cfg.CommandTimeout, ErrCommandTimeout)
	defer cancel()
	select {
	case c.sessions <- struct{}{}:
		defer func() { <-c.sessions }()
	case <-ctx.Done():
		return c.fail(argv, context.Cause(ctx))
	}

	s, cn, err := c.newSession(ctx)
	if err != nil {
		return c.fail(argv, err)
	}
	defer s.Close()
	c.count.sessions.Add(1)
	if stdout == nil {
		stdout = io.Discard
	}
	s.Stdout = stdout
	tail := newTail(StderrTail)
	stderr := newPIDWriter(tail)
	s.Stderr = stderr
	var stdinW io.WriteCloser
	if stdin != nil {
		if stdinW, err = s.StdinPipe(); err != nil {
			return c.fail(argv, err)
		}
	}
	if err := s.Start(line); err != nil {
		return c.fail(argv, err)
	}
	stdinFailed := make(chan error, 1)
	if stdinW != nil {
		go feed(stdin, stdinW, stdinFailed)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()

	select {
	case err := <-done:
		stderr.flush()
		select {
		case serr := <-stdinFailed:
			return c.fail(argv, fmt.Errorf("read stdin: %w", serr))
		default:
		}
		return c.result(argv, err, cn, tail)
	case <-ctx.Done():
		stop(s, cn, stderr.known, stderr.pid.Load, done)
		return c.fail(argv, context.Cause(ctx))
	case serr := <-stdinFailed:
		stop(s, cn, stderr.known, stderr.pid.Load, done)
		return c.fail(argv, fmt.Errorf("read stdin: %w", serr))
	}
}

// fail names the host and the command in err.
func (c *Client) fail(argv []string, err error) error {
	return fmt.Errorf("%s: %s: %w", c.Host(), shortArgv(argv), err)
}

// result turns what Session.Wait returned into this package's errors.
func (c *Client) result(argv []string, err error, cn *conn, tail *tailBuffer) error {
	if err == nil {
		return nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitStatus()
		if ee.Signal() != "" {
			code = -1
		}
		return &ExitError{Host: c.Host(), Argv: argv, Code: code, Signal: ee.Signal(), Stderr: tail.Bytes()}
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) || errors.Is(err, io.EOF) {
		select {
		case <-cn.done:
			return c.fail(argv, fmt.Errorf("%w while the command ran (its effect is unknown)", ErrConnLost))
		case <-time.After(exitRace):
		}
	}
	return c.fail(argv, err)
}

// stop ends a started session: SIGTERM to its process group, then
// SIGKILL and close, then, if even that is not answered, the whole
// connection. A command cancelled right after it started may not have
// reported its PID yet (known is closed once it is, or never will be);
// stop waits for it within the grace.
func stop(s *ssh.Session, cn *conn, known <-chan struct{}, remotePID func() int64, done <-chan error) {
	_ = s.Signal(ssh.SIGTERM)
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-known:
	case <-t.C:
	}
	pid := remotePID()
	killGroup(cn, pid, ssh.SIGTERM)
	if waitFor(done, killGrace) {
		return
	}
	_ = s.Signal(ssh.SIGKILL)
	killGroup(cn, pid, ssh.SIGKILL)
	_ = s.Close()
	if waitFor(done, closeGrace) {
		return
	}
	slog.Warn("ssh session not closing, dropping connection", "host", cn.name)
	cn.close()
}

// killGroup sends sig to the remote process group pid from a session of
// its own, bounded by killGrace. It is best effort: stop falls back to
// closing the session and then the connection.
func killGroup(cn *conn, pid int64, sig ssh.Signal) {
	if pid <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), killGrace)
	defer cancel()
	s, err := openSession(ctx, cn, killGrace)
	if err != nil {
		slog.Debug("kill session", "host", cn.name, "err", err)
		return
	}
	defer s.Close()
	line, _ := Quote("kill", "-s", string(sig), "--", "-"+strconv.FormatInt(pid, 10))
	done := make(chan error, 1)
	go func() { done <- s.Run(line) }()
	if !waitFor(done, killGrace) {
		slog.Debug("kill session timed out", "host", cn.name)
	}
}

func waitFor(done <-chan error, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// feed copies stdin to the session. On a read error it reports the error
// and leaves the remote stdin open, so the remote command is stopped
// rather than handed a clean EOF after truncated input. A write error
// means the command stopped reading; its exit status tells the rest.
func feed(r io.Reader, w io.WriteCloser, failed chan<- error) {
	er := &errReader{r: r}
	_, _ = io.Copy(w, er)
	if er.err != nil {
		failed <- er.err
		return
	}
	_ = w.Close()
}

// errReader remembers a read error other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// newSession opens a session on the current connection, re-dialling
// first if it dropped. A connection that dies while the session opens is
// dropped and re-dialled once more: the command has not started, so
// trying again is safe.
//
// A session the server refuses is asked for again, up to refusedRetries
// times: sshd counts a session against MaxSessions until it has cleaned
// it up, a little after the client closed it, so a Client that uses every
// slot it has can be refused for a moment.
func (c *Client) newSession(ctx context.Context) (*ssh.Session, *conn, error) {
	refusals := 0
	for attempt := 0; ; attempt++ {
		cn, err := c.connection(ctx)
		if err != nil {
			return nil, nil, err
		}
		s, err := openSession(ctx, cn, c.d.cfg.ConnectTimeout)
		if err == nil {
			return s, cn, nil
		}
		var refused *ssh.OpenChannelError
		if errors.As(err, &refused) && refusals < refusedRetries && ctx.Err() == nil {
			refusals++
			attempt--
			if serr := sleepCtx(ctx, time.Duration(refusals)*refusedBackoff); serr != nil {
				return nil, nil, fmt.Errorf("open session: %w", err)
			}
			continue
		}
		if ctx.Err() != nil || errors.As(err, &refused) {
			return nil, nil, fmt.Errorf("open session: %w", err)
		}
		cn.close()
		if attempt > 0 {
			return nil, nil, fmt.Errorf("open session: %w: %w", ErrConnLost, err)
		}
	}
}

// connection returns the live connection, re-dialling once (after a
// backoff) when the last one dropped.
func (c *Client) connection(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.cur.alive() {
		return c.cur, nil
	}
	c.cur.close()
	delay := backoffDelay(c.failures)
	slog.Info("ssh connection dropped, re-dialling", "host", c.Host(), "after", delay)
	if err := sleepCtx(ctx, delay); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	cn, err := c.d.dial(ctx, c.ep, 0, &c.count)
	if err != nil {
		c.failures++
		return nil, fmt.Errorf("%w; re-dial failed: %w", ErrConnLost, err)
	}
	c.failures = 0
	c.cur = cn
	return cn, nil
}

// openSession opens a session on cn within timeout; a connection that
// cannot open one in time is dropped.
func openSession(ctx context.Context, cn *conn, timeout time.Duration) (*ssh.Session, error) {
	type opened struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := cn.client.NewSession()
		ch <- opened{s, err}
	}()
	abandon := func() {
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
		abandon()
		return nil, context.Cause(ctx)
	case <-t.C:
		abandon()
		cn.close()
		return nil, fmt.Errorf("no answer within %s", timeout)
	}
}

// runCapped runs stream into a buffer of max bytes for Run.
func runCapped(max int, host string, argv []string, stream func(io.Writer) error) ([]byte, error) {
	buf := &capBuffer{max: max}
	err := stream(buf)
	if err == nil && buf.overflow {
		err = fmt.Errorf("%s: %s: %w (more than %d bytes)", host, shortArgv(argv), ErrOutputTooLarge, max)
	}
	return buf.buf.Bytes(), err
}
