package checks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/deployctl/deployctl/pkg/field"
)

// Set is the configured checks, compiled once and run per host and stage.
// It is safe for concurrent use by several hosts.
type Set struct {
	checks []*Check
	log    *slog.Logger
}

// New validates specs and compiles them (regexes, defaults). The
// configuration loader reports the same problems with file and line; New
// checks again so that no invalid spec can run.
func New(specs []Spec) (*Set, error) {
	s := &Set{log: slog.Default()}
	var errs []error
	names := map[string]bool{}
	for i, sp := range specs {
		if fe := sp.Validate(); len(fe) > 0 {
			for _, e := range field.Prefix(fmt.Sprintf("checks[%d]", i), fe) {
				errs = append(errs, e)
			}
			continue
		}
		if names[sp.Name] {
			errs = append(errs, fmt.Errorf("checks[%d].name: duplicate check name %q", i, sp.Name))
			continue
		}
		names[sp.Name] = true
		c, err := compile(sp)
		if err != nil {
			errs = append(errs, fmt.Errorf("checks[%d]: %w", i, err))
			continue
		}
		s.checks = append(s.checks, c)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid checks: %w", errors.Join(errs...))
	}
	return s, nil
}

// compile builds the check of a valid spec.
func compile(sp Spec) (*Check, error) {
	d := sp.WithDefaults()
	c := &Check{spec: d, stage: d.StageOf()}
	var err error
	switch d.Type {
	case KindPort:
		c.probe = portProbe{d: d}
	case KindHTTP:
		c.probe, err = newHTTPProbe(d)
	case KindCommand:
		c.probe = commandProbe{d: d}
	case KindLog:
		c.probe, err = newLogProbe(d)
	case KindJournald:
		c.probe, err = newJournaldProbe(d)
	case KindMetric:
		switch d.Mode {
		case ModeScrape:
			c.probe, err = newScrapeProbe(d)
		case ModeRelative:
			c.probe = relativeProbe{d: d}
		default:
			c.probe = apiProbe{d: d}
		}
	default:
		err = fmt.Errorf("unknown type %q", d.Type)
	}
	return c, err
}

// WithLogger returns s logging to l (slog.Default() otherwise).
func (s *Set) WithLogger(l *slog.Logger) *Set {
	return &Set{checks: s.checks, log: l}
}

// Checks returns every check in configuration order.
func (s *Set) Checks() []*Check { return append([]*Check(nil), s.checks...) }

// Stage returns the checks of one stage in configuration order.
func (s *Set) Stage(st Stage) []*Check {
	var out []*Check
	for _, c := range s.checks {
		if c.stage == st {
			out = append(out, c)
		}
	}
	return out
}

// Baseline is what the checks recorded about one host before its stop.
type Baseline struct {
	Host  string
	Taken time.Time // deploy host's clock
	snaps map[string]any
}

func (b *Baseline) get(name, host string) (any, error) {
	if b == nil {
		return nil, fmt.Errorf("no baseline from before the stop (call Set.Prepare first)")
	}
	if b.Host != host {
		return nil, fmt.Errorf("baseline is of host %s, not %s", b.Host, host)
	}
	snap, ok := b.snaps[name]
	if !ok {
		return nil, fmt.Errorf("baseline has no snapshot for this check (taken by another set?)")
	}
	return snap, nil
}

// Prepare records, before the stop, what the checks of every stage need to
// judge only what happens after it: log file identity, size and clock, and
// the rate of matching entries before. Each check's snapshot is bounded by
// its timeout. An error means the checks could not be prepared; nothing has
// changed yet, so the caller should not go on with this host.
func (s *Set) Prepare(ctx context.Context, t Target) (*Baseline, error) {
	b := &Baseline{Host: t.Host, Taken: time.Now(), snaps: map[string]any{}}
	var errs []error
	for _, c := range s.checks {
		if !c.NeedsBaseline() {
			continue
		}
		snap, err := c.prepare(ctx, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.snaps[c.spec.Name] = snap
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("prepare checks on %s: %w", t.Host, errors.Join(errs...))
	}
	return b, nil
}

// Run runs the checks of one stage against t and returns one Result per
// check, in configuration order. Port checks go first, one by one; if one
// fails, the rest are skipped. The others then run concurrently, each
// within its own timeout. b is t's baseline from Prepare.
func (s *Set) Run(ctx context.Context, st Stage, t Target, b *Baseline) []Result {
	checks := s.Stage(st)
	results := make([]Result, len(checks))
	portFailed := ""
	for i, c := range checks {
		if c.spec.Type != KindPort {
			continue
		}
		if portFailed != "" {
			results[i] = skipped(c, t, portFailed)
			continue
		}
		results[i] = s.runOne(ctx, c, t, b)
		if results[i].Verdict != Pass {
			portFailed = c.spec.Name
		}
	}
	var wg sync.WaitGroup
	for i, c := range checks {
		if c.spec.Type == KindPort {
			continue
		}
		if portFailed != "" {
			results[i] = skipped(c, t, portFailed)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runOne(ctx, c, t, b)
		}()
	}
	wg.Wait()
	return results
}

func (s *Set) runOne(ctx context.Context, c *Check, t Target, b *Baseline) Result {
	s.log.Debug("check start", "check", c.spec.Name, "type", c.spec.Type, "stage", c.stage, "host", t.Host, "timeout", c.spec.Timeout)
	r := c.Run(ctx, t, b)
	if r.Err != nil {
		s.log.Info("check failed", "check", r.Name, "host", r.Host, "duration", r.Duration, "err", r.Err)
	} else {
		s.log.Debug("check passed", "check", r.Name, "host", r.Host, "duration", r.Duration, "evidence", r.Evidence)
	}
	return r
}

func skipped(c *Check, t Target, port string) Result {
	return Result{
		Name: c.spec.Name, Kind: c.spec.Type, Stage: c.stage, Host: t.Host,
		Verdict: Skipped,
		Err:     fmt.Errorf("%s: %w: port check %s failed", c.spec.Name, ErrSkipped, port),
	}
}

// Failures joins the errors of the results that failed (skipped ones
// excluded: the failure that caused them is there), or returns nil when
// every check passed.
func Failures(results []Result) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil && r.Verdict != Skipped {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}
