package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// localShell runs the quoted command line, as a remote login shell would.
const localShell = "/bin/sh"

// Local runs argv on this machine with a Client's semantics: the argv is
// joined by Quote and exec'd by /bin/sh -c in a process group of its own,
// a non-zero exit is an *ExitError
// with a stderr tail, Run caps stdout, and cancelling ctx (or the command
// timeout) sends SIGTERM to the process group, then SIGKILL after a grace. The zero value is
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
	q, err := Quote(argv...)
	if err != nil {
		return l.fail(argv, err)
	}
	line := "exec " + q
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
	// Its own process group, so that cancelling stops what argv started too,
	// like the remote process group sshd makes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var escalate atomic.Pointer[time.Timer]
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		escalate.Store(time.AfterFunc(killGrace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }))
		return syscall.Kill(-pgid, syscall.SIGTERM)
	}
	cmd.WaitDelay = killGrace + closeGrace
	err = cmd.Run()
	if t := escalate.Load(); t != nil {
		t.Stop()
	}
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
