package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// Defaults of the rollout flags.
const (
	DefaultLockWait   = 0 * time.Second
	abortPollInterval = 200 * time.Millisecond
)

// RolloutOptions are the flags of rollout (and rollback).
type RolloutOptions struct {
	Initial           bool
	LockWait          time.Duration
	Message           string
	Yes               bool
	ConfigOnly        bool
	AllowSchemaChange bool
}

func (o *RolloutOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&o.LockWait, "lock-wait", DefaultLockWait, "wait this long for another deploy's lock before giving up (exit 5)")
	f.StringVarP(&o.Message, "message", "m", "", "why: shown to anyone who finds the lock, and in history")
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation at a terminal (without a terminal nothing is asked)")
	f.BoolVar(&o.AllowSchemaChange, "allow-schema-change", false, "allow a rev that raises schema_version_file (a rollback below it will be refused)")
}

func newRolloutCommand(g *GlobalOptions) *cobra.Command {
	var opts RolloutOptions
	cmd := &cobra.Command{
		Use:   "rollout <ref> | --config-only [<ref>]",
		Short: "Roll <ref> out host by host; on any failure return every changed host to last good",
		Long: `Lock the environment, resolve <ref> to one rev, check every host (preflight),
stage the release everywhere, then take the hosts through the pipeline group by
group, batch by batch: depool, stop, activate, start, wait for the port, checks,
repool, soak. On any failure the failed hosts and then every changed host, in
reverse order, return to what each ran before the rollout (its restore point,
read in preflight) through the same pipeline. A host is never stopped while
pooled; a host someone else depooled is deployed but left out of the pool.

The first rollout of an environment: when every host already runs the same rev
it is taken as last good; hosts that run different revs each return to their
own. If some hosts run nothing yet, --initial is needed: a host that fails and
ran nothing is then depooled, stopped and named (exit 4).

Interrupt (SIGINT, SIGTERM, SIGHUP) or 'deployctl abort' from elsewhere: the
rollout stops at the next step boundary and rolls back. A second interrupt stops
the rollback too (exit 130), leaving the state recorded for 'deployctl abort'.` + exitStatusHelp,
		Args: usageArgs(cobra.RangeArgs(0, 1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := request{Verb: "rollout", ConfigOnly: opts.ConfigOnly}
			if len(args) == 1 {
				req.Ref = args[0]
			} else if !opts.ConfigOnly {
				return usageErrorf("rollout needs a <ref> (only --config-only may omit it)")
			}
			return runRollout(cmd.Context(), g, opts, req)
		},
	}
	opts.addFlags(cmd)
	cmd.Flags().BoolVar(&opts.Initial, "initial", false, "first rollout of the environment: there is no last good to return to")
	cmd.Flags().BoolVar(&opts.ConfigOnly, "config-only", false, "change configuration, keep the code: templates from <ref> (default: the last good rev)")
	return cmd
}

// request is what a rollout is asked to do.
type request struct {
	Verb       string // rollout, rollback, promote
	Ref        string // what the user typed; "" with ConfigOnly means the last good rev
	Rev        string // a pinned rev (promote); "" resolves Ref
	ConfigOnly bool
	// TemplateRev pins the config templates' rev (promote of a config-only
	// deploy); "" means Ref's rev.
	TemplateRev string
}

// runRollout runs a rollout under the environment's lock: code, config,
// or both; a deliberate rollback; or a promoted replay.
func runRollout(ctx context.Context, g *GlobalOptions, opts RolloutOptions, req request) error {
	a, err := openApp(ctx, g, true)
	if err != nil {
		return err
	}
	lock, err := a.store.Lock(ctx, a.env.Name, a.owner(strings.TrimSpace(req.Verb+" "+req.Ref), opts.Message), lockWait(opts.LockWait))
	if err != nil {
		return err
	}
	defer lock.Release()
	if lock.Stale != nil {
		fmt.Fprintf(g.stderr, "note: the previous holder of the lock died without releasing it: %s\n", lock.Stale)
	}
	// An abort request from before this rollout held the lock was meant for
	// another one: it must not stop this one.
	if ab, ok := a.store.AbortRequested(a.env.Name); ok {
		if err := a.store.ClearAbort(a.env.Name); err != nil {
			return fmt.Errorf("clearing a stale abort request: %w", err)
		}
		fmt.Fprintf(g.stderr, "note: cleared a stale abort request by %s (no rollout was running to see it)\n", ab)
	}
	st, err := a.store.Load(a.env.Name)
	if err != nil {
		return err
	}
	if st.Current != nil {
		return fmt.Errorf("rollout %s (%s %s, by %s) did not finish: its hosts may be depooled or mixed; run 'deployctl abort --env %s' to return every host to last good first",
			st.Current.ID, st.Current.Kind, st.Current.Ref, st.Current.By, a.env.Name)
	}
	d, err := prepareDeploy(ctx, a, st, opts, req)
	if err != nil {
		return err
	}
	question := fmt.Sprintf("%s %s (%s, %s) to %d hosts of %s, last good %s?", req.Verb, d.ref, shortRev(d.rev), d.kind, len(a.env.Hosts), a.env.Name, orNone(shortRev(st.LastGood.Rev)))
	if err := newPrompter(g).confirm(opts.Yes || g.Output == outputJSON, question); err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	defer a.Close()

	id := state.NewID(time.Now())
	logf, err := a.store.LogFile(a.env.Name, id)
	if err != nil {
		return err
	}
	defer logf.Close()
	printer := newEventPrinter(g.stdout, g.Output == outputJSON)
	defer printer.Close()

	work, rb, stop := interruptible(ctx, a.store, a.env.Name, g.stderr)
	defer stop.Stop()
	rec := &recorder{store: a.store, env: a.env.Name, st: st, schema: d.schema, stop: stop.work}
	rec.st.Current = &state.Rollout{ID: id, Kind: d.kind, Ref: d.ref, Rev: d.rev, ConfigVersion: d.configVersion, Started: time.Now(), By: lock.Owner, Phase: "preflight"}
	if err := rec.save(); err != nil {
		return err
	}
	sink := func(ev deploy.Event) {
		b, _ := json.Marshal(ev)
		logf.Write(append(b, '\n'))
		printer.Event(ev)
		rec.event(ev)
	}
	e := a.engine(sink)
	e.OnHeld = rec.held
	e.OnRestorePoints = rec.restorePoints

	lastGood := st.LastGood.Rev
	fmt.Fprintf(g.stderr, "%s %s (%s, %s) to %s: %d hosts; last good %s; log %s\n", req.Verb, d.ref, shortRev(d.rev), d.kind, a.env.Name, len(a.env.Hosts), orNone(shortRev(lastGood)), a.store.LogPath(a.env.Name, id))
	if len(st.Held) > 0 {
		fmt.Fprintf(g.stderr, "note: depooled by hand and left out of the pool: %s\n", strings.Join(slices.Sorted(maps.Keys(st.Held)), " "))
	}

	res, rerr := e.Rollout(work, rb, deploy.Options{
		Ref: d.ref, Rev: d.rev, LastGood: lastGood, Initial: opts.Initial,
		Configs: d.configs, LastGoodConfigs: st.LastGood.Configs, ConfigOnly: req.ConfigOnly,
		Reload: req.ConfigOnly && a.env.Files.Reload && len(a.env.Service.Reload) > 0, ConfigVersion: d.configVersion,
		Guard: d.guard,
	})
	if ab, ok := a.store.AbortRequested(a.env.Name); ok {
		res.Reason = strings.TrimSpace(res.Reason + " (abort requested by " + ab.String() + ")")
		if err := a.store.ClearAbort(a.env.Name); err != nil {
			rerr = errors.Join(rerr, fmt.Errorf("%w: clearing the abort request: %w", errRecord, err))
		}
	}
	if err := rec.finish(res, d, id, lock.Owner, a.store.LogPath(a.env.Name, id)); err != nil {
		rerr = errors.Join(rerr, err)
	}
	printer.Summary(res, summaryText(req.Verb, res))
	return reported(rerr)
}

// reported marks a rollout's error as told by the summary, so main prints
// only what the summary did not say.
func reported(err error) error {
	if err == nil || errors.Is(err, errRecord) {
		return err
	}
	return &silentError{err}
}

// silentError is an error the summary already printed; main exits with its
// code without printing it again.
type silentError struct{ err error }

func (s *silentError) Error() string   { return s.err.Error() }
func (s *silentError) Unwrap() []error { return []error{s.err, errSilent} }

// stopper ends the watch, and stops the work (as an abort would) on a
// failure only this process sees (its state cannot be saved).
type stopper struct {
	once sync.Once
	done func()
	work func(cause error)
}

func (s *stopper) Stop() { s.once.Do(s.done) }

// interruptible returns the work context (cancelled by the first SIGINT,
// SIGTERM or SIGHUP, or by 'deployctl abort') and the rollback context
// (cancelled by the second signal). SIGPIPE is ignored: a closed stdout
// must not kill a rollout half way; writes to it fail instead.
func interruptible(ctx context.Context, store *state.Store, env string, stderr io.Writer) (work, rb context.Context, stop *stopper) {
	base := context.WithoutCancel(ctx)
	work, cancelWork := context.WithCancelCause(base)
	rbctx, cancelRb := context.WithCancelCause(base)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, interruptSignals...)
	signal.Ignore(syscall.SIGPIPE)
	watchCtx, stopWatch := context.WithCancel(base)
	aborts := store.WatchAbort(watchCtx, env, abortPollInterval)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case o, ok := <-aborts:
				if ok {
					fmt.Fprintf(stderr, "\nabort requested by %s: stopping at the next step and rolling back\n", o)
					cancelWork(fmt.Errorf("aborted by %s", o))
				}
				aborts = nil
			case s := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(stderr, "\n%s: stopping at the next step and rolling back (again to stop the rollback too)\n", s)
					cancelWork(fmt.Errorf("%w: %s", errSignal, s))
					continue
				}
				fmt.Fprintf(stderr, "\n%s again: stopping the rollback at the next step; run 'deployctl abort' to finish it\n", s)
				cancelRb(fmt.Errorf("%w twice: %s", errSignal, s))
				return
			}
		}
	}()
	stop = &stopper{work: cancelWork, done: func() {
		signal.Stop(sigs)
		close(done)
		stopWatch()
		cancelWork(nil)
		cancelRb(nil)
	}}
	return work, rbctx, stop
}

