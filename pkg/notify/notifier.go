package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// sendMargin is how long past the largest target timeout Send waits for a
// target to report before it abandons it. A command killed at its timeout
// needs commandWaitDelay of it at most.
const sendMargin = 500 * time.Millisecond

// Options are what New needs besides the configuration.
type Options struct {
	// Resolve makes a relative secret_file path absolute (deployctl's
	// resolves it against the base file's directory). Nil: the path is
	// used as written.
	Resolve func(path string) string
	// Logger receives debug lines (what was sent, how long it took, what
	// failed). Nil: none.
	Logger *slog.Logger
}

// Notifier sends Events to the targets of one Config. It is safe for
// concurrent use.
type Notifier struct {
	targets []*target
	log     *slog.Logger
}

// target is one webhook or command, ready to send.
type target struct {
	label   string        // `webhook "chat"`, in errors and logs
	on      []Kind        // empty: every kind
	timeout time.Duration // bound on deliver
	scrub   *scrubber     // applied to every error of deliver
	deliver func(ctx context.Context, ev Event, body []byte) error
}

func (t *target) wants(k Kind) bool { return len(t.on) == 0 || slices.Contains(t.on, k) }

// New validates cfg, reads the webhooks' secret files and returns a
// Notifier for its targets. Its error names the field of every problem,
// never a secret.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.validateErr(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	n := &Notifier{log: opts.Logger}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	for i, w := range cfg.Webhooks {
		var sec *secret
		if w.SecretFile != "" {
			path := fmt.Sprintf("%s.webhooks[%d].secret_file", Section, i)
			v, err := readSecret(resolve(opts.Resolve, w.SecretFile))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			sec = &secret{value: v}
		}
		n.targets = append(n.targets, newWebhook(w, sec))
	}
	for _, c := range cfg.Commands {
		n.targets = append(n.targets, newCommand(c))
	}
	return n, nil
}

func resolve(fn func(string) string, path string) string {
	if fn == nil || filepath.IsAbs(path) {
		return path
	}
	return fn(path)
}

// readSecret returns the first line of a secret file, trimmed. Its errors
// name the file, never what is in it.
func readSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err // *fs.PathError: the operation, the path and why
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return line, nil
}

// String lists the targets by name; it shows no URL and no secret.
func (n *Notifier) String() string {
	if n == nil || len(n.targets) == 0 {
		return "notify: no targets"
	}
	labels := make([]string, len(n.targets))
	for i, t := range n.targets {
		labels[i] = t.label
	}
	return "notify: " + strings.Join(labels, ", ")
}

// GoString is String, so that %#v shows no more.
func (n *Notifier) GoString() string { return n.String() }

// result is what one target's send came to.
type result struct {
	i   int
	err error
}

// Send sends ev to every target whose on includes ev.Kind, all at once,
// each within its own timeout, and returns one error for each target that
// failed, in configuration order (webhooks, then commands). It returns
// within the largest timeout of those targets plus a small margin, even if
// a target hangs (it is then reported and abandoned). Cancelling ctx
// stops every target early; pass context.WithoutCancel to notify about an
// interrupted run. A nil Notifier sends nothing. Send never panics.
func (n *Notifier) Send(ctx context.Context, ev Event) (errs []error) {
	if n == nil || len(n.targets) == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			errs = append(errs, &safeError{msg: "notify: internal error (a bug): " + newScrubber("", "").clean(fmt.Sprint(r))})
		}
	}()
	if !ev.Kind.Valid() {
		return []error{fmt.Errorf("notify: unknown event kind %q (want start, finish, failure, rollback or abort)", ev.Kind)}
	}
	var picked []*target
	var longest time.Duration
	for _, t := range n.targets {
		if t.wants(ev.Kind) {
			picked = append(picked, t)
			longest = max(longest, t.timeout)
		}
	}
	if len(picked) == 0 {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return []error{fmt.Errorf("notify: encode event: %w", err)}
	}
	if ctx == nil {
		ctx = context.Background()
	}

	results := make(chan result, len(picked)) // buffered: an abandoned target never blocks
	for i, t := range picked {
		go func() {
			start := time.Now()
			err := n.run(ctx, t, ev, body)
			n.logResult(t, ev, start, err)
			results <- result{i, err}
		}()
	}
	hard := time.NewTimer(longest + sendMargin)
	defer hard.Stop()
	got := make([]error, len(picked))
	done := make([]bool, len(picked))
	for left := len(picked); left > 0; left-- {
		select {
		case r := <-results:
			got[r.i], done[r.i] = r.err, true
		case <-hard.C:
			left = 0
		}
	}
	for i, t := range picked {
		switch {
		case !done[i]:
			errs = append(errs, &safeError{timeout: true,
				msg: fmt.Sprintf("notify: %s: abandoned: no result within %s", t.label, t.timeout+sendMargin)})
		case got[i] != nil:
			errs = append(errs, got[i])
		}
	}
	return errs
}

// run delivers to one target under its timeout and returns a scrubbed
// error naming it.
func (n *Notifier) run(ctx context.Context, t *target, ev Event, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (a bug): %v", r)
		}
		if err != nil {
			err = &safeError{
				msg:     t.scrub.clean(fmt.Sprintf("notify: %s: %v", t.label, err)),
				timeout: errors.Is(err, ErrTimeout),
			}
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.deliver(ctx, ev, body)
}

func (n *Notifier) logResult(t *target, ev Event, start time.Time, err error) {
	attrs := []any{"target", t.label, "kind", string(ev.Kind), "took", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		n.log.Debug("notify failed", append(attrs, "error", err.Error())...)
		return
	}
	n.log.Debug("notify sent", attrs...)
}
