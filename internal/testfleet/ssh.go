package testfleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// DefaultRunTimeout bounds one Run.
const DefaultRunTimeout = time.Minute

// Exec runs argv on host through the system ssh client with the fleet's
// ssh_config (key login, host key verified against known_hosts), feeding it
// stdin (nil for none). A non-zero exit status is an *exec.ExitError.
func (f *Fleet) Exec(ctx context.Context, host string, stdin io.Reader, argv ...string) (stdout, stderr string, err error) {
	args := []string{"-F", f.SSHConfig, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", host, "--", shellJoin(argv)}
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("ssh %s %s: %w (stderr: %s)", host, shellJoin(argv), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), errb.String(), err
}

// Run runs argv on host within DefaultRunTimeout and returns its stdout; any
// failure fails t.
func (f *Fleet) Run(t testing.TB, host string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRunTimeout)
	defer cancel()
	out, _, err := f.Exec(ctx, host, nil, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// safeWord is an argument the shell reads as itself.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin quotes every argument and joins them with spaces, for the remote
// shell that sshd runs the command with.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