// errSignal is the cause of a cancellation by a signal.
var errSignal = errors.New("signal")

// interruptSignals stop a rollout at the next step and roll it back: an
// operator's ^C, a service manager's stop, and the operator's SSH session
// dropping.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// errRecord marks a failure to record what happened (state, history):
// the fleet is as the summary says, but the deploy host's record is not.
var errRecord = errors.New("recording the rollout failed")

// recorder keeps state.json in step with the rollout's events. A save
// that fails stops the rollout at the next step (abort after a crash would
// not know where it was) and is an error at the end.
type recorder struct {
	mu     sync.Mutex
	store  *state.Store
	env    string
	st     state.State
	schema int               // the schema version the new rev applies
	stop   func(cause error) // stops the work
	err    error             // the first failed save
}

func (r *recorder) save() error { return r.store.Save(r.env, r.st) }

// saveLocked saves and remembers the first failure; r.mu is held.
func (r *recorder) saveLocked() {
	if err := r.save(); err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %w", errRecord, err)
		if r.stop != nil {
			r.stop(r.err)
		}
	}
}

// event keeps the rollout's progress in the state. It writes the file (an
// fsync) only when what a later abort needs changes — the phase, a host
// about to change, a host's new rev, the adopted last good — and lets the
// current host and step ride along with those writes.
func (r *recorder) event(ev deploy.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.st.Current
	if c == nil {
		return
	}
	stop, activate := deploy.StepStop.String(), deploy.StepActivate.String()
	switch {
	case ev.Type == deploy.EventInfo && ev.Phase == deploy.PhaseLastGood && r.st.LastGood.Rev == "":
		r.st.SetLastGood(state.Good{Rev: ev.Rev, At: ev.Time})
	case ev.Type == deploy.EventPhase:
		c.Phase = ev.Phase
	case ev.Type == deploy.EventStep && ev.Step == stop && ev.Status == deploy.StatusStart:
		c.Host, c.Step = ev.Host, ev.Step
		c.MarkChanged(ev.Host)
		if r.schema > r.st.Schema {
			r.st.Schema = r.schema // the new code may start: the storage gets its schema
		}
	case ev.Type == deploy.EventStep && ev.Step == activate && ev.Status == deploy.StatusOK:
		c.Host, c.Step = ev.Host, ev.Step
		r.st.SetHost(ev.Host, state.HostRev{Rev: ev.Rev, At: ev.Time})
	case ev.Type == deploy.EventStep:
		c.Host, c.Step = ev.Host, ev.Step
		return
	default:
		return
	}
	r.saveLocked()
}

