package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/deployctl/deployctl/inventory"
	"github.com/deployctl/deployctl/pkg/deploymetrics"
	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/notify"
	"github.com/deployctl/deployctl/pkg/state"
)

// abortPollInterval is how often a run looks for an abort request.
const abortPollInterval = 200 * time.Millisecond

// Request is what an operator (or CI) asks of an environment: one
// rollout, rollback or promote.
type Request struct {
	Verb string // rollout, rollback, promote: for messages and the lock
	Ref  string // what the user typed; "" means the last good rev with ConfigOnly, the previous good one for a rollback
	Rev  string // a pinned rev (promote); "" resolves Ref
	// TemplateRev pins the config templates' rev (promote of a config-only
	// deploy); "" means Ref's rev.
	TemplateRev       string
	ConfigOnly        bool
	Initial           bool // first rollout: hosts may run nothing yet
	AllowSchemaChange bool
	Message           string        // why: in the lock and history
	LockWait          time.Duration // how long to wait for the lock; 0: one try
	Yes               bool          // do not ask: Confirm is not called
}

// Deployer runs whole runs of one environment, from request to history:
// lock, prepare (pin, render, schema guard), preflight, stage, promote,
// rollback, finalize, history; and abort. Its parts are wired once by the
// caller.
type Deployer struct {
	Env    *inventory.Env
	Store  StateStore
	Source Source
	UI     UI
	// Connect wires the parts that reach the hosts (SSH, pool, checks)
	// once a request is prepared and confirmed; close releases them.
	Connect func(events Sink) (e *Engine, close func() error, err error)
	// Notify, when set, is told when a rollout starts and ends and when an
	// abort ends (best effort).
	Notify Notifier
	// Metrics says where deploy metrics go (none when empty).
	Metrics deploymetrics.Config
}

// Rollout runs req under the environment's lock. work is cancelled by the
// operator's first interrupt (the run stops at the next step boundary and
// rolls back); rb by the second (the rollback stops too, and the record is
// kept for abort). An abort request from another process cancels work as
// the first interrupt does. The Result is nil when the run stopped before
// preflight (lock, prepare, confirmation).
func (d *Deployer) Rollout(work, rb context.Context, req Request) (*Result, error) {
	env := d.Env.Name
	lock, err := d.Store.Lock(work, env, state.Owner{Command: strings.TrimSpace(req.Verb + " " + req.Ref), Message: req.Message}, lockWait(req.LockWait))
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if lock.Stale != nil {
		d.UI.Note(fmt.Sprintf("note: the previous holder of the lock died without releasing it: %s", lock.Stale))
	}
	// An abort request from before this run held the lock was meant for
	// another one: it must not stop this one.
	if ab, ok := d.Store.AbortRequested(env); ok {
		if err := d.Store.ClearAbort(env); err != nil {
			return nil, fmt.Errorf("clearing a stale abort request: %w", err)
		}
		d.UI.Note(fmt.Sprintf("note: cleared a stale abort request by %s (no rollout was running to see it)", ab))
	}
	st, err := d.Store.Load(env)
	if err != nil {
		return nil, err
	}
	if req.Verb == "rollback" && req.Ref == "" {
		if st.Previous.Rev == "" {
			return nil, usageErrorf("no previous good rev is recorded for %s: name one with --to <ref>", env)
		}
		req.Ref = st.Previous.Rev
		d.UI.Note("rolling back to " + req.Ref)
	}
	if st.Current != nil {
		c := st.Current
		return nil, fmt.Errorf("%w: rollout %s (%s %s, by %s) did not finish (phase %s, host %s, step %s, changed %v, started %s ago): its hosts may be depooled or mixed; run 'deployctl abort --env %s' to return every host to last good first",
			ErrUnfinished, c.ID, c.Kind, c.Ref, c.By, c.Phase, c.Host, c.Step, c.ChangedHosts, time.Since(c.Started).Round(time.Second), env)
	}
	p, err := d.prepare(work, st, req)
	if err != nil {
		return nil, err
	}
	if !req.Yes {
		question := fmt.Sprintf("%s %s (%s, %s) to %d hosts of %s, last good %s?", req.Verb, p.ref, gitsrc.Short(p.rev), p.kind, len(d.Env.Hosts), env, orNone(gitsrc.Short(st.LastGood.Rev)))
		if err := d.UI.Confirm(question); err != nil {
			return nil, err
		}
	}

	id := state.NewID(time.Now())
	logf, err := d.Store.LogFile(env, id)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	sink := func(ev Event) {
		b, _ := json.Marshal(ev)
		logf.Write(append(b, '\n'))
		d.UI.Event(ev)
	}
	e, closeParts, err := d.Connect(sink)
	if err != nil {
		return nil, err
	}
	defer closeParts()

	work, rb, stopLost := whileLocked(work, rb, lock)
	defer stopLost()
	work, rb = d.fenced(work), d.fenced(rb)
	work, stopWatch := d.watchAbort(work)
	defer stopWatch(nil)
	rec := &stateRecord{store: d.Store, env: env, st: st, schema: p.schema, stop: stopWatch}
	rec.st.Current = &state.Rollout{ID: id, Kind: p.kind, Ref: p.ref, Rev: p.rev, ConfigVersion: p.configVersion, Started: time.Now(), By: lock.Owner, Phase: string(PhasePreflight)}
	rec.st.Metrics.Start()
	if err := rec.save(); err != nil {
		return nil, err
	}
	current := *rec.st.Current
	d.writeMetrics(work, rec.st.Metrics)
	d.announce(work, runEvent(notify.KindStart, &current, nil))
	lastGood := st.LastGood.Rev
	d.UI.Note(fmt.Sprintf("%s %s (%s, %s) to %s: %d hosts; last good %s; log %s", req.Verb, p.ref, gitsrc.Short(p.rev), p.kind, env, len(d.Env.Hosts), orNone(gitsrc.Short(lastGood)), d.Store.LogPath(env, id)))
	if len(st.Held) > 0 {
		d.UI.Note("note: depooled by hand and left out of the pool: " + strings.Join(slices.Sorted(maps.Keys(st.Held)), " "))
	}

	res, rerr := e.newRun(Options{
		Ref: p.ref, Rev: p.rev, LastGood: lastGood, Initial: req.Initial,
		Configs: p.configs, LastGoodConfigs: st.LastGood.Configs, ConfigOnly: req.ConfigOnly,
		Reload: req.ConfigOnly && d.Env.Files.Reload && len(d.Env.Service.Reload) > 0, ConfigVersion: p.configVersion,
		Guard: p.guard,
	}, rec).rollout(work, rb)
	if ab, ok := d.Store.AbortRequested(env); ok {
		res.Reason = strings.TrimSpace(res.Reason + " (abort requested by " + ab.String() + ")")
		if err := d.Store.ClearAbort(env); err != nil {
			rerr = errors.Join(rerr, fmt.Errorf("%w: clearing the abort request: %w", ErrRecord, err))
		}
	}
	if lostLock(rb) {
		// Nothing more may change: not the record, not the pool. Say
		// what each host was doing; abort, from any deploy host, ends it.
		rerr = fmt.Errorf("%w: %w: stopped at once; %s; left depooled: %v; run 'deployctl abort --env %s' from any deploy host",
			ErrRollbackFailed, ErrLockLost, res.nowOn(), res.LeftDepooled, env)
		return res, rerr
	}
	if err := rec.finish(res, p, id, lock.Owner, d.Store.LogPath(env, id)); err != nil {
		rerr = errors.Join(rerr, err)
	}
	d.writeMetrics(rb, rec.st.Metrics)
	d.announce(rb, runEvent(finishKind(res.Outcome), &current, res))
	return res, rerr
}

