package testfleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// exitPrereq is fleet.sh's exit status for a missing prerequisite.
const exitPrereq = 3

// maxOutputTail bounds how much of fleet.sh's output an error quotes.
const maxOutputTail = 4000

// ErrPrerequisite marks a fleet that could not start because something it
// needs is missing on this machine: a Debian package, root, mount namespaces.
var ErrPrerequisite = errors.New("fleet prerequisite missing")

// script runs fleet.sh with one fleet's options.
type script struct {
	path string
	opts Options
}

// findScript returns testdata/fleet/fleet.sh of the module that contains the
// working directory (go test runs in the package's directory).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find fleet.sh: %w", err)
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "testdata", "fleet", "fleet.sh")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("find fleet.sh: %w", err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("find fleet.sh: no go.mod above the working directory")
}

// run runs `fleet.sh args...` within timeout and returns its output. A
// missing prerequisite (exit status 3) wraps ErrPrerequisite.
func (s script) run(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{s.path}, args...)...)
	cmd.Env = append(os.Environ(), s.opts.env()...)
	if os.Getenv("CI") != "true" {
		// Outside CI a test never installs packages: it skips instead.
		cmd.Env = append(cmd.Env, "FLEET_NO_INSTALL=1")
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// On timeout, kill the script with what it runs in the foreground (ssh,
	// go build); the daemons it started live in their own sessions and are
	// left to down.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Daemons get their own output files; this only guards against one that
	// keeps the pipe open.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return out.String(), nil
	}
	tail := out.String()
	if len(tail) > maxOutputTail {
		tail = "..." + tail[len(tail)-maxOutputTail:]
	}
	tail = strings.TrimSpace(tail)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitPrereq {
		return out.String(), fmt.Errorf("%w: fleet.sh %s: %s", ErrPrerequisite, strings.Join(args, " "), tail)
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w after %s", ctx.Err(), timeout)
	}
	return out.String(), fmt.Errorf("fleet.sh %s: %w\n%s", strings.Join(args, " "), err, tail)
}
