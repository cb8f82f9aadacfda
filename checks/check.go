package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// Check is one configured check, ready to run against any host.
type Check struct {
	spec  Spec // with defaults
	stage Stage
	probe probe
}

// probe is one kind of check, built from a defaulted Spec.
type probe interface {
	// run looks at the host and says what it saw. A failure wraps ErrFailed;
	// any other error means the check could not look.
	run(ctx context.Context, e env) (outcome, error)
}

// preparer is a probe that needs a snapshot taken before the stop.
type preparer interface {
	prepare(ctx context.Context, e env) (any, error)
}

// Every kind is a probe; log and journald also take a snapshot.
var (
	_ probe    = portProbe{}
	_ probe    = (*httpProbe)(nil)
	_ probe    = commandProbe{}
	_ probe    = (*logProbe)(nil)
	_ probe    = (*journaldProbe)(nil)
	_ probe    = apiProbe{}
	_ probe    = relativeProbe{}
	_ probe    = (*scrapeProbe)(nil)
	_ preparer = (*logProbe)(nil)
	_ preparer = (*journaldProbe)(nil)
)

// env is what a probe gets for one run.
type env struct {
	t    Target
	vars hosttmpl.Vars
	snap any // from prepare; nil for probes that take none
}

// outcome is what a probe saw.
type outcome struct {
	evidence string
	ms       []Measurement
}

// Result is the outcome of one check on one host. It marshals to JSON with
// Err as its message (for --output json and the history file).
type Result struct {
	Name  string `json:"name"`
	Kind  Kind   `json:"type"`
	Stage Stage  `json:"stage"`
	Host  string `json:"host"`
	// Verdict is Pass, Fail or Skipped.
	Verdict Verdict `json:"verdict"`
	// Evidence is what the check saw, on a pass as on a failure: the
	// status and body excerpt, the matching log lines, the metric values
	// and threshold, the command's output.
	Evidence string `json:"evidence,omitempty"`
	// Measurements are a metric check's measurements, in order.
	Measurements []Measurement `json:"measurements,omitempty"`
	// Err is nil on Pass. It wraps ErrFailed when the check saw something
	// wrong (with ErrTimeout or ErrInconclusive when that is why), and
	// ErrSkipped when it did not run; any other error means it could not
	// look (a bad template, no Runner, the context cancelled). Every
	// non-nil Err is a failed check.
	Err      error         `json:"-"`
	Duration time.Duration `json:"duration_ns"`
}

// MarshalJSON renders r with its error as a string.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // without this method
	out := struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain: plain(r)}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return json.Marshal(out)
}

// Name returns the check's name.
func (c *Check) Name() string { return c.spec.Name }

// Kind returns the check's type.
func (c *Check) Kind() Kind { return c.spec.Type }

// Stage returns when the check runs.
func (c *Check) Stage() Stage { return c.stage }

// Timeout returns the bound of one run of the check.
func (c *Check) Timeout() time.Duration { return c.spec.Timeout }

// Spec returns the check's configuration with defaults filled in.
func (c *Check) Spec() Spec { return c.spec }

// NeedsBaseline reports whether the check reads a snapshot taken by Prepare
// before the stop (log and journald checks).
func (c *Check) NeedsBaseline() bool {
	_, ok := c.probe.(preparer)
	return ok
}

// prepare takes the check's snapshot of t before the stop, within the
// check's timeout. It returns nil, nil for checks that need none.
func (c *Check) prepare(ctx context.Context, t Target) (any, error) {
	p, ok := c.probe.(preparer)
	if !ok {
		return nil, nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.spec.Timeout)
	defer cancel()
	snap, err := p.prepare(ctx, env{t: t, vars: t.vars()})
	if err != nil {
		return nil, fmt.Errorf("%s: before the stop: %w", c.spec.Name, timedOut(ctx, err, start))
	}
	return snap, nil
}

// Run runs the check against t once, within its timeout. b is t's
// baseline from Set.Prepare; it may be nil when the check needs none.
func (c *Check) Run(ctx context.Context, t Target, b *Baseline) Result {
	start := time.Now()
	res := Result{Name: c.spec.Name, Kind: c.spec.Type, Stage: c.stage, Host: t.Host}
	ctx, cancel := context.WithTimeout(ctx, c.spec.Timeout)
	defer cancel()

	e := env{t: t, vars: t.vars()}
	var out outcome
	var err error
	if c.NeedsBaseline() {
		e.snap, err = b.get(c.spec.Name, t.Host)
	}
	if err == nil {
		out, err = c.probe.run(ctx, e)
	}
	res.Duration = time.Since(start)
	res.Measurements = out.ms
	res.Evidence = out.evidence
	if err == nil {
		res.Verdict = Pass
		return res
	}
	err = timedOut(ctx, err, start)
	res.Verdict = Fail
	if res.Evidence == "" {
		res.Evidence = err.Error()
	}
	res.Err = fmt.Errorf("%s: %w", c.spec.Name, err)
	return res
}

// timedOut marks err as a timeout failure when a deadline ended it: a
// check that could not pass within its time failed. A cancelled context
// (abort, SIGINT) stays a plain error, and so does a failure the probe
// already judged.
func timedOut(ctx context.Context, err error, start time.Time) error {
	if errors.Is(err, ErrFailed) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w after %s: %v", ErrFailed, ErrTimeout, time.Since(start).Round(time.Millisecond), err)
}