// watchAbort returns work cancelled also by an abort request from another
// process, and a stop that cancels it with a cause of its own (a failed
// state write) or, with nil, ends the watch.
func (d *Deployer) watchAbort(work context.Context) (context.Context, func(cause error)) {
	ctx, cancel := context.WithCancelCause(work)
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(work))
	aborts := d.Store.WatchAbort(watchCtx, d.Env.Name, abortPollInterval)
	go func() {
		select {
		case <-watchCtx.Done():
		case o, ok := <-aborts:
			if ok {
				d.UI.Note(fmt.Sprintf("\nabort requested by %s: stopping at the next step and rolling back", o))
				cancel(fmt.Errorf("aborted by %s", o))
			}
		}
	}()
	return ctx, func(cause error) {
		if cause != nil {
			cancel(cause)
			return
		}
		stopWatch()
		cancel(nil)
	}
}

// lockWait is the store's wait for a request's: 0 or less is one try.
func lockWait(d time.Duration) time.Duration {
	if d <= 0 {
		return state.NoWait
	}
	return d
}

// Stage puts ref's rev in place on every host under the environment's
// lock (waiting up to wait for it; 0: one try), activating nothing
// (`deployctl stage`), and returns the rev.
func (d *Deployer) Stage(ctx context.Context, ref, message string, wait time.Duration) (string, error) {
	lock, err := d.Store.Lock(ctx, d.Env.Name, state.Owner{Command: "stage " + ref, Message: message}, lockWait(wait))
	if err != nil {
		return "", err
	}
	defer lock.Release()
	rev, err := d.Source.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	e, closeParts, err := d.Connect(d.UI.Event)
	if err != nil {
		return rev, err
	}
	defer closeParts()
	return rev, e.Stage(ctx, rev)
}

// Promotion is the request that replays from's last good deploy (code,
// config or both, the same pinned revs) on another environment, and that
// deploy.
func Promotion(store StateStore, from string) (Request, state.Good, error) {
	st, err := store.Load(from)
	if err != nil {
		return Request{}, state.Good{}, err
	}
	good, err := st.Good()
	if err != nil {
		return Request{}, state.Good{}, fmt.Errorf("%s has no last good deploy to promote", from)
	}
	return Request{Verb: "promote", Ref: good.Ref, Rev: good.Rev, TemplateRev: good.TemplateRev, ConfigOnly: good.Kind == state.KindConfig}, good, nil
}

// whileLocked returns work and rb cancelled, both, as soon as lock is lost
// (a shared store's lease ran out or was revoked): past that point the run
// must change nothing. The local files' lock is never lost.
func whileLocked(work, rb context.Context, lock *state.Lock) (context.Context, context.Context, func()) {
	w, cancelW := context.WithCancelCause(work)
	r, cancelR := context.WithCancelCause(rb)
	done := make(chan struct{})
	go func() {
		select {
		case <-lock.Lost:
			cancelW(ErrLockLost)
			cancelR(ErrLockLost)
		case <-done:
		}
	}()
	return w, r, func() {
		close(done)
		cancelW(nil)
		cancelR(nil)
	}
}

// lostLock reports whether ctx ended because the lock was lost.
func lostLock(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrLockLost)
}
