package checks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// localRunner runs argv on this machine, as sshx runs it on a host: stdout
// returned, a non-zero exit an error with a stderr tail, and cancelling ctx
// kills the whole process group.
type localRunner struct {
	env []string // extra environment, "K=V"
}

func (r localRunner) Run(ctx context.Context, stdin io.Reader, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), r.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", argv[0], err, tailText(stderr.Bytes(), 200))
	}
	return out, nil
}

// hangingRunner blocks every command until ctx ends, like a host that
// stopped answering.
type hangingRunner struct{}

func (hangingRunner) Run(ctx context.Context, _ io.Reader, _ ...string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts connections and never answers, until the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
			close(done)
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// mustCheck compiles one spec or fails the test.
func mustCheck(t *testing.T, s Spec) *Check {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("spec %s: %v", s.Name, errs)
	}
	c, err := compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requireBinary skips when a Debian binary is missing, unless CI=true,
// where a missing binary is a failure.
func requireBinary(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", path, err)
		}
		t.Skipf("%s not installed: %v", path, err)
	}
}

func f64(v float64) *float64 { return &v }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
