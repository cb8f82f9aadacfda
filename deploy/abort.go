package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/notify"
	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// AbortResult says what an abort did: asked a running rollout to stop
// (Stopped, the rollout's own history record), or returned the hosts of a
// crashed one itself (Restored).
type AbortResult struct {
	Stopped  *state.Record
	Restored *Result
}

// Abort stops the environment's rollout. A live process holding the lock
// is asked to stop (it rolls back at its next step boundary) and waited
// for, up to wait. With no live holder — the deploy host crashed, or a
// second interrupt stopped the rollback — Abort takes the lock and returns
// every host that is not on its restore point (or last good) itself,
// through the same pipeline, under the schema guard; hosts an operator
// depooled stay out.
func (d *Deployer) Abort(ctx context.Context, message string, wait time.Duration) (*AbortResult, error) {
	env := d.Env.Name
	holder, alive, err := d.Store.Holder(env)
	if err != nil {
		return nil, err
	}
	if alive {
		rec, err := d.abortRunning(ctx, holder, message, wait)
		return &AbortResult{Stopped: rec}, err
	}
	res, err := d.abortCrashed(ctx, message)
	return &AbortResult{Restored: res}, err
}

// abortRunning asks the running rollout to stop and waits for its lock.
func (d *Deployer) abortRunning(ctx context.Context, holder *state.Owner, message string, wait time.Duration) (*state.Record, error) {
	env := d.Env.Name
	if err := d.Store.RequestAbort(env, state.Owner{Command: "abort", Message: message}); err != nil {
		return nil, err
	}
	d.UI.Note(fmt.Sprintf("abort requested; waiting up to %s for %s to roll back", wait, holder))
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(abortPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("%s still holds %s after %s; the abort request stays until it sees it", holder, env, wait)
		case <-tick.C:
		}
		if _, alive, err := d.Store.Holder(env); err != nil || alive {
			continue
		}
		d.Store.ClearAbort(env)
		recs, err := d.Store.History(env, 1)
		if err != nil || len(recs) == 0 {
			return nil, fmt.Errorf("the rollout stopped but left no history record: check 'deployctl status'")
		}
		r := recs[0]
		switch r.Result {
		case state.ResultRollbackFailed:
			return &r, fmt.Errorf("%w: left depooled: %v", ErrRollbackFailed, r.HostsLeftDepooled)
		case state.ResultInterrupted:
			return &r, fmt.Errorf("%w: run 'deployctl abort' again to finish the rollback", ErrInterrupted)
		}
		return &r, nil
	}
}