// held records the hosts the rollout holds out of the pool, for abort. The
// operator's own depools (State.Held) are left as they are.
func (r *recorder) held(m map[string]pool.Prior) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st.Current == nil {
		return
	}
	r.st.Current.Held = m
	r.saveLocked()
}

// restorePoints records what each host ran before the rollout.
func (r *recorder) restorePoints(m map[string]deploy.RestorePoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st.Current == nil {
		return
	}
	r.st.Current.Restore = restoreToState(m)
	r.saveLocked()
}

func restoreToState(m map[string]deploy.RestorePoint) map[string]state.HostRev {
	out := make(map[string]state.HostRev, len(m))
	for h, p := range m {
		out[h] = state.HostRev{Rev: p.Rev, ConfigVersion: p.Config}
	}
	return out
}

func restoreFromState(m map[string]state.HostRev) map[string]deploy.RestorePoint {
	out := make(map[string]deploy.RestorePoint, len(m))
	for h, p := range m {
		out[h] = deploy.RestorePoint{Rev: p.Rev, Config: p.ConfigVersion}
	}
	return out
}

// unfinished reports whether a rollout's end leaves work for abort:
// interrupted, or hosts out of the pool or off their restore point for
// another reason than the schema guard (see deploy.Result.Settled).
func unfinished(res *deploy.Result) bool {
	switch res.Outcome {
	case deploy.OutcomeInterrupted:
		return true
	case deploy.OutcomeRollbackFailed:
		return !res.Settled()
	}
	return false
}

