package deploy

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deployctl/deployctl/pkg/pool"
	"github.com/deployctl/deployctl/pkg/state"
)

// recorder is told what a run does as it happens, so that a later process
// (abort after a crash) knows where it stopped. The state store's recorder
// is stateRecord; tests and benchmarks record nothing (noRecord).
type recorder interface {
	// phase: the run enters p.
	phase(p Phase)
	// at: host is at step s (recorded with the next write).
	at(host string, s Step)
	// changing: host's service is about to stop (or reload) for the new
	// rev: from here on it is changed.
	changing(host string)
	// switched: host's current now points at rev.
	switched(host, rev string)
	// startingNew: host's service is about to start the new code.
	startingNew(host string)
	// adopted: every host runs rev, taken as last good.
	adopted(rev string)
	// held: the hosts this run holds out of the pool, with what Repool
	// needs to restore them.
	held(map[string]pool.Prior)
	// restorePoints: what each host ran before the run touched it.
	restorePoints(map[string]RestorePoint)
}

// noRecord records nothing.
type noRecord struct{}

func (noRecord) phase(Phase)                           {}
func (noRecord) at(string, Step)                       {}
func (noRecord) changing(string)                       {}
func (noRecord) switched(string, string)               {}
func (noRecord) startingNew(string)                    {}
func (noRecord) adopted(string)                        {}
func (noRecord) held(map[string]pool.Prior)            {}
func (noRecord) restorePoints(map[string]RestorePoint) {}

// stateRecord keeps the environment's state in step with a run: the
// record of the run in progress (State.Current) and what each host runs.
// It writes the store (an fsync) only when what a later abort needs
// changes — the phase, a host about to change, a host's new rev, the
// hosts held, the restore points, the adopted last good — and lets the
// current host and step ride along with those writes. A write that fails
// stops the run (abort after a crash would not know where it was) and is
// an error at the end.
type stateRecord struct {
	mu     sync.Mutex
	store  StateStore
	env    string
	st     state.State
	schema int               // the schema version the new rev applies
	stop   func(cause error) // stops the run's work; nil: nothing to stop
	err    error             // the first failed write
}

func (r *stateRecord) save() error { return r.store.Save(r.env, r.st) }

// saveLocked saves and remembers the first failure; r.mu is held.
func (r *stateRecord) saveLocked() {
	if err := r.save(); err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %w", ErrRecord, err)
		if r.stop != nil {
			r.stop(r.err)
		}
	}
}

// update applies fn to the run's record and saves it; nothing when no run
// is recorded.
func (r *stateRecord) update(fn func(c *state.Rollout)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st.Current == nil {
		return
	}
	fn(r.st.Current)
	r.saveLocked()
}

func (r *stateRecord) phase(p Phase) { r.update(func(c *state.Rollout) { c.Phase = string(p) }) }

func (r *stateRecord) at(host string, s Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.st.Current; c != nil {
		c.Host, c.Step = host, s.String()
	}
}

func (r *stateRecord) changing(host string) {
	r.update(func(c *state.Rollout) {
		c.Host, c.Step = host, StepStop.String()
		c.MarkChanged(host)
		if r.schema > r.st.Schema {
			r.st.Schema = r.schema // the new code may start: the storage gets its schema
		}
	})
}

func (r *stateRecord) switched(host, rev string) {
	r.update(func(c *state.Rollout) {
		c.Host, c.Step = host, StepActivate.String()
		r.st.SetHost(host, state.HostRev{Rev: rev, At: time.Now()})
	})
}

func (r *stateRecord) startingNew(host string) {
	r.update(func(c *state.Rollout) { c.MarkRanNew(host) })
}

func (r *stateRecord) adopted(rev string) {
	r.update(func(*state.Rollout) {
		if r.st.LastGood.Rev == "" {
			r.st.SetLastGood(state.Good{Rev: rev, At: time.Now()})
		}
	})
}

// held records the hosts the run holds out of the pool, for abort. The
// operator's own depools (State.Held) are left as they are.
func (r *stateRecord) held(m map[string]pool.Prior) {
	r.update(func(c *state.Rollout) { c.Held = m })
}

func (r *stateRecord) restorePoints(m map[string]RestorePoint) {
	r.update(func(c *state.Rollout) { c.Restore = restoreToState(m) })
}

func restoreToState(m map[string]RestorePoint) map[string]state.HostRev {
	out := make(map[string]state.HostRev, len(m))
	for h, p := range m {
		out[h] = state.HostRev{Rev: p.Rev, ConfigVersion: p.Config}
	}
	return out
}

func restoreFromState(m map[string]state.HostRev) map[string]RestorePoint {
	out := make(map[string]RestorePoint, len(m))
	for h, p := range m {
		out[h] = RestorePoint{Rev: p.Rev, Config: p.ConfigVersion}
	}
	return out
}

// unfinished reports whether a run's end leaves work for abort:
// interrupted, or hosts out of the pool or off their restore point for
// another reason than the schema guard (see Result.Settled).
func unfinished(res *Result) bool {
	switch res.Outcome {
	case OutcomeInterrupted:
		return true
	case OutcomeRollbackFailed:
		return !res.Settled()
	}
	return false
}

// finish records a rollout's outcome: last good, each host's rev, history,
// and the end of Current (kept when the run left work for abort).
func (r *stateRecord) finish(res *Result, p *prepared, id string, by state.Owner, logPath string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.st.Current
	if res.LastGood != "" && r.st.LastGood.Rev == "" {
		r.st.SetLastGood(state.Good{Rev: res.LastGood, At: c.Started}) // adopted from the hosts
	}
	if res.Outcome == OutcomeDone {
		r.st.SetLastGood(state.Good{Kind: p.kind, Rev: res.Rev, Ref: res.Ref, TemplateRev: p.templateRev, RolloutID: id, At: time.Now(),
			ConfigVersion: p.configVersion, Configs: p.configVersions(), Schema: p.schema})
	}
	for h, rev := range res.Ended {
		r.st.SetHost(h, state.HostRev{Rev: rev, At: time.Now()})
	}
	countFinish(&r.st, res, p)
	if !unfinished(res) {
		r.st.Current = nil // else kept: abort finishes what this could not
	}
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	}
	if err := r.save(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrRecord, err))
	}
	rec := state.Record{
		ID: id, Env: r.env, Kind: c.Kind, Ref: res.Ref, Rev: res.Rev, ConfigVersion: p.configVersion, PreviousRev: res.LastGood,
		User: by.User, Host: by.Host, PID: by.PID, Started: c.Started, Finished: time.Now(), Duration: res.Duration,
		Result: state.Result(res.Outcome), FailedHost: res.FailedHost, Reason: res.Reason,
		HostsChanged: res.Changed, HostsLeftDepooled: res.LeftDepooled, Log: logPath,
	}
	if err := r.store.Append(r.env, rec); err != nil {
		errs = append(errs, fmt.Errorf("%w: history: %w", ErrRecord, err))
	}
	return errors.Join(errs...)
}
