package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/deployctl/deployctl/inventory"
)

// hookOutputTail is how much of a hook's output an event keeps.
const hookOutputTail = 2048

// Facts are what a hook is told about the rollout, as DEPLOYCTL_*
// environment variables.
type Facts struct {
	Env, Ref, Rev, ConfigVersion, Host, Result string
}

func (f Facts) environ() []string {
	return []string{
		"DEPLOYCTL_ENV=" + f.Env, "DEPLOYCTL_REF=" + f.Ref, "DEPLOYCTL_REV=" + f.Rev,
		"DEPLOYCTL_CONFIG_VERSION=" + f.ConfigVersion, "DEPLOYCTL_HOST=" + f.Host, "DEPLOYCTL_RESULT=" + f.Result,
	}
}

// runHooks runs a list of hooks in order; the first failure stops it.
// point names them in events ("before_rollout").
func (e *run) runHooks(ctx context.Context, point string, hooks []inventory.Hook, facts Facts) error {
	for i, h := range hooks {
		name := h.Name
		if name == "" {
			name = fmt.Sprintf("%s[%d]", point, i)
		}
		start := time.Now()
		host := h.Host
		if host == inventory.HookOnEach {
			host = facts.Host
		}
		e.emit(Event{Type: EventStep, Phase: PhaseHook, Host: host, Step: "hook " + name, Status: StatusStart})
		out, err := e.runHook(ctx, h, host, facts)
		ev := Event{Type: EventStep, Phase: PhaseHook, Host: host, Step: "hook " + name, Status: StatusOK, Elapsed: time.Since(start), Evidence: tail(out)}
		if err != nil {
			ev.Status, ev.Error = StatusFail, err.Error()
			e.emit(ev)
			return fmt.Errorf("hook %s (%s): %w", name, point, err)
		}
		e.emit(ev)
	}
	return nil
}

func (e *run) runHook(ctx context.Context, h inventory.Hook, host string, facts Facts) (string, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = inventory.DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if host != "" {
		r, err := e.Hosts.Runner(ctx, host)
		if err != nil {
			return "", err
		}
		// The facts travel as env(1) arguments: sshd drops most variables.
		argv := append(append([]string{"env"}, facts.environ()...), h.Argv...)
		out, err := r.Run(ctx, nil, argv...)
		if err != nil && ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("did not finish within %s: %w", timeout, err)
		}
		return string(out), err
	}
	cmd := exec.CommandContext(ctx, h.Argv[0], h.Argv[1:]...)
	cmd.Env = append(os.Environ(), facts.environ()...)
	cmd.WaitDelay = 2 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("did not finish within %s: %w", timeout, err)
	}
	return buf.String(), err
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > hookOutputTail {
		s = "…" + s[len(s)-hookOutputTail:]
	}
	return s
}