// finish records the outcome: last good, history, and the end of Current
// (kept when interrupted or when hosts are left depooled, so abort knows
// where it stopped).
func (r *recorder) finish(res *deploy.Result, d *deployment, id string, by state.Owner, logPath string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.st.Current
	if res.LastGood != "" && r.st.LastGood.Rev == "" {
		r.st.SetLastGood(state.Good{Rev: res.LastGood, At: c.Started}) // adopted from the hosts
	}
	if res.Outcome == deploy.OutcomeDone {
		r.st.SetLastGood(state.Good{Kind: d.kind, Rev: res.Rev, Ref: res.Ref, TemplateRev: d.templateRev, RolloutID: id, At: time.Now(),
			ConfigVersion: d.configVersion, Configs: d.configVersions(), Schema: d.schema})
	}
	for h, rev := range res.Ended {
		r.st.SetHost(h, state.HostRev{Rev: rev, At: time.Now()})
	}
	if !unfinished(res) {
		r.st.Current = nil // else kept: abort finishes what this could not
	}
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	}
	if err := r.save(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", errRecord, err))
	}
	rec := state.Record{
		ID: id, Env: r.env, Kind: c.Kind, Ref: res.Ref, Rev: res.Rev, ConfigVersion: d.configVersion, PreviousRev: res.LastGood,
		User: by.User, Host: by.Host, PID: by.PID, Started: c.Started, Finished: time.Now(), Duration: res.Duration,
		Result: state.Result(res.Outcome), FailedHost: res.FailedHost, Reason: res.Reason,
		HostsChanged: res.Changed, HostsLeftDepooled: res.LeftDepooled, Log: logPath,
	}
	if err := r.store.Append(r.env, rec); err != nil {
		errs = append(errs, fmt.Errorf("%w: history: %w", errRecord, err))
	}
	return errors.Join(errs...)
}

func summaryText(verb string, res *deploy.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s): %s in %s", verb, res.Ref, shortRev(res.Rev), res.Outcome, res.Duration.Round(time.Millisecond))
	if res.FailedHost != "" {
		fmt.Fprintf(&b, "\n  failed: %s at %s: %s", res.FailedHost, res.FailedStep, res.Reason)
	} else if res.Reason != "" {
		fmt.Fprintf(&b, "\n  reason: %s", res.Reason)
	}
	b.WriteString("\n  " + endedText(res))
	return b.String()
}

// endedText says which host ended on which rev, which hosts are out of the
// pool, and why.
func endedText(res *deploy.Result) string {
	var parts []string
	if len(res.Ended) > 0 {
		var hosts []string
		for _, h := range slices.Sorted(maps.Keys(res.Ended)) {
			hosts = append(hosts, h+"="+orNone(shortRev(res.Ended[h])))
		}
		parts = append(parts, "hosts changed, now on: "+strings.Join(hosts, " "))
	} else {
		parts = append(parts, "no host changed")
	}
	if len(res.Tolerated) > 0 {
		parts = append(parts, "failed within failure_limit: "+strings.Join(res.Tolerated, " "))
	}
	if len(res.NotReturned) > 0 {
		parts = append(parts, "NOT back on what they ran before: "+strings.Join(res.NotReturned, " "))
	}
	if len(res.Refused) > 0 {
		parts = append(parts, "kept on the new code by the schema guard: "+strings.Join(res.Refused, " "))
		if res.Settled() {
			parts = append(parts, "the fleet is serving, mixed; go forward: roll out a rev at the storage's schema")
		}
	}
	if len(res.LeftDepooled) > 0 {
		parts = append(parts, "NEEDS A PERSON: left depooled: "+strings.Join(res.LeftDepooled, " "))
	}
	if len(res.LeftAlone) > 0 {
		parts = append(parts, "left out of the pool as someone else depooled them: "+strings.Join(res.LeftAlone, " "))
	}
	if res.Panic != "" {
		first, _, _ := strings.Cut(res.Panic, "\n")
		parts = append(parts, "PANIC (a deployctl bug; the stack is in the log): "+first)
	}
	return strings.Join(parts, "\n  ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// lockWait turns the --lock-wait flag into the store's wait: 0 is one try.
func lockWait(d time.Duration) time.Duration {
	if d <= 0 {
		return state.NoWait
	}
	return d
}