// abortCrashed returns every host to what it ran before the crashed
// rollout (or to last good) itself. Hosts an operator depooled stay out.
func (d *Deployer) abortCrashed(ctx context.Context, message string) (*Result, error) {
	env := d.Env.Name
	lock, err := d.Store.Lock(ctx, env, state.Owner{Command: "abort", Message: message}, state.NoWait)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	ctx, _, stopLost := whileLocked(ctx, ctx, lock)
	defer stopLost()
	ctx = d.fenced(ctx)
	if err := d.Store.ClearAbort(env); err != nil {
		return nil, fmt.Errorf("clearing the abort request: %w", err)
	}
	st, err := d.Store.Load(env)
	if err != nil {
		return nil, err
	}
	good := st.LastGood
	var points map[string]RestorePoint
	if st.Current != nil {
		points = restoreFromState(st.Current.Restore)
	}
	if good.Rev == "" && len(points) == 0 {
		return nil, fmt.Errorf("%w: no last good rev recorded for %s and no rollout to undo, so there is nothing to return to", ErrNoLastGood, env)
	}
	e, closeParts, err := d.Connect(d.UI.Event)
	if err != nil {
		return nil, err
	}
	defer closeParts()
	// Record what abort holds out of the pool as a rollout does, so a
	// later abort knows it; a failed write does not stop the restore.
	rec := &stateRecord{store: d.Store, env: env, st: st}
	var held map[string]pool.Prior
	var ranNew []string
	if c := st.Current; c != nil {
		held, ranNew = c.Held, c.RanNew
		d.UI.Note(fmt.Sprintf("rollout %s of %s by %s did not finish (phase %s, host %s, step %s); returning every host to what it ran before",
			c.ID, c.Ref, c.By, c.Phase, c.Host, c.Step))
	}
	if len(st.Held) > 0 {
		d.UI.Note("note: depooled by hand and left out of the pool: " + strings.Join(slices.Sorted(maps.Keys(st.Held)), " "))
	}
	var hosts []string
	for _, h := range d.Env.Hosts {
		hosts = append(hosts, h.Name)
	}
	started := time.Now()
	res, rerr := e.restoreRun(ctx, RestoreOptions{
		LastGood: good.Rev, LastGoodConfigs: good.Configs, Points: points, Held: held, RanNew: ranNew, Recorded: st.Current != nil,
		Guard: d.schemaFloor(max(st.Schema, good.Schema)),
	}, hosts, abortRecord{rec})
	saveErr := rec.err
	rec.mu.Lock()
	for h, rev := range res.Ended {
		rec.st.SetHost(h, state.HostRev{Rev: rev, At: time.Now()})
	}
	crashed := rec.st.Current
	countAbort(&rec.st, res)
	if res.Outcome == OutcomeDone || res.Outcome == OutcomeRollbackFailed && res.Settled() {
		rec.st.Current = nil // else kept for the next abort
	}
	if err := rec.save(); err != nil && saveErr == nil {
		saveErr = fmt.Errorf("%w: %w", ErrRecord, err)
	}
	rec.mu.Unlock()
	result := state.ResultAborted
	if rerr != nil {
		result = state.ResultRollbackFailed
	}
	if err := d.Store.Append(env, state.Record{ID: state.NewID(started), Env: env, Kind: state.KindCode, Ref: "abort", Rev: good.Rev, PreviousRev: good.Rev,
		User: lock.Owner.User, Host: lock.Owner.Host, PID: lock.Owner.PID, Started: started, Finished: time.Now(), Duration: res.Duration,
		Result: result, Reason: res.Reason, HostsChanged: res.Changed, HostsLeftDepooled: res.LeftDepooled}); err != nil && saveErr == nil {
		saveErr = fmt.Errorf("%w: history: %w", ErrRecord, err)
	}
	d.writeMetrics(ctx, rec.st.Metrics)
	ev := notify.Event{Kind: notify.KindAbort, Ref: "abort", Rev: good.Rev, PreviousRev: good.Rev, Outcome: string(result), Reason: res.Reason,
		HostsChanged: res.Changed, HostsLeftDepooled: res.LeftDepooled, User: lock.Owner.User, DeployHost: lock.Owner.Host,
		Started: started, Finished: started.Add(res.Duration), Duration: res.Duration}
	if crashed != nil {
		ev.Ref, ev.RolloutID = crashed.Ref, crashed.ID
	}
	d.announce(ctx, ev)
	return res, errors.Join(rerr, saveErr)
}

// countAbort adds an abort after a crash to the counters: the crashed
// rollout ends there, interrupted (or rollback-failed when hosts still
// need a person), and the environment runs last good.
func countAbort(st *state.State, res *Result) {
	outcome := string(OutcomeInterrupted)
	if res.Outcome == OutcomeRollbackFailed && !res.Settled() {
		outcome = string(OutcomeRollbackFailed)
	}
	if st.Current == nil && !st.Metrics.InProgress {
		return // nothing was running: this abort only tidied up
	}
	st.Metrics.Finish(outcome, res.Duration, len(res.Changed), len(res.Changed) > 0, st.LastGood.Rev, st.LastGood.ConfigVersion, time.Now())
}

// abortRecord records only the hosts an abort holds: the crashed run's
// record (phase, host, step) stays as that run left it, for the next
// abort to report.
type abortRecord struct{ *stateRecord }

func (abortRecord) phase(Phase)                           {}
func (abortRecord) at(string, Step)                       {}
func (abortRecord) changing(string)                       {}
func (abortRecord) switched(string, string)               {}
func (abortRecord) startingNew(string)                    {}
func (abortRecord) adopted(string)                        {}
func (abortRecord) restorePoints(map[string]RestorePoint) {}
