package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/state"
)

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"done", nil, exitOK},
		{"rolled back", fmt.Errorf("%w: h2 failed", deploy.ErrRolledBack), exitRolledBack},
		{"rollback failed", fmt.Errorf("%w: h1 left depooled", deploy.ErrRollbackFailed), exitRollbackFailed},
		{"panic", fmt.Errorf("%w: boom", deploy.ErrPanic), exitRollbackFailed},
		{"panic after a clean rollback", fmt.Errorf("%w: %w", deploy.ErrPanic, deploy.ErrRolledBack), exitRollbackFailed},
		{"reported by the summary", reported(fmt.Errorf("%w: x", deploy.ErrRolledBack)), exitRolledBack},
		{"record failed after a good rollout", fmt.Errorf("%w: disk full", deploy.ErrRecord), exitRecord},
		{"record failed after a rollback", errors.Join(fmt.Errorf("%w: x", deploy.ErrRolledBack), fmt.Errorf("%w: disk full", deploy.ErrRecord)), exitRolledBack},
		{"locked", fmt.Errorf("%w: by ops", state.ErrLocked), exitLocked},
		{"interrupted", deploy.ErrInterrupted, exitInterrupted},
		{"nothing done", fmt.Errorf("%w: h1 already pooled", deploy.ErrNothingDone), exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.want {
				t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

// An error the summary already told is not printed again by main.
func TestReportedErrorIsPrintedOnce(t *testing.T) {
	err := reported(fmt.Errorf("%w: h2 failed at checks:depooled: status 503", deploy.ErrRolledBack))
	if !errors.Is(err, errSilent) || !errors.Is(err, deploy.ErrRolledBack) {
		t.Fatalf("reported error %v: silent %v", err, errors.Is(err, errSilent))
	}
	// A record failure is not in the summary: it must be printed.
	if err := reported(fmt.Errorf("%w: disk full", deploy.ErrRecord)); errors.Is(err, errSilent) {
		t.Errorf("record failure silenced")
	}
}

// A panic anywhere under a command exits 4 with the panic on stderr, not
// Go's exit 2 (a usage error's code).
func TestPanicExitsFour(t *testing.T) {
	var stderr bytes.Buffer
	code := func() (code int) {
		defer exitOnPanic(&stderr, &code)
		panic("a bug")
	}()
	if code != exitRollbackFailed || !strings.Contains(stderr.String(), "panic: a bug") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
