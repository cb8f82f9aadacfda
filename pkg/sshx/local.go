package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// localShell runs the quoted command line, as a remote login shell would.
const localShell = "/bin/sh"

// Local runs argv on this machine with a Client's semantics: the argv is
// joined by Quote and run by /bin/sh -c, a non-zero exit is an *ExitError
// with a stderr tail, Run caps stdout, and cancelling ctx (or the command
// timeout) sends SIGTERM, then SIGKILL after a grace. The zero value is
// ready to use.
type Local struct {
	Name           string        // Host(); default "localhost"
	Dir            string        // working directory; default the current one
	CommandTimeout time.Duration // 0: DefaultCommandTimeout
	MaxOutput      int           // 0: DefaultMaxOutput
}

// Host returns l.Name, or "localhost".
func (l *Local) Host() string {
	if l.Name == "" {
		return "localhost"
	}
	return l.Name
}

// Close does nothing; it completes the Runner set of methods.
func (l *Local) Close() error { return nil }

// Run runs argv and returns its stdout (see Client.Run).
func (l *Local) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	max := l.MaxOutput
	if max <= 0 {
		max = DefaultMaxOutput
	}
	return runCapped(max, l.Host(), argv, func(w io.Writer) error {
		return l.Stream(ctx, stdin, w, argv...)
	})
}

// Stream runs argv with stdout going to w (see Client.Stream).
func (l *Local) Stream(ctx context.Context, stdin io.Reader, stdout io.Writer, argv ...string) error {
	line, err := Quote(argv...)
	if err != nil {
		return l.fail(argv, err)
	}
	timeout := l.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrCommandTimeout)
	defer cancel()
	if stdout == nil {
		stdout = io.Discard
	}
	tail := newTail(StderrTail)
	cmd := exec.CommandContext(ctx, localShell, "-c", line)
	cmd.Dir = l.Dir
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	cmd.Stderr = tail
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = killGrace
	err = cmd.Run()
	if ctx.Err() != nil {
		return l.fail(argv, context.Cause(ctx))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		xe := &ExitError{Host: l.Host(), Argv: argv, Code: ee.ExitCode(), Stderr: tail.Bytes()}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			xe.Signal = signalName(ws.Signal())
		}
		return xe
	}
	if err != nil {
		return l.fail(argv, err)
	}
	return nil
}

func (l *Local) fail(argv []string, err error) error {
	return fmt.Errorf("%s: %s: %w", l.Host(), shortArgv(argv), err)
}

// signalName names a signal the way SSH's exit-signal does ("TERM").
func signalName(s syscall.Signal) string {
	for name, sig := range map[string]syscall.Signal{
		"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE,
		"HUP": syscall.SIGHUP, "ILL": syscall.SIGILL, "INT": syscall.SIGINT,
		"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "QUIT": syscall.SIGQUIT,
		"SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
		"USR2": syscall.SIGUSR2,
	} {
		if sig == s {
			return name
		}
	}
	return fmt.Sprintf("%d", int(s))
}
