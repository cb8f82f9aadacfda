package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Command bounds.
const (
	// commandWaitDelay is how long Wait waits, after the command exits or
	// is killed, for what it started to let go of stderr.
	commandWaitDelay = 200 * time.Millisecond
	stderrTail       = 300 // characters of stderr in an error
)

// command is a ready Command.
type command struct {
	argv    []string
	timeout time.Duration
}

func newCommand(c Command) *target {
	cmd := &command{argv: c.Argv, timeout: c.Timeout}
	return &target{
		label:   fmt.Sprintf("command %q", c.Name),
		on:      c.On,
		timeout: c.Timeout,
		scrub:   newScrubber("", ""),
		deliver: cmd.deliver,
	}
}

// deliver runs the command with the event on stdin and its facts in the
// environment. At ctx's end its process group is killed.
func (c *command) deliver(ctx context.Context, ev Event, body []byte) error {
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), ev.environ()...) // later entries win
	cmd.Stdin = bytes.NewReader(body)
	stderr := &tail{max: 4 * stderrTail}
	cmd.Stderr = stderr
	// A process group of its own, so that the kill reaches what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		return nil // it succeeded; something it left running holds stderr
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = timeoutf("killed at its timeout (%s)", c.timeout)
	case ctx.Err() != nil:
		err = fmt.Errorf("cancelled, killed: %v", context.Cause(ctx))
	}
	if t := stderr.text(); t != "" {
		return fmt.Errorf("%w; stderr: %s", err, t)
	}
	return err
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// text returns the last stderrTail characters on one line, lines joined
// by " | ".
func (t *tail) text() string {
	t.mu.Lock()
	s := strings.ToValidUTF8(string(t.buf), "")
	t.mu.Unlock()
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	s = strings.Join(lines, " | ")
	if r := []rune(s); len(r) > stderrTail {
		s = "…" + string(r[len(r)-stderrTail:])
	}
	return s
}
